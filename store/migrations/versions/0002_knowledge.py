"""Knowledge bases: documents and chunks per tenant, FTS5 (SQLite) or tsvector + GIN
(PostgreSQL), row-level security on both tables.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.rls import enable_tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_FTS_COLUMNS = "search_heading, search_text, search_parts"


def upgrade() -> None:
    op.create_table(
        "kb_documents",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "content_hash", name="uq_kb_documents_tenant_hash"),
        sa.UniqueConstraint("tenant_id", "source_name", name="uq_kb_documents_tenant_source"),
    )
    op.create_index("ix_kb_documents_tenant_id", "kb_documents", ["tenant_id"])
    op.create_table(
        "kb_chunks",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("document_id", Id, nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("search_heading", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("search_parts", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_dim", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["kb_documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_kb_chunks_tenant_document", "kb_chunks", ["tenant_id", "document_id", "ordinal"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE kb_chunks ADD COLUMN search_vector tsvector")
        op.execute("CREATE INDEX ix_kb_chunks_search_vector ON kb_chunks USING gin (search_vector)")
        for table in ("kb_documents", "kb_chunks"):
            for statement in enable_tenant_rls(table):
                op.execute(statement)
        return

    # SQLite: an external-content FTS5 index over the normalised search columns.
    op.execute(
        f"CREATE VIRTUAL TABLE kb_chunks_fts USING fts5({_FTS_COLUMNS}, "
        "content='kb_chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        f"""CREATE TRIGGER kb_chunks_ai AFTER INSERT ON kb_chunks BEGIN
            INSERT INTO kb_chunks_fts(rowid, {_FTS_COLUMNS})
            VALUES (new.id, new.search_heading, new.search_text, new.search_parts);
        END"""
    )
    op.execute(
        f"""CREATE TRIGGER kb_chunks_ad AFTER DELETE ON kb_chunks BEGIN
            INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, {_FTS_COLUMNS})
            VALUES ('delete', old.id, old.search_heading, old.search_text, old.search_parts);
        END"""
    )
    op.execute(
        f"""CREATE TRIGGER kb_chunks_au AFTER UPDATE ON kb_chunks BEGIN
            INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, {_FTS_COLUMNS})
            VALUES ('delete', old.id, old.search_heading, old.search_text, old.search_parts);
            INSERT INTO kb_chunks_fts(rowid, {_FTS_COLUMNS})
            VALUES (new.id, new.search_heading, new.search_text, new.search_parts);
        END"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for trigger in ("kb_chunks_ai", "kb_chunks_ad", "kb_chunks_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS kb_chunks_fts")
    op.drop_table("kb_chunks")
    op.drop_table("kb_documents")
