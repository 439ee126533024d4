"""A passport number, a date of birth, a US SSN and an id with a wrong check digit never reach
the model provider, the checkpoint store, the trace or the logs (the security review's case)."""

import json
import logging
import uuid

from agent.tracing import LangfuseProject, LangfuseTracer
from agent.tracing.capture import running_capture
from tests.agent.graphs.conftest import use_provider

VALUES = {
    "passport": "XDA482913",
    "dob": "14/03/1987",
    "ssn": "078-05-1120",
    "dni_wrong_check": "12345678A",  # the right letter is Z
}
TEXT = (
    f"Hola, mi pasaporte es {VALUES['passport']}, fecha de nacimiento {VALUES['dob']}, "
    f"SSN {VALUES['ssn']} y DNI {VALUES['dni_wrong_check']}. ¿Tenéis cita el jueves a las 10:00?"
)
FRAGMENTS = ("XDA482913", "482913", "14/03/1987", "1987", "078-05-1120", "05-1120", "12345678A", "12345678")


def test_identifiers_reach_no_provider_checkpoint_trace_or_log(
    sim, clinic, receptionist, turn, sqlite_db, tmp_path, caplog
):
    use_provider(sqlite_db, clinic, sim)
    sim.add_rule(".*", reply="Perfecto, lo anoto.")
    with running_capture() as capture, caplog.at_level(logging.DEBUG):
        project = LangfuseProject(f"pk-{uuid.uuid4().hex[:6]}", "sk", capture.base_url)
        receptionist.tracer = LangfuseTracer(global_project=project, tenant_project=lambda tid: None)
        receptionist.run(turn(clinic, TEXT))
        receptionist.tracer.shutdown()
        traced = capture.all_text()
    sent = "\n".join(json.dumps(r.body, ensure_ascii=False) for r in sim.requests)
    assert sim.requests and "jueves" in sent and "10:00" in sent  # the booking details got through
    checkpoints = (tmp_path / "checkpoints.db").read_bytes()
    assert traced
    for fragment in FRAGMENTS:
        assert fragment not in sent, fragment
        assert fragment not in traced, fragment
        assert fragment.encode() not in checkpoints, fragment
        assert fragment not in caplog.text, fragment
