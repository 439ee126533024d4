"""The ``frontdesk`` command line. Errors are one clear line on stderr and exit code 2."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

import evals.cli as evals_cli
import knowledge.cli as knowledge_cli
from channels import ownership
from errors import CryptoError, DatabaseError, FieldError, UserError
from frontdesk import demo as demo_module
from frontdesk import privacy_cli, redaction_cli, settings_cli
from frontdesk.settings import secure_write
from frontdesk.wiring import load_keyring, load_settings, open_database
from store import audit
from store import db as store_db
from store.crypto import Keyring
from store.db import Database
from store.models import PROVIDERS, ROLES, utcnow
from store.repo import providers, tenants, users
from store.repo import tracing as tracing_repo
from store.roles import ensure_app_login
from store.rotation import rotate

app = typer.Typer(
    help="Frontdesk: AI receptionists for businesses on WhatsApp.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)
tenants_app = typer.Typer(help="Create and configure tenants (businesses).", no_args_is_help=True)
users_app = typer.Typer(help="Users and their API tokens.", no_args_is_help=True)
keys_app = typer.Typer(help="Master encryption keys.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
channels_app = typer.Typer(help="WhatsApp numbers connected to tenants.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(channels_app, name="channels")
app.add_typer(audit_app, name="audit")
simulator_app = typer.Typer(help="The local model simulator (OpenAI, Anthropic and Gemini wire APIs).")
app.add_typer(simulator_app, name="simulator")
app.add_typer(knowledge_cli.app, name="kb", help="Per-tenant knowledge bases: add, list, remove, search.")
app.add_typer(evals_cli.app, name="eval", help="Scenario evals and reports for analysts.")
app.add_typer(redaction_cli.app, name="redaction")
app.add_typer(privacy_cli.app, name="privacy")

if TYPE_CHECKING:
    from evals.tenant import TenantWiring

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print one line on stderr and return the exit to raise (code 2)."""
    typer.echo(f"frontdesk: error: {message}", err=True)
    return typer.Exit(code=2)


STDIN = "read from standard input"
CLI_FIELDS = {
    "api_key": STDIN,
    "app_secret": STDIN,
    "access_token": STDIN,
    "business_name": "--name",
    "default_language": "--language",
    "rules": "--rule",
    "messages": "--disclosure/--handoff-message/--closed-message/--fallback-message",
    "opening_hours": "the hours",
    "holidays": "--holiday",
    "handoff_keywords": "the keywords",
}
"""How the CLI names a field the store refused (default: its ``--option``)."""


def clear_errors(func: F) -> F:
    """Turn the errors a user can cause into one line on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FieldError as exc:
            raise fail(
                f"{exc.message} ({CLI_FIELDS.get(exc.field, '--' + exc.field.replace('_', '-'))})"
            ) from None
        except (UserError, CryptoError, DatabaseError) as exc:
            raise fail(str(exc)) from None
        except OperationalError as exc:
            raise fail(f"database error: {type(exc.orig).__name__}") from None
        except ProgrammingError as exc:
            if type(exc.orig).__name__ != "InsufficientPrivilege":
                raise
            raise fail(
                "the database refused this to the application's role: operator commands run as "
                "the owner (set FRONTDESK_DATABASE_ADMIN_URL)"
            ) from None

    return wrapper  # type: ignore[return-value]


def ready_database() -> Database:
    """Open the configured database; SQLite files are migrated on first use."""
    db = open_database()
    db.check()
    if not db.is_postgres:
        store_db.migrate(db)
    return db


@app.command()
@clear_errors
def migrate(
    admin_url: Annotated[
        str | None,
        typer.Option(
            "--admin-url",
            help="The owner's URL (default: FRONTDESK_DATABASE_ADMIN_URL, else the database URL).",
        ),
    ] = None,
) -> None:
    """Create or upgrade the database schema; on PostgreSQL also the application's login role."""
    settings = load_settings()
    if admin_url:
        settings = settings.model_copy(update={"database_admin_url": admin_url})
    db = open_database(settings)
    applied = store_db.migrate(db)
    audit.anchor_heads(db)
    if db.is_postgres:
        if not settings.checkpoint_url:
            from agent.checkpoints import prepare_postgres

            prepare_postgres(settings.database_admin_url or settings.database_url, db.schema)
        app_url = ensure_app_login(db)
        if app_url is not None:
            typer.echo(
                "the application must log in as frontdesk_app (no superuser, no BYPASSRLS); set, "
                "keeping the current URL as FRONTDESK_DATABASE_ADMIN_URL (the password is shown only now):"
            )
            typer.echo(f"FRONTDESK_DATABASE_URL={app_url}")
    if applied:
        typer.echo(f"applied {len(applied)} migrations ({', '.join(applied)}); the database is up to date")
    else:
        typer.echo("the database was already up to date; nothing applied")


