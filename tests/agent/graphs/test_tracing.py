"""The turn's trace as Langfuse receives it: one per turn, tenant-routed, free of personal data."""

import json
import uuid

from agent.tracing import LangfuseProject, LangfuseTracer
from agent.tracing.capture import running_capture
from store.repo import tenants
from tests.agent.graphs.conftest import CLINIC_KB, use_provider


def test_turn_traces_route_per_tenant_and_carry_no_personal_data(sim, clinic, receptionist, turn, sqlite_db):
    import knowledge

    with sqlite_db.admin_session() as s:
        garage = tenants.create(s, "garage", "Taller Pepe").id
    knowledge.ingest(
        sqlite_db, garage, "taller.md", CLINIC_KB.replace("Clínica Sonrisa", "Taller Pepe").encode()
    )
    use_provider(sqlite_db, clinic, sim)
    use_provider(sqlite_db, garage, sim)
    sim.add_rule(
        "limpieza",
        tool="search_knowledge",
        arguments={"query": "limpieza"},
        after_tool="Cuesta 45 €, <PERSON_1>.",
    )
    with running_capture() as capture:
        global_project = LangfuseProject(f"pk-global-{uuid.uuid4().hex[:6]}", "sk", capture.base_url)
        garage_project = LangfuseProject(f"pk-garage-{uuid.uuid4().hex[:6]}", "sk", capture.base_url)
        receptionist.tracer = LangfuseTracer(
            global_project=global_project,
            tenant_project=lambda tid: garage_project if tid == garage else None,
        )
        text = "Soy María García (maria.garcia@example.com, 612 345 678). ¿Cuánto cuesta una limpieza?"
        receptionist.run(turn(clinic, text))
        receptionist.run(turn(clinic, "¿Y un empaste?"))
        receptionist.run(turn(garage, text, conversation_id=2))
        receptionist.tracer.shutdown()
        spans = capture.spans
        everything = capture.all_text()

    roots = [s for s in spans if s.name == "receptionist-turn"]
    assert len(roots) == 3 and len({s.trace_id for s in spans}) == 3  # one trace per turn
    for s in spans:
        tenant = json.loads(s.attributes["langfuse.trace.metadata.tenant_id"])
        assert s.public_key == (
            garage_project.public_key if tenant == str(garage) else global_project.public_key
        )
        assert s.attributes["session.id"] in ("clinic:1", "garage:2")
        assert "34612345678" not in s.attributes["user.id"]
    names = {s.name for s in spans}
    assert {"redact", "triage", "retrieve", "respond", "tool:search_knowledge", "guard"} <= names
    generation = next(s for s in spans if s.name == "respond")
    assert generation.attributes["langfuse.observation.model.name"] == "gpt-4o-mini"
    for value in ("María", "García", "maria.garcia", "612 345 678", "612345678", "34612345678"):
        assert value not in everything
