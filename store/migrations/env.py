"""Alembic environment: runs on the connection that ``store.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from store.models import Base

connection = context.config.attributes["connection"]
schema = context.config.attributes.get("schema")
if schema and connection.dialect.name == "postgresql":
    connection.execute(text(f'SET search_path TO "{schema}"'))

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
