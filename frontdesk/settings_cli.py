"""``frontdesk tenants configure``, ``frontdesk hours`` and ``frontdesk handoff``: a tenant's
receptionist settings from the command line, checked and written as the API does
(:mod:`gateway.tenant_settings`). Bad input: one line on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Generator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.orm import Session

from agent.tenant import TenantProfile
from agent.tools.hours import describe_hours
from errors import UserError
from gateway import tenant_settings as ts
from gateway.schemas import HandoffIn, HoursIn, ProfileIn
from store.db import Database
from store.models import Tenant
from store.repo import tenants
from textnorm import LANGUAGES

F = TypeVar("F", bound=Callable[..., Any])
ACTOR = "cli"

hours_app = typer.Typer(help="Opening hours (in the tenant's timezone).", no_args_is_help=True)
handoff_app = typer.Typer(help="Words that hand a conversation to a person.", no_args_is_help=True)
_guard: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None
_database: Callable[[], Database] | None = None


def register(
    app: typer.Typer,
    tenants_app: typer.Typer,
    *,
    guard: Callable[[Callable[..., Any]], Callable[..., Any]],
    database: Callable[[], Database],
) -> None:
    """Add the commands to the CLI, with its error handling and database."""
    global _guard, _database
    _guard, _database = guard, database
    tenants_app.command("configure")(configure)
    app.add_typer(hours_app, name="hours")
    app.add_typer(handoff_app, name="handoff")


def _clear(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return (_guard(func) if _guard is not None else func)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextmanager
def _tenant(slug: str) -> Generator[tuple[Session, Tenant]]:
    if _database is None:
        raise RuntimeError("settings_cli.register() was not called")
    db = _database()
    with db.admin_session() as session:
        yield session, tenants.get_by_slug(session, slug)


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


# --- tenants configure ------------------------------------------------------------------------


def _wording(pairs: list[str] | None, option: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for pair in pairs or []:
        lang, sep, text = pair.partition("=")
        if not sep or lang.strip() not in LANGUAGES:
            raise UserError(f"{option} takes LANG=TEXT with LANG one of {', '.join(LANGUAGES)}: got {pair!r}")
        texts[lang.strip()] = text
    return texts


Wording = Annotated[list[str] | None, typer.Option(metavar="LANG=TEXT")]


@_clear
def configure(
    slug: str,
    name: Annotated[
        str | None, typer.Option("--name", help="The business's name as customers see it.")
    ] = None,
    persona: Annotated[str | None, typer.Option(help="Who the receptionist is.")] = None,
    tone: Annotated[str | None, typer.Option(help="How it writes.")] = None,
    language: Annotated[str | None, typer.Option(help="Default language: es, pt, de or en.")] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="A business rule (repeat; replaces the rules).")
    ] = None,
    clear_rules: Annotated[bool, typer.Option("--clear-rules", help="Remove every rule.")] = False,
    disclosure: Wording = None,
    handoff_message: Wording = None,
    closed_message: Annotated[
        list[str] | None, typer.Option(metavar="LANG=TEXT", help="Out-of-hours handoff; must contain {when}.")
    ] = None,
    fallback_message: Wording = None,
) -> None:
    """Set a tenant's persona, tone, rules, default language and wording; prints the profile.

    Wording is per language, e.g. --disclosure 'es=¡Hola! Soy el asistente de IA…'; an empty
    text (--disclosure es=) goes back to the default.
    """
    data: dict[str, Any] = {}
    for key, value in (
        ("business_name", name),
        ("persona", persona),
        ("tone", tone),
        ("default_language", language),
    ):
        if value is not None:
            data[key] = value
    if rule is not None or clear_rules:
        data["rules"] = [] if clear_rules else rule
    wording = {
        "disclosure": _wording(disclosure, "--disclosure"),
        "handoff": _wording(handoff_message, "--handoff-message"),
        "handoff_closed": _wording(closed_message, "--closed-message"),
        "fallback": _wording(fallback_message, "--fallback-message"),
    }
    messages = {
        kind: {lang: t or None for lang, t in texts.items()} for kind, texts in wording.items() if texts
    }
    if messages:
        data["messages"] = messages
    body: ProfileIn = ts.checked(ProfileIn, data)
    with _tenant(slug) as (session, tenant):
        if data:
            ts.save(session, tenant, ts.profile_changes(tenant, body), actor=ACTOR, action="config.profile")
        _echo(ts.profile_of(tenant).model_dump())


# --- hours --------------------------------------------------------------------------------------


def _show_hours(tenant: Tenant, as_json: bool) -> None:
    hours = ts.hours_of(tenant)
    if as_json:
        _echo(hours.model_dump(mode="json"))
        return
    profile = TenantProfile.from_settings(tenant.name, tenant.settings)
    if not profile.hours_configured:
        typer.echo(f"{tenant.slug}: opening hours not configured (timezone {profile.timezone})")
        return
    typer.echo(describe_hours(profile, datetime.now(UTC), "en"))


@hours_app.command("set")
@_clear
def hours_set(
    slug: str,
    specs: Annotated[
        list[str], typer.Argument(help='e.g. "mon-fri 09:00-19:00" "sat 10:00-14:00" "sun closed"')
    ],
    timezone: Annotated[str | None, typer.Option(help="IANA time zone, e.g. Europe/Madrid.")] = None,
    holiday: Annotated[
        list[str] | None, typer.Option("--holiday", help="A closed day, YYYY-MM-DD (repeat).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Set the weekly opening hours; days not named are closed."""
    week = ts.parse_hours(specs)
    with _tenant(slug) as (session, tenant):
        data = ts.hours_of(tenant).model_dump(mode="json") | {"opening_hours": week}
        if timezone is not None:
            data["timezone"] = timezone
        if holiday is not None:
            data["holidays"] = holiday
        hours: HoursIn = ts.checked(HoursIn, data)
        ts.save(session, tenant, hours.model_dump(mode="json"), actor=ACTOR, action="config.hours")
        _show_hours(tenant, as_json)


