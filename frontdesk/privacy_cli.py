"""``frontdesk privacy``: answer a customer's access and erasure requests; retention."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from errors import UserError
from frontdesk.settings import load_settings, secure_write
from store import retention
from store.db import Database
from store.privacy import find_by_number
from store.repo import tenants

if TYPE_CHECKING:
    from workers.privacy import PrivacyServices

app = typer.Typer(help="Customers' personal data: export, erasure, retention.", no_args_is_help=True)
F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(func: F) -> F:
    """The CLI's one-line errors (``frontdesk.cli`` imports this module: looked up when run)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from frontdesk.cli import clear_errors as one_line

        return one_line(func)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _services(db: Database) -> PrivacyServices:
    """Every store a request reaches (loaded when a command runs: Langfuse, the graph's checkpoints)."""
    from frontdesk.services import privacy_services

    return privacy_services(load_settings(), db)


def _privacy() -> Any:
    from workers import privacy

    return privacy


def ready_database() -> Database:
    from frontdesk.cli import ready_database as ready

    return ready()


def _customer(db: Database, tenant: str, wa_id: str) -> tuple[int, int]:
    with db.admin_session() as session:
        tenant_id = tenants.get_by_slug(session, tenant).id
    with db.tenant_session(tenant_id) as session:
        contact = find_by_number(session, db, tenant_id, wa_id)
        if contact is None:
            raise UserError(f"tenant {tenant!r} has no customer with that WhatsApp number")
        return tenant_id, contact.id


@app.command("export")
@clear_errors
def export(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    wa_id: Annotated[str, typer.Option("--wa-id", help="The customer's WhatsApp number.")],
    out: Annotated[
        Path | None, typer.Option(help="Write the JSON here (mode 0600) instead of stdout.")
    ] = None,
) -> None:
    """Everything held about one customer, as one JSON document (right of access)."""
    db = ready_database()
    tenant_id, contact_id = _customer(db, tenant, wa_id)
    document = _privacy().export_customer(_services(db), tenant_id, contact_id, actor="cli")
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        secure_write(out, text + "\n")
        typer.echo(f"wrote {out} (mode 0600)", err=True)


@app.command("erase")
@clear_errors
def erase(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    wa_id: Annotated[str, typer.Option("--wa-id", help="The customer's WhatsApp number.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Erase one customer everywhere (database, data key, checkpoints, Redis, traces)."""
    if not yes:
        raise UserError("erasure cannot be undone: add --yes to confirm")
    db = ready_database()
    tenant_id, contact_id = _customer(db, tenant, wa_id)
    services = _services(db)
    typer.echo(json.dumps(_privacy().erase_customer(services, tenant_id, contact_id, actor="cli")))


@app.command("purge")
@clear_errors
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
) -> None:
    """Apply every tenant's retention now (``beat`` does it daily)."""
    db = ready_database()
    report = _privacy().purge(_services(db), dry_run=dry_run)
    tenants_out = {t.slug: t.counts for t in report.tenants}
    typer.echo(json.dumps({"dry_run": dry_run, "tenants": tenants_out, "total": report.totals()}))


@app.command("retention")
@clear_errors
def retention_command(
    tenant: Annotated[str, typer.Option(help="The tenant's slug.")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="TYPE=DAYS, e.g. messages=180 (repeatable).")
    ] = None,
) -> None:
    """Show (or change) a tenant's retention in days per data type."""
    changes: dict[str, int] = {}
    for item in set_ or []:
        kind, sep, days = item.partition("=")
        if not sep or not days.strip().isdigit():
            raise UserError(f"--set {item!r}: expected TYPE=DAYS")
        changes[kind.strip()] = int(days)
    db = ready_database()
    with db.admin_session() as session:
        row = tenants.get_by_slug(session, tenant)
        current = (
            retention.set_policy(session, row.id, changes, actor="cli")
            if changes
            else retention.policy(row.settings)
        )
    typer.echo(
        json.dumps(
            {"tenant": tenant, "days": current, "audit": f"kept whole, at least {retention.AUDIT_DAYS}"}
        )
    )


@app.command("traces")
@clear_errors
def traces() -> None:
    """Run the queued deletions of traces in Langfuse now (``beat`` retries them every 5 minutes)."""
    db = ready_database()
    typer.echo(json.dumps(_privacy().process_traces(_services(db))))