@tenants_app.command("create")
@clear_errors
def tenants_create(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name of the business.")] = None,
) -> None:
    """Create a tenant."""
    tenants.validate_slug(slug)
    db = ready_database()
    with db.admin_session() as session:
        tenant = tenants.create(session, slug, name)
        typer.echo(f"created tenant {tenant.slug} ({tenant.name})")


@tenants_app.command("list")
@clear_errors
def tenants_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List tenants."""
    db = ready_database()
    with db.admin_session() as session:
        rows: list[dict[str, Any]] = []
        for t in tenants.list_all(session):
            primary = next((p for p in providers.describe(session, t.id) if p["slot"] == "primary"), {})
            rows.append(
                {
                    "slug": t.slug,
                    "name": t.name,
                    "created_at": t.created_at.isoformat(),
                    "provider": primary.get("provider"),
                    "model": primary.get("model"),
                    "last_error": primary.get("last_error"),
                    "last_error_at": primary.get("last_error_at"),
                }
            )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        provider = " ".join(str(row[k]) for k in ("provider", "model") if row[k]) or "extractive"
        error = f"\tlast error: {row['last_error']} at {row['last_error_at']}" if row["last_error"] else ""
        typer.echo(f"{row['slug']}\t{row['name']}\t{provider}{error}")


def read_secret_from_stdin(prompt: str) -> str:
    """One secret from standard input (a hidden prompt on a terminal); never from arguments."""
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True, default="", show_default=False)).strip()
    return sys.stdin.readline().strip()


@tenants_app.command("set-provider")
@clear_errors
def tenants_set_provider(
    slug: str,
    provider: Annotated[str, typer.Option(help=f"One of: {', '.join(PROVIDERS)}.")],
    model: Annotated[str | None, typer.Option(help="Model name, e.g. gpt-4o-mini.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Endpoint for OpenAI-compatible servers.")] = None,
    fallback: Annotated[bool, typer.Option(help="Set the fallback provider instead of the primary.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="First make one cheap call with the key; save only if it works.")
    ] = False,
) -> None:
    """Set the tenant's model provider. The API key is read from standard input."""
    providers.validate(provider, base_url, api_key="-")
    api_key = None
    if provider != "extractive":
        api_key = read_secret_from_stdin("API key") or None
    providers.validate(provider, base_url, api_key)
    answered = _check_provider(provider, model, base_url, api_key) if check else None
    db = ready_database()
    with db.admin_session() as session:
        tenant = tenants.get_by_slug(session, slug)
        providers.set_provider(
            session,
            db.keyring,
            tenant.id,
            provider,
            model=model,
            base_url=base_url,
            api_key=api_key,
            slot="fallback" if fallback else "primary",
            trusted=True,  # the operator on the server may name any host (a local Ollama)
        )
        if answered:
            typer.echo(f"OK: {answered} answered with this key")
        for row in providers.describe(session, tenant.id):
            typer.echo(json.dumps(row))


