"""What the Langfuse SDK really exports, captured by a local OTLP receiver."""

import json
import uuid

import pytest

from agent.tracing import LangfuseProject, LangfuseTracer, TurnInfo
from agent.tracing.capture import running_capture


@pytest.fixture
def capture():
    with running_capture() as c:
        yield c


def project(capture, name):
    # a unique public key per test: the SDK keeps one client per key for the whole process
    return LangfuseProject(
        public_key=f"pk-{name}-{uuid.uuid4().hex[:8]}", secret_key="sk-x", base_url=capture.base_url
    )


def info(tenant_id, slug, **kw):
    return TurnInfo(
        tenant_id=tenant_id,
        tenant_slug=slug,
        conversation_id=77,
        turn_id=f"t-{tenant_id}",
        user_hash="u" * 16,
        **kw,
    )


def run_turn(tracer, turn_info, text="hola <PERSON_1>"):
    with tracer.turn(turn_info) as trace:
        with trace.span("retrieve", as_type="retriever", input={"query": text}) as span:
            span.update(output={"hits": 1})
        trace.generation(
            "respond",
            model="gpt-4o-mini",
            input=[{"role": "user", "content": text}],
            output="ok",
            usage={"input": 12, "output": 3},
            cost_usd=0.0001,
        )
        trace.finish(output="ok")


def test_one_trace_per_turn_with_session_tenant_and_hashed_user(capture):
    global_project = project(capture, "global")
    tracer = LangfuseTracer(global_project=global_project)
    run_turn(tracer, info(1, "clinic"))
    run_turn(tracer, info(1, "clinic"))
    tracer.flush()
    spans = capture.spans
    assert {s.name for s in spans} == {"receptionist-turn", "retrieve", "respond"}
    roots = [s for s in spans if s.name == "receptionist-turn"]
    assert len(roots) == 2 and len({s.trace_id for s in spans}) == 2
    for s in spans:
        assert s.attributes["session.id"] == "clinic:77"
        assert s.attributes["user.id"] == "u" * 16
        assert json.loads(s.attributes["langfuse.trace.metadata.tenant_id"]) == "1"
        assert "tenant:clinic" in s.attributes["langfuse.trace.tags"]
        assert s.public_key == global_project.public_key
    generation = next(s for s in spans if s.name == "respond")
    assert generation.attributes["langfuse.observation.model.name"] == "gpt-4o-mini"
    assert "12" in generation.attributes["langfuse.observation.usage_details"]
    tracer.shutdown()


def test_tenant_projects_never_receive_each_others_spans(capture):
    global_project, project_b = project(capture, "global"), project(capture, "tenant-b")
    tracer = LangfuseTracer(
        global_project=global_project, tenant_project=lambda tid: project_b if tid == 2 else None
    )
    for _ in range(3):
        run_turn(tracer, info(1, "tenant-a"))
        run_turn(tracer, info(2, "tenant-b"))
    tracer.flush()
    by_key = {}
    for s in capture.spans:
        by_key.setdefault(s.public_key, set()).add(
            json.loads(s.attributes["langfuse.trace.metadata.tenant_id"])
        )
    assert by_key == {global_project.public_key: {"1"}, project_b.public_key: {"2"}}
    tracer.shutdown()


def test_the_mask_is_a_second_net_for_personal_values(capture):
    tracer = LangfuseTracer(global_project=project(capture, "mask"))
    run_turn(tracer, info(1, "clinic"), text="call me at +34 612 345 678 or ana.garcia@example.com")
    tracer.flush()
    text = capture.all_text()
    assert "612 345 678" not in text and "ana.garcia@example.com" not in text
    assert "<MASKED>" in text
    tracer.shutdown()


def test_no_project_means_no_export(capture):
    tracer = LangfuseTracer(global_project=None)
    run_turn(tracer, info(1, "clinic"))
    tracer.flush()
    assert capture.spans == []
