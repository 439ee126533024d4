"""Admin endpoints for a tenant's own redaction rules (``agent.redaction.rules``).

    GET  /api/settings/redaction              the rules
    PUT  /api/settings/redaction              replace them (validated as a whole)
    GET  /api/settings/redaction/recognizers  Presidio recognizers that ``enabled`` accepts

A rule that does not validate is a 422 with one line saying why; writes are audited (the keys
changed, never the patterns or names themselves).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from agent.redaction.rules import SETTING, RedactionRules, RuleError, predefined_names, rules_of
from gateway import tenant_settings as ts
from gateway.deps import Admin, Services
from store.repo import tenants

router = APIRouter(prefix="/api/settings/redaction", tags=["admin"])


@router.get("", response_model=RedactionRules)
def get_rules(who: Admin, services: Services) -> RedactionRules:
    with services.db.tenant_session(who.tenant_id) as session:
        try:
            return rules_of(tenants.get(session, who.tenant_id).settings)
        except RuleError:
            return RedactionRules()  # stored rules that no longer validate are not applied either


@router.put("", response_model=RedactionRules)
def set_rules(body: dict[str, object], who: Admin, services: Services) -> RedactionRules:
    try:
        rules = RedactionRules.checked(body)
    except RuleError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    with services.db.tenant_session(who.tenant_id) as session:
        ts.save(
            session,
            tenants.get(session, who.tenant_id),
            {SETTING: rules.model_dump(mode="json")},
            actor=who.actor,
            action="config.redaction",
            details={"patterns": len(rules.patterns), "deny": len(rules.deny), "allow": len(rules.allow)},
        )
    return rules


@router.get("/recognizers", response_model=list[str])
def list_recognizers(who: Admin) -> list[str]:
    return list(predefined_names())