def _check_provider(provider: str, model: str | None, base_url: str | None, api_key: str | None) -> str:
    """What answered one cheap call with the key, or a one-line :class:`UserError`."""
    import asyncio

    from agent.llm.factory import check_key
    from agent.llm.types import ProviderSettings
    from agent.receptionist import DEFAULT_MODELS
    from errors import ProviderError

    settings = ProviderSettings.model_validate(
        {"provider": provider, "model": model or DEFAULT_MODELS[provider], "base_url": base_url}
    )
    try:
        return asyncio.run(check_key(settings, api_key))
    except ProviderError as exc:
        raise UserError(f"{exc.describe()}; nothing was saved") from None
    except UserError as exc:
        raise UserError(f"{exc}; nothing was saved") from None


@tenants_app.command("set-langfuse")
@clear_errors
def tenants_set_langfuse(
    slug: str,
    public_key: Annotated[str, typer.Option(help="The tenant's Langfuse public key (pk-lf-…).")],
    base_url: Annotated[str, typer.Option(help="The tenant's Langfuse host.")] = "https://cloud.langfuse.com",
) -> None:
    """Send a tenant's traces to its own Langfuse project; the secret key is read from standard input."""
    secret = read_secret_from_stdin("Langfuse secret key")
    db = ready_database()
    with db.admin_session() as session:
        tenant = tenants.get_by_slug(session, slug)
        tracing_repo.set_project(
            session, db.keyring, tenant.id, public_key=public_key, secret_key=secret, base_url=base_url
        )
    typer.echo(
        json.dumps({"tenant": slug, "public_key": public_key, "base_url": base_url, "secret_key": "***"})
    )


@users_app.command("create")
@clear_errors
def users_create(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str | None, typer.Option(help="Who this user is.")] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="The token stops working after this long: 30d, 12h, 90m, 2w.")
    ] = None,
) -> None:
    """Create a user and print its API token once."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    expires_at = utcnow() + users.parse_duration(expires_in) if expires_in else None
    db = ready_database()
    with db.admin_session() as session:
        tenant_row = tenants.get_by_slug(session, tenant)
        created = users.create(session, tenant_row.id, role, name, expires_at=expires_at)
    until = f", expires {expires_at.isoformat(timespec='seconds')}" if expires_at else ""
    typer.echo(
        f"created {role} user {created.user.name} for {tenant}{until}; API token (shown once):", err=True
    )
    typer.echo(created.token.reveal())


@keys_app.command("rotate")
@clear_errors
def keys_rotate(
    new_key: Annotated[
        bool, typer.Option(help="Development: first add a fresh newest key to the local key file.")
    ] = False,
) -> None:
    """Re-encrypt everything under the newest master key (safe while the system runs)."""
    settings = load_settings()
    if new_key:
        if settings.master_keys is not None:
            raise UserError(
                "--new-key works on the local key file; in production add the key to FRONTDESK_MASTER_KEYS"
            )
        keyring = load_keyring(settings)
        fresh = keyring.with_new_key(f"k{len(keyring.key_ids) + 1}")
        secure_write(settings.key_file, fresh.to_spec() + "\n")
        typer.echo(f"added key {fresh.newest_id} to {settings.key_file}", err=True)
    db = ready_database()
    report = rotate(db)
    typer.echo(
        json.dumps({"newest_key": db.keyring.newest_id, "rotated": report.rotated, "total": report.total})
    )


@keys_app.command("generate")
def keys_generate(key_id: Annotated[str, typer.Option("--id", help="Key id.")] = "k1") -> None:
    """Print a fresh master key entry for FRONTDESK_MASTER_KEYS."""
    typer.echo(Keyring.new_key_spec(key_id))


@app.command()
@clear_errors
def demo() -> None:
    """Run the demo on the embedded defaults."""
    demo_module.run()


@app.command()
@clear_errors
def chat(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    from_: Annotated[str, typer.Option("--from", help="The customer's WhatsApp id.")] = "34600000000",
    name: Annotated[str | None, typer.Option(help="The customer's WhatsApp profile name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input line.")] = False,
) -> None:
    """Try a tenant's receptionist: customer messages on standard input, replies on output."""
    from frontdesk import services
    from frontdesk.chat import ChatSession, run_chat

    db = ready_database()
    receptionist = services.receptionist(load_settings(), db)
    session = ChatSession.open(db, receptionist, tenant, from_, name)
    run_chat(session, sys.stdin, sys.stdout, as_json=as_json)


