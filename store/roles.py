"""The application's login role on PostgreSQL: a password set by ``frontdesk migrate``.

The password is sent as a SCRAM-SHA-256 verifier computed here, so the plaintext never
reaches the server (nor its statement log); it is shown once, in the URL ``migrate`` prints.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from sqlalchemy.engine import make_url

from store.db import Database
from store.rls import APP_ROLE

SCRAM_ITERATIONS = 4096


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 7677)."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def app_login_url(admin_url: str, password: str | None = None) -> str:
    """``admin_url`` with the application's role as the user (benches and tests on a server
    that trusts local logins; production uses the URL ``frontdesk migrate`` prints)."""
    return make_url(admin_url).set(username=APP_ROLE, password=password).render_as_string(hide_password=False)


def ensure_app_login(db: Database) -> str | None:
    """When the application's URL does not log in as ``frontdesk_app`` yet, give the role a new
    password and return the URL to use (once); None when it already does."""
    if not db.is_postgres or db.url.username == APP_ROLE:
        return None
    password = secrets.token_urlsafe(24)
    verifier = scram_verifier(password)
    with db.admin_engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER ROLE {APP_ROLE} WITH LOGIN PASSWORD '{verifier}'")
    return app_login_url(db.url.render_as_string(hide_password=False), password)
