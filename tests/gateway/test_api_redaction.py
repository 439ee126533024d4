"""The admin API sets a tenant's redaction rules (validated, audited, admin only, per tenant),
and the receptionist's profile reads them back for the hot path."""

from __future__ import annotations

from sqlalchemy import select

from agent.redaction.rules import compile_rules
from agent.tenant import TenantProfile
from store.models import AuditEntry, Tenant
from tests.gateway.conftest import Gateway

RULES = {
    "patterns": [{"name": "socio", "regex": r"SOC-\d{4}", "entity": "MEMBER_ID", "score": 0.9}],
    "deny": ["Quetzalli"],
    "allow": ["Rosa Mosqueta"],
    "enabled": ["UrlRecognizer"],
}


def test_admin_sets_rules_and_the_profile_compiles_them(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    assert sgw.client.get("/api/settings/redaction", headers=admin).json()["patterns"] == []
    response = sgw.client.put("/api/settings/redaction", json=RULES, headers=admin)
    assert response.status_code == 200, response.text
    assert sgw.client.get("/api/settings/redaction", headers=admin).json() == RULES
    assert sgw.client.get("/api/settings/redaction", headers=sgw.b.auth("admin")).json()["deny"] == []
    assert "UsSsnRecognizer" in sgw.client.get("/api/settings/redaction/recognizers", headers=admin).json()
    with sgw.db.admin_session() as session:
        tenant = session.get(Tenant, sgw.a.id)
        profile = TenantProfile.from_settings(tenant.name, tenant.settings)
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.tenant_id == sgw.a.id)).all()
    compiled = compile_rules(profile.redaction)
    assert compiled.recognizers[0].supported_entities == ["MEMBER_ID"]
    assert compiled.deny == ("Quetzalli",)
    assert "config.redaction" in actions


def test_bad_rules_are_422_and_other_roles_are_refused(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    for bad in (
        {"patterns": [{"name": "x", "regex": "(a+)+", "entity": "X_ID"}]},
        {"patterns": [{"name": "x", "regex": "a*", "entity": "X_ID"}]},
        {"enabled": ["NoSuchRecognizer"]},
        {"unknown": 1},
    ):
        response = sgw.client.put("/api/settings/redaction", json=bad, headers=admin)
        assert response.status_code == 422, bad
    assert sgw.client.get("/api/settings/redaction", headers=admin).json()["patterns"] == []
    for role in ("agent", "analyst", "supervisor"):
        assert (
            sgw.client.put("/api/settings/redaction", json=RULES, headers=sgw.a.auth(role)).status_code == 403
        )
