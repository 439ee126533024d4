"""``frontdesk redaction``: a tenant's own redaction rules (patterns, deny, allow, Presidio recognizers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the rules pull in presidio: imported by the commands, not by every CLI start
    from agent.redaction.rules import RedactionRules
    from store.db import Database

app = typer.Typer(
    help="A tenant's redaction rules: extra patterns, deny and allow lists, Presidio recognizers."
)

Tenant = Annotated[str, typer.Argument(help="Tenant slug.")]


def _database() -> Database:
    from frontdesk.cli import ready_database  # the CLI's own factory (frontdesk.cli imports us)

    return ready_database()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"frontdesk: error: {message}", err=True)
    return typer.Exit(code=2)


def _edit(slug: str, change: Callable[[RedactionRules], RedactionRules], action: str) -> RedactionRules:
    from agent.redaction.rules import SETTING, RuleError, rules_of
    from errors import NotFound
    from gateway import tenant_settings as ts
    from store.repo import tenants

    db = _database()
    try:
        with db.admin_session() as session:
            tenant = tenants.get_by_slug(session, slug)
            rules = change(rules_of(tenant.settings))
            ts.save(
                session,
                tenant,
                {SETTING: rules.model_dump(mode="json")},
                actor="cli",
                action=action,
                details={},
            )
    except RuleError as exc:
        raise _fail(str(exc)) from None
    except NotFound:
        raise _fail(f"no tenant {slug!r}") from None
    return rules


def _show(rules: RedactionRules) -> None:
    typer.echo(json.dumps(rules.model_dump(mode="json"), ensure_ascii=False, indent=2))


@app.command("show")
def show(tenant: Tenant) -> None:
    """Print the tenant's redaction rules as JSON."""
    _show(_read(tenant))


def _read(slug: str) -> RedactionRules:
    from agent.redaction.rules import RuleError, rules_of
    from errors import NotFound
    from store.repo import tenants

    db = _database()
    try:
        with db.admin_session() as session:
            return rules_of(tenants.get_by_slug(session, slug).settings)
    except RuleError as exc:
        raise _fail(str(exc)) from None
    except NotFound:
        raise _fail(f"no tenant {slug!r}") from None


@app.command("add-pattern")
def add_pattern_cmd(
    tenant: Tenant,
    name: Annotated[str, typer.Argument(help="A name for the pattern (replaces one of the same name).")],
    regex: Annotated[str, typer.Argument(help="Python regular expression.")],
    entity: Annotated[str, typer.Option(help="Entity type it finds, e.g. PATIENT_ID.")] = "CUSTOM_ID",
    score: Annotated[float, typer.Option(help="Presidio score, 0 to 1.")] = 0.8,
) -> None:
    """Add a Presidio PatternRecognizer (validated: compiles, never matches empty, no catastrophic nesting)."""
    from agent.redaction.rules import add_pattern

    _show(_edit(tenant, lambda r: add_pattern(r, name, regex, entity, score), "config.redaction.pattern"))


@app.command("remove-pattern")
def remove_pattern_cmd(tenant: Tenant, name: str) -> None:
    """Remove the pattern called NAME."""
    from agent.redaction.rules import remove_pattern

    _show(_edit(tenant, lambda r: remove_pattern(r, name), "config.redaction.pattern"))


def _list_command(field: str, doc: str) -> Callable[..., None]:
    def command(
        tenant: Tenant,
        values: Annotated[list[str], typer.Argument(help="Entries to add (or remove).")],
        remove: Annotated[bool, typer.Option("--remove", help="Remove the entries instead.")] = False,
    ) -> None:
        from agent.redaction.rules import change_list

        _show(
            _edit(tenant, lambda r: change_list(r, field, values, remove=remove), f"config.redaction.{field}")
        )

    command.__doc__ = doc
    return command


app.command("deny")(_list_command("deny", "Names always redacted (staff names), or --remove them."))
app.command("allow")(
    _list_command("allow", "Words never redacted (the brand's own words), or --remove them.")
)


@app.command("enable")
def enable(tenant: Tenant, recognizers: list[str]) -> None:
    """Switch Presidio predefined recognizers on by class name (see `frontdesk redaction recognizers`)."""
    from agent.redaction.rules import change_list

    _show(_edit(tenant, lambda r: change_list(r, "enabled", recognizers), "config.redaction.enabled"))


@app.command("disable")
def disable(tenant: Tenant, recognizers: list[str]) -> None:
    """Switch Presidio predefined recognizers off again."""
    from agent.redaction.rules import change_list

    _show(
        _edit(
            tenant, lambda r: change_list(r, "enabled", recognizers, remove=True), "config.redaction.enabled"
        )
    )


@app.command("recognizers")
def recognizers() -> None:
    """List the Presidio predefined recognizers that `enable` accepts."""
    from agent.redaction.rules import predefined_names

    for name in predefined_names():
        typer.echo(name)


@app.command("test")
def test(tenant: Tenant, text: str) -> None:
    """Redact TEXT with the tenant's rules and print the result (nothing is stored)."""
    from agent.redaction.redactor import RedactionContext, Redactor
    from agent.redaction.rules import compile_rules
    from agent.redaction.vault import ConversationKey, InMemoryVault

    rules = compile_rules(_read(tenant))
    redacted = Redactor(InMemoryVault()).redact(text, RedactionContext(ConversationKey(0, 0), rules=rules))
    typer.echo(redacted.text)
