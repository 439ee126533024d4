"""Adapter to the WhatsApp 24-hour window rules for the ``window`` scenario family.

The outbox sender applies the same policy before each send (``workers.window_gate``); this
family asks the pure policy (``channels.window.plan_outbound``) what must happen to the turn's message when it goes out
``hours_after`` hours after the customer's last message: a free-form text only inside the
window; outside it an approved template in the customer's language, or a human.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channels.window import OutboundPlan, parse_registry, plan_outbound
from evals.scenarios import Window
from evals.scorers import Check


def plan_for_late_reply(window: Window, language: str, default_language: str, now: datetime) -> OutboundPlan:
    """What the channel rules do with a bot message sent ``window.hours_after`` hours late."""
    return plan_outbound(
        last_customer_message_at=now - timedelta(hours=window.hours_after),
        now=now,
        opted_out=window.opted_out,
        registry=parse_registry(window.templates),
        purpose=window.purpose,
        language=language,
        default_language=default_language,
    )


def check_window(
    window: Window, language: str, default_language: str, now: datetime | None = None
) -> list[Check]:
    """The planned action (and template) match the scenario's expectation."""
    plan = plan_for_late_reply(window, language, default_language, now or datetime.now(UTC))
    name = plan.template.name if plan.template else None
    detail = f"{plan.action}: {plan.reason}" + (
        f" ({name}, {plan.template.language})" if plan.template else ""
    )
    checks = [
        Check(
            f"window: {window.expect_action} after {window.hours_after:g} h",
            plan.action == window.expect_action,
            detail,
        )
    ]
    if window.hours_after >= 24:
        checks.append(
            Check("window: no free-form text outside the window", plan.action != "send_text", detail)
        )
    if window.expect_template is not None:
        checks.append(
            Check(f"window: template {window.expect_template}", name == window.expect_template, detail)
        )
    return checks