@app.command()
def redact(
    lang: Annotated[str, typer.Option(help="auto, es, pt, de or en.")] = "auto",
) -> None:
    """Redact messages from standard input (one per line) into JSON lines."""
    from agent.redaction.cli import run_redact_stream

    raise typer.Exit(code=run_redact_stream(lang, sys.stdin, sys.stdout))


@simulator_app.command("serve")
def simulator_serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    script: Annotated[str | None, typer.Option(help="A JSON or YAML simulator script.")] = None,
) -> None:
    """Serve the wire simulator in the foreground."""
    from agent.llm.simulator import serve

    serve(host, port, script)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Turns in flight in this process (threads).")] = 200,
) -> None:
    """Run a worker: drains mailboxes through the graph and sends the outbox (until SIGTERM)."""
    from frontdesk.worker_context import make_worker_context
    from workers.cli import run_worker

    run_worker(concurrency, context_factory=make_worker_context)


@app.command()
def beat() -> None:
    """Run the scheduler: checkpoint pruning and retention (every worker runs the sweeper itself)."""
    from workers.cli import run_beat

    run_beat()


@app.command()
@clear_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the webhook (/webhooks/whatsapp), the REST API (/docs) and the agents' console (/console)."""
    import uvicorn

    from frontdesk.gateway_app import build_app, server_config

    db = ready_database()
    db.check_app()
    app = build_app(db)
    # open console event streams must not hold a shutdown
    uvicorn.Server(server_config(app, host, port, log_level="warning", timeout_graceful_shutdown=5)).run()


@channels_app.command("add")
@clear_errors
def channels_add(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    phone_number_id: Annotated[str, typer.Option(help="Meta's phone number id.")],
    waba_id: Annotated[str | None, typer.Option(help="The WhatsApp Business Account id.")] = None,
    stdin_marker: Annotated[
        str,
        typer.Option(
            "--verify-token",
            help="Read from standard input (the third line) like the other secrets; only '-' is accepted here.",
            show_default=False,
        ),
    ] = "-",
) -> None:
    """Connect a WhatsApp number; the app secret, access token and the webhook verify token you
    chose in Meta's console are read from standard input, one per line. The number becomes
    active once the access token proves (Graph API) that it owns the number and the account."""

    if stdin_marker != "-":
        raise UserError(
            "--verify-token takes no value on the command line (it would show in the process list "
            "and shell history): write it on standard input after the app secret and access token"
        )
    app_secret = read_secret_from_stdin("App secret")
    access_token = read_secret_from_stdin("Access token")
    verify_token = read_secret_from_stdin("Verify token")
    if not (app_secret and access_token and verify_token):
        raise UserError("the app secret, access token and verify token are needed on standard input")
    db = ready_database()
    with db.admin_session() as session:
        tenant_id = tenants.get_by_slug(session, tenant).id
    claim = ownership.Claim(
        phone_number_id=phone_number_id,
        verify_token=verify_token,
        app_secret=app_secret,
        access_token=access_token,
        waba_id=waba_id,
    )
    verified = ownership.connect(db, tenant_id, claim, _graph_client, actor="cli")
    _report_channel(tenant, verified, phone_number_id, **dict.fromkeys(("app_secret", "access_token"), "***"))


