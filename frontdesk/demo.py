"""``make demo``: a sample tenant on the embedded defaults, shown with its secrets masked."""

from __future__ import annotations

import json
import secrets

import typer

from frontdesk.settings import load_settings
from frontdesk.wiring import open_database
from store import db as store_db
from store.errors import NotFound
from store.repo import channels, providers, tenants

DEMO_SLUG = "demo-clinic"
DEMO_PHONE_NUMBER_ID = "100000000000001"


def run() -> None:
    """Create (or reuse) the demo tenant and print its settings."""
    settings = load_settings()
    db = open_database(settings)
    store_db.migrate(db)
    with db.admin_session() as session:
        try:
            tenant = tenants.get_by_slug(session, DEMO_SLUG)
        except NotFound:
            tenant = tenants.create(
                session,
                DEMO_SLUG,
                "Clínica Sonrisa (demo)",
                settings={"timezone": "Europe/Madrid", "languages": ["es", "en", "pt", "de"]},
            )
            providers.set_provider(session, db.keyring, tenant.id, "extractive")
            channels.add(
                session,
                db.keyring,
                tenant.id,
                phone_number_id=DEMO_PHONE_NUMBER_ID,
                verify_token=secrets.token_urlsafe(16),
                app_secret=secrets.token_hex(16),
                access_token="EAAG" + secrets.token_urlsafe(24),
            )
        channel = channels.by_phone_number_id(session, DEMO_PHONE_NUMBER_ID)
        shown = {
            "tenant": {"slug": tenant.slug, "name": tenant.name, "settings": tenant.settings},
            "providers": providers.describe(session, tenant.id),
            "channel": {
                "phone_number_id": channel.phone_number_id if channel else None,
                "app_secret": "***",
                "access_token": "***",
                "verify_token": "***",
            },
            "database": db.url.render_as_string(hide_password=True),
            "master_keys": db.keyring.key_ids,
        }
    typer.echo("Frontdesk demo tenant (secrets are encrypted at rest and never shown):")
    typer.echo(json.dumps(shown, indent=2, ensure_ascii=False))
    typer.echo("\nNext: `uv run frontdesk tenants list`, `uv run frontdesk --help`.")