@hours_app.command("show")
@_clear
def hours_show(slug: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show the tenant's opening hours."""
    with _tenant(slug) as (_session, tenant):
        _show_hours(tenant, as_json)


@hours_app.command("clear")
@_clear
def hours_clear(slug: str) -> None:
    """Forget the opening hours: the receptionist answers hours from the knowledge base."""
    with _tenant(slug) as (session, tenant):
        ts.save(
            session, tenant, {"opening_hours": None, "holidays": None}, actor=ACTOR, action="config.hours"
        )
        _show_hours(tenant, as_json=False)


# --- handoff --------------------------------------------------------------------------------------


@handoff_app.command("set")
@_clear
def handoff_set(
    slug: str,
    keywords: Annotated[list[str], typer.Argument(help="Words or phrases, in any of es/pt/de/en.")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace the default keywords.")] = False,
    max_misses: Annotated[
        int | None, typer.Option(help="Unanswered turns in a row before a handoff.")
    ] = None,
) -> None:
    """Add handoff keywords to the defaults (or replace them with --replace); prints them."""
    with _tenant(slug) as (session, tenant):
        current = ts.handoff_of(tenant)
        data = {
            "handoff_keywords": keywords,
            "max_misses": current.max_misses if max_misses is None else max_misses,
        }
        body: HandoffIn = ts.checked(HandoffIn, data)
        ts.save(
            session, tenant, ts.handoff_values(body, replace=replace), actor=ACTOR, action="config.handoff"
        )
        _echo(ts.handoff_of(tenant).model_dump())


@handoff_app.command("show")
@_clear
def handoff_show(slug: str) -> None:
    """Show the handoff keywords and the misses before a handoff."""
    with _tenant(slug) as (_session, tenant):
        _echo(ts.handoff_of(tenant).model_dump())
