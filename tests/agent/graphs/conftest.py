"""A tenant with a small knowledge base, a receptionist, and the wire simulator."""

from __future__ import annotations

import pytest

import knowledge
from agent.checkpoints import CheckpointStore
from agent.llm.factory import build_provider
from agent.llm.testing import fast_retry, running_simulator
from agent.receptionist import Receptionist, TurnRequest
from agent.redaction.redactor import Redactor, load_ner_pipeline
from agent.redaction.sql_vault import SqlVault
from store.repo import providers, tenants

CLINIC_KB = """# Clínica Sonrisa

## Tarifas

- Limpieza dental: 45 €
- Empaste: 60 €
- Blanqueamiento: 250 €

## Pagos

Aceptamos tarjeta y Bizum. Trabajamos con Sanitas y Adeslas.

## Horario

Abrimos de lunes a viernes de 9:00 a 19:00 y los sábados de 10:00 a 14:00.
"""

SETTINGS = {
    "timezone": "Europe/Madrid",
    "default_language": "es",
    "opening_hours": {d: [["09:00", "19:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [["10:00", "14:00"]]},
    "holidays": ["2026-12-25"],
}


@pytest.fixture(scope="session")
def nlp():
    return load_ner_pipeline()


@pytest.fixture(scope="session")
def simulator_server():
    with running_simulator() as sim:
        yield sim


@pytest.fixture
def sim(simulator_server):
    simulator_server.reset()
    yield simulator_server
    simulator_server.reset()


@pytest.fixture
def clinic(sqlite_db):
    with sqlite_db.admin_session() as s:
        tenant = tenants.create(s, "clinic", "Clínica Sonrisa", settings=SETTINGS)
    knowledge.ingest(sqlite_db, tenant.id, "clinica.md", CLINIC_KB.encode())
    return tenant.id


def use_provider(db, tenant_id, sim, provider="openai", model=None):
    base = f"{sim.url}/v1" if provider == "openai" else sim.url + ("/" if provider == "gemini" else "")
    models = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
    with db.admin_session() as s:
        providers.set_provider(
            s,
            db.keyring,
            tenant_id,
            provider,
            model=model or models[provider],
            base_url=base,
            api_key=f"key-{tenant_id}",
            trusted=True,
        )


@pytest.fixture
def alerts():
    return []


@pytest.fixture
def receptionist(sqlite_db, nlp, tmp_path, alerts):
    def factory(settings, key, fallback_key):
        return build_provider(settings, key, fallback_api_key=fallback_key, retry=fast_retry(3))

    return Receptionist(
        sqlite_db,
        redactor=Redactor(SqlVault(sqlite_db), nlp=nlp),
        checkpoints=CheckpointStore(f"sqlite:///{tmp_path}/checkpoints.db"),
        provider_factory=factory,
        alert=lambda kind, detail: alerts.append(kind),
    )


@pytest.fixture
def turn():
    counter = {"n": 0}

    def make(tenant_id, *texts, conversation_id=1, name="María García", wa_id="34612345678", human=()):
        counter["n"] += 1
        return TurnRequest(
            tenant_id,
            conversation_id,
            f"turn-{counter['n']}",
            list(texts),
            customer_id=wa_id,
            profile_name=name,
            human_messages=tuple(human),
        )

    return make
