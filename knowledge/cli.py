"""``frontdesk kb``: add, list, remove and search one tenant's knowledge base.

Errors are one clear line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from errors import DatabaseError, UserError
from knowledge.formats import ParsedDocument, parse
from knowledge.search import search as search_kb
from knowledge.service import ingest, list_documents
from knowledge.service import remove as remove_document
from store.db import Database
from store.repo import tenants

app = typer.Typer(help="Per-tenant knowledge bases: add, list, remove, search.", no_args_is_help=True)

TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant's slug.")]


def _unwired() -> Database:
    raise UserError("the kb commands are not wired to a database (run them as `frontdesk kb`)")


database_factory: Callable[[], Database] = _unwired
"""How the commands get the database: the composition root (``frontdesk.cli``) sets it."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"frontdesk: error: {message}", err=True)
    return typer.Exit(code=2)


def _open(slug: str) -> tuple[Database, int]:
    try:
        db = database_factory()
        with db.admin_session() as session:
            return db, tenants.get_by_slug(session, slug).id
    except (UserError, DatabaseError) as exc:
        raise _fail(str(exc)) from None


@app.command("add")
def add(
    tenant: TenantOption,
    files: Annotated[list[Path], typer.Argument(help="Markdown, text, HTML, PDF or DOCX files.")],
) -> None:
    """Ingest files (the format is read from the content); a new version replaces the old one.

    Every file is read and checked first: if one cannot be ingested, nothing is written.
    """
    db, tenant_id = _open(tenant)
    failures: list[str] = []
    checked: list[tuple[Path, bytes, ParsedDocument]] = []
    for path in files:
        try:
            data = path.read_bytes()
            checked.append((path, data, parse(data)))
        except (UserError, OSError) as exc:
            failures.append(f"{path}: {exc.strerror if isinstance(exc, OSError) else exc}")
    if failures:
        for failure in failures:
            typer.echo(f"frontdesk: error: {failure}", err=True)
        raise typer.Exit(code=2)
    done: list[str] = []
    with typer.progressbar(checked, label="Ingesting", file=sys.stderr, show_pos=True) as bar:
        for path, data, parsed in bar:
            try:
                result = ingest(db, tenant_id, path.name, data, parsed=parsed)
            except UserError as exc:
                raise _fail(f"{path}: {exc}") from None
            done.append(
                f"{result.status:<9} {path.name}  ({result.format}, {result.language}, "
                f"{result.chunks} chunks, id {result.document_id})"
            )
    for line in done:
        typer.echo(line)


@app.command("list")
def list_(tenant: TenantOption, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the tenant's documents."""
    db, tenant_id = _open(tenant)
    documents = list_documents(db, tenant_id)
    if as_json:
        typer.echo(json.dumps([asdict(d) for d in documents], ensure_ascii=False))
        return
    for d in documents:
        typer.echo(f"{d.id}\t{d.source_name}\t{d.title}\t{d.format}\t{d.language}\t{d.chunks} chunks")


@app.command("remove")
def remove(
    tenant: TenantOption, doc: Annotated[str, typer.Argument(help="Document id, file name or title.")]
) -> None:
    """Remove a document and its chunks."""
    db, tenant_id = _open(tenant)
    try:
        info = remove_document(db, tenant_id, doc)
    except UserError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"removed {info.source_name} ({info.chunks} chunks)")


@app.command("search")
def search(
    tenant: TenantOption,
    query: Annotated[str, typer.Argument(help="The question, in any of es/pt/de/en.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many passages.")] = 3,
    as_json: Annotated[
        bool, typer.Option("--json", help='A JSON array of {"text","source","heading","score"}.')
    ] = False,
) -> None:
    """Search the tenant's knowledge base."""
    db, tenant_id = _open(tenant)
    passages = search_kb(db, tenant_id, query, k=k)
    if as_json:
        typer.echo(json.dumps([p.as_json() for p in passages], ensure_ascii=False))
        return
    if not passages:
        typer.echo("no passage matches", err=True)
    for p in passages:
        typer.echo(
            f"[{p.score:.3f}] {p.source} › {p.heading}\n    {p.text}"
            if p.heading
            else f"[{p.score:.3f}] {p.source}\n    {p.text}"
        )
