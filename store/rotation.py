"""Key rotation: re-encrypt every sealed column under the newest master key, online.

Each row is rewritten with a conditional update (``WHERE column = old ciphertext``), so a
value changed by the running system meanwhile is never overwritten with a stale one; such a
row is picked up by the next run. Blind indexes are rewritten under the newest key too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from store.crypto import Keyring
from store.db import Database, register_keys
from store.models import Base, Channel, VaultEntry
from store.sealed import _aad
from store.vault import value_digest


@dataclass
class RotationReport:
    """How many values were re-encrypted per table, and how many changed underneath us."""

    rotated: dict[str, int] = field(default_factory=dict[str, int])
    skipped_concurrent: int = 0

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def _sealed_models() -> Iterator[type[Base]]:
    pending: list[type[Base]] = list(Base.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.encrypted_columns:
            yield model


def _new_values(keyring: Keyring, row: Base) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in type(row).encrypted_columns:
        token: str | None = getattr(row, column)
        if token is not None and keyring.needs_rotation(token):
            aad = _aad(row, column)
            values[column] = keyring.encrypt(keyring.decrypt(token, aad=aad), aad=aad)
    if isinstance(row, Channel) and values:
        verify = keyring.decrypt(row.verify_token_ciphertext, aad=_aad(row, "verify_token_ciphertext"))
        values["verify_token_digest"] = keyring.blind_index(verify)
    if isinstance(row, VaultEntry) and values:
        value = keyring.decrypt(row.value_ciphertext, aad=_aad(row, "value_ciphertext"))
        values["value_digest"] = value_digest(keyring, row.entity_type, value)
    return values


def rotate(db: Database, batch_size: int = 200) -> RotationReport:
    """Re-encrypt everything not yet under ``db.keyring``'s newest key (on PostgreSQL, first
    let the database check tenant pins made with it)."""
    report = RotationReport()
    if db.is_postgres:
        with db.admin_engine.begin() as connection:
            if db.schema:
                connection.exec_driver_sql(f'SET LOCAL search_path TO "{db.schema}"')
            register_keys(connection, db.keyring)
    for model in _sealed_models():
        table = model.__table__
        name = model.__tablename__
        id_column = table.c.id
        last_id: int | None = None
        while True:
            with db.admin_session() as session:
                query = select(model).order_by(id_column).limit(batch_size)
                if last_id is not None:
                    query = query.where(id_column > last_id)
                rows = list(session.scalars(query))
                for row in rows:
                    values = _new_values(db.keyring, row)
                    if not values:
                        continue
                    guard = [table.c[c] == getattr(row, c) for c in model.encrypted_columns]
                    result = session.execute(
                        update(table).where(id_column == row.id, *guard).values(**values)  # type: ignore[attr-defined]
                    )
                    if result.rowcount == 1:  # type: ignore[attr-defined]
                        report.rotated[name] = report.rotated.get(name, 0) + 1
                    else:
                        report.skipped_concurrent += 1
                    session.expunge(row)
            if len(rows) < batch_size:
                break
            last_id = rows[-1].id  # type: ignore[attr-defined]
    return report
