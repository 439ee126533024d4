"""The settings API: profile and wording, hours (set, clear), handoff keywords (add or replace);
checked like the CLI, audited, and read by the receptionist's next turn."""

from __future__ import annotations

from sqlalchemy import select

from agent.tenant import DEFAULT_HANDOFF_KEYWORDS, TenantProfile
from store.models import AuditEntry, Tenant
from tests.gateway.conftest import Gateway


def _profile(gw: Gateway) -> TenantProfile:
    with gw.db.admin_session() as session:
        tenant = session.get(Tenant, gw.a.id)
        assert tenant is not None
        return TenantProfile.from_settings(tenant.name, tenant.settings)


def test_profile_fields_and_wording_per_language(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    body = {
        "persona": "una recepcionista paciente",
        "tone": "formal",
        "rules": ["Nunca des precios de cirugía"],
        "default_language": "de",
        "messages": {
            "disclosure": {"es": "Hola, soy la IA de {business}."},
            "handoff": {"en": "One moment."},
        },
    }
    response = sgw.client.put("/api/settings/profile", json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["messages"] == {
        "disclosure": {"es": "Hola, soy la IA de {business}."},
        "handoff": {"en": "One moment."},
    }
    profile = _profile(sgw)
    assert profile.persona == "una recepcionista paciente" and profile.default_language == "de"
    assert profile.wording("disclosure", "es").startswith("Hola, soy la IA de ")
    assert profile.wording("handoff", "en") == "One moment."
    # omitted fields are kept; null resets a field or one language's wording
    patch = {"tone": None, "messages": {"handoff": {"en": None}}}
    shown = sgw.client.put("/api/settings/profile", json=patch, headers=admin).json()
    assert shown["persona"] == "una recepcionista paciente" and shown["tone"] == TenantProfile().tone
    assert shown["messages"] == {"disclosure": {"es": "Hola, soy la IA de {business}."}}
    assert sgw.client.get("/api/settings/profile", headers=sgw.b.auth("admin")).json()["messages"] == {}
    with sgw.db.admin_session() as session:
        assert "config.profile" in set(session.scalars(select(AuditEntry.action)))


def test_bad_profile_is_a_field_error(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    for bad in (
        {"default_language": "fr"},
        {"messages": {"handoff_closed": {"es": "Volvemos pronto"}}},
        {"messages": {"greeting": {"es": "hola"}}},
        {"rules": [""]},
        {"persona": ""},
    ):
        response = sgw.client.put("/api/settings/profile", json=bad, headers=admin)
        assert response.status_code == 422, bad
        assert "standard input" not in response.text and "--" not in response.text
    assert (
        sgw.client.put("/api/settings/profile", json={"tone": "x"}, headers=sgw.a.auth("agent")).status_code
        == 403
    )


def test_handoff_keywords_add_to_the_defaults_unless_replace(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    added = sgw.client.put(
        "/api/settings/handoff", json={"handoff_keywords": ["tarta de boda"]}, headers=admin
    )
    assert added.status_code == 200
    assert added.json()["handoff_keywords"] == [*DEFAULT_HANDOFF_KEYWORDS, "tarta de boda"]
    replaced = sgw.client.put(
        "/api/settings/handoff?replace=true", json={"handoff_keywords": ["encargo"]}, headers=admin
    )
    assert replaced.json()["handoff_keywords"] == ["encargo"]
    assert _profile(sgw).handoff_keywords == ["encargo"]


def test_hours_set_and_clear(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    hours = {"timezone": "Europe/Madrid", "opening_hours": {"mon": [["09:00", "14:00"]]}, "holidays": []}
    assert sgw.client.put("/api/settings/hours", json=hours, headers=admin).status_code == 200
    assert _profile(sgw).hours_configured
    assert sgw.client.delete("/api/settings/hours", headers=admin).status_code == 204
    profile = _profile(sgw)
    assert not profile.hours_configured and profile.timezone == "Europe/Madrid"
    assert sgw.client.get("/api/settings/hours", headers=admin).json()["opening_hours"] == {}