def _graph_client() -> Any:
    from channels.cloud_api import CloudApiClient

    return CloudApiClient(load_settings().whatsapp_graph_url)


def _report_channel(tenant: str, verified: Any, phone_number_id: str, **extra: str) -> None:
    """The channel as JSON on stdout; a pending one also says why on stderr and exits 1."""
    typer.echo(
        json.dumps(
            {
                "tenant": tenant,
                "channel_id": verified.channel_id,
                "phone_number_id": phone_number_id,
                "status": verified.status,
                **extra,
            }
        )
    )
    if verified.status == "pending":
        typer.echo(
            f"frontdesk: pending: {verified.message}; run `frontdesk channels verify --tenant {tenant} "
            f"--phone-number-id {phone_number_id}` later",
            err=True,
        )
        raise typer.Exit(code=1)


@channels_app.command("verify")
@clear_errors
def channels_verify(
    tenant: Annotated[str, typer.Option(help="Tenant slug.")],
    phone_number_id: Annotated[str, typer.Option(help="Meta's phone number id.")],
) -> None:
    """Prove again, with the channel's own access token, that it owns its number and account:
    a pending channel becomes active (exit 1 while Meta cannot be asked)."""
    from sqlalchemy import select

    from store.models import Channel

    db = ready_database()
    with db.admin_session() as session:
        tenant_id = tenants.get_by_slug(session, tenant).id
        channel_id = session.scalar(
            select(Channel.id).where(
                Channel.tenant_id == tenant_id, Channel.phone_number_id == phone_number_id
            )
        )
    if channel_id is None:
        raise UserError(f"tenant {tenant} has no channel with phone number id {phone_number_id}")
    verified = ownership.reverify(db, tenant_id, channel_id, _graph_client, actor="cli")
    _report_channel(tenant, verified, phone_number_id)


@audit_app.command("verify")
@clear_errors
def audit_verify(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's chain.")] = None,
) -> None:
    """Check the audit log's keyed chains against their anchor; exit 1 and say where when an
    entry was changed, deleted or reordered."""
    db = ready_database()
    tenant_id = None
    if tenant:
        with db.admin_session() as session:
            tenant_id = tenants.get_by_slug(session, tenant).id
    result = audit.verify_chain(db, tenant_id)
    if result.ok:
        typer.echo("audit chain intact")
        return
    for problem in result.problems[1:20]:
        typer.echo(f"audit: {problem}", err=True)
    typer.echo(f"audit chain BROKEN: {result.problems[0]}")
    raise typer.Exit(code=1)


BENCHMARKS = ("providers", "redaction", "knowledge", "throughput", "turns")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(BENCHMARKS)}.")],
) -> None:
    """Run a benchmark from bench/ (extra arguments go to it); measurements, not tests."""
    import runpy

    if name not in BENCHMARKS:
        raise fail(f"unknown benchmark {name!r}: choose one of {', '.join(BENCHMARKS)}")
    sys.argv = [f"bench/{name}.py", *ctx.args]
    runpy.run_module(f"bench.{name}", run_name="__main__")


settings_cli.register(app, tenants_app, guard=clear_errors, database=ready_database)


def eval_wiring() -> TenantWiring:
    """What ``frontdesk eval run --tenant`` runs on: the configured database, the deployment's
    tracer (Langfuse when configured) and its receptionist."""
    from evals.tenant import TenantWiring
    from frontdesk import services

    settings, db = load_settings(), ready_database()
    return TenantWiring(
        db=db,
        tracer=services.tracer(db),
        receptionist=lambda factory, trace, own_provider: services.receptionist(
            settings, db, trace=trace, provider_factory=factory, note_provider_errors=own_provider
        ),
    )


def main() -> None:
    knowledge_cli.database_factory = ready_database
    evals_cli.tenant_wiring = eval_wiring
    app()


if __name__ == "__main__":
    main()
