"""The 24-hour window, template choice and the outbound plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from channels.events import TemplateUpdate
from channels.window import (
    Template,
    choose_template,
    parse_registry,
    plan_outbound,
    update_registry,
    window_closes_at,
    within_window,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def tpl(name: str, language: str, *purposes: str, **kwargs: object) -> Template:
    return Template(name=name, language=language, purposes=frozenset(purposes), **kwargs)  # type: ignore[arg-type]


REGISTRY = [
    tpl("seguimiento_mx", "es_MX", "follow_up", body_params=1),
    tpl("seguimiento", "es", "follow_up", body_params=1),
    tpl("follow_up_en", "en_US", "follow_up", body_params=2),
    tpl("aviso_humano", "es", "handoff_notice"),
    tpl("promo", "es", "follow_up", category="MARKETING"),
    tpl("pending_pt", "pt_BR", "follow_up", status="PENDING"),
]


@pytest.mark.parametrize(
    ("ago", "inside"),
    [
        (timedelta(0), True),
        (timedelta(hours=23, minutes=59, seconds=59), True),
        (timedelta(hours=24), False),
        (timedelta(days=3), False),
        (timedelta(minutes=-5), True),  # clock skew: a message "from the future" keeps it open
    ],
)
def test_within_window(ago: timedelta, inside: bool) -> None:
    assert within_window(NOW - ago, NOW) is inside


def test_window_never_opened() -> None:
    assert not within_window(None, NOW)
    assert window_closes_at(None) is None
    assert window_closes_at(NOW) == NOW + timedelta(hours=24)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        within_window(datetime(2025, 6, 1), NOW)


@pytest.mark.parametrize(
    ("language", "default", "expected"),
    [
        ("es_MX", "en", "seguimiento_mx"),
        ("es-mx", "en", "seguimiento_mx"),
        ("es", "en", "seguimiento"),
        ("es_AR", "en", "seguimiento"),
        ("en", "es", "follow_up_en"),
        ("de", "es", "seguimiento"),  # tenant default
        ("de", "fr", None),
        (None, "en_GB", "follow_up_en"),
    ],
)
def test_language_fallback(language: str | None, default: str, expected: str | None) -> None:
    chosen = choose_template(REGISTRY, purpose="follow_up", language=language, default_language=default)
    assert (chosen.name if chosen else None) == expected


def test_only_approved_non_marketing_templates_for_the_purpose() -> None:
    assert choose_template(REGISTRY, purpose="follow_up", language="pt_BR", default_language=None) is None
    assert choose_template(REGISTRY, purpose="unknown", language="es", default_language="es") is None
    chosen = choose_template(REGISTRY, purpose="handoff_notice", language="es", default_language="en")
    assert chosen is not None and chosen.name == "aviso_humano"
    only_promo = [REGISTRY[4]]
    assert choose_template(only_promo, purpose="follow_up", language="es", default_language=None) is None
    assert choose_template(
        only_promo, purpose="follow_up", language="es", default_language=None, allow_marketing=True
    )


def test_parameter_budget() -> None:
    chosen = choose_template(
        REGISTRY, purpose="follow_up", language="en", default_language="es", max_params=1
    )
    assert chosen is not None and chosen.name == "seguimiento"
    assert (
        choose_template(REGISTRY, purpose="follow_up", language="es", default_language=None, max_params=0)
        is None
    )


def test_plan_outbound() -> None:
    common = {"registry": REGISTRY, "purpose": "follow_up", "default_language": "es", "now": NOW}
    recent, old = NOW - timedelta(hours=1), NOW - timedelta(days=2)
    assert (
        plan_outbound(last_customer_message_at=recent, opted_out=False, language="es", **common).action
        == "send_text"
    )
    plan = plan_outbound(last_customer_message_at=old, opted_out=False, language="es", **common)  # type: ignore[arg-type]
    assert (
        plan.action == "send_template" and plan.template is not None and plan.template.name == "seguimiento"
    )
    assert (
        plan_outbound(last_customer_message_at=recent, opted_out=True, language="es", **common).action
        == "suppress"
    )
    handoff = plan_outbound(  # type: ignore[misc]
        last_customer_message_at=old, opted_out=False, language="fr", **{**common, "default_language": "fr"}
    )
    assert handoff.action == "handoff" and handoff.template is None


def test_parse_registry_is_tolerant() -> None:
    raw = [
        {"name": "a", "language": "es", "purposes": ["follow_up"], "body_params": 2, "category": "utility"},
        {"name": "b"},
        "nonsense",
        {"name": "c", "language": "en", "purposes": "follow_up", "body_params": -1, "status": "paused"},
    ]
    a, c = parse_registry(raw)
    assert a == Template("a", "es", "UTILITY", "APPROVED", 2, frozenset({"follow_up"}))
    assert c.purposes == frozenset() and c.body_params == 0 and not c.approved
    assert parse_registry(None) == []


def test_template_webhooks_update_the_registry() -> None:
    def update(kind: str, **values: str) -> TemplateUpdate:
        return TemplateUpdate(field="x", update=kind, name="seguimiento", language="es", **values)  # type: ignore[arg-type]

    paused = update_registry(REGISTRY, update("status", status="PAUSED"))
    assert [t.name for t in paused if not t.approved] == ["seguimiento", "pending_pt"]
    assert choose_template(paused, purpose="follow_up", language="es_AR", default_language=None) is not None
    chosen = choose_template(paused, purpose="follow_up", language="es_AR", default_language=None)
    assert chosen is not None and chosen.name == "seguimiento_mx"
    marketing = update_registry(REGISTRY, update("category", category="marketing"))
    assert marketing[1].category == "MARKETING"
    assert update_registry(REGISTRY, update("quality")) == REGISTRY
