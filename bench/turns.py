"""One receptionist turn, end to end in-process: redaction, knowledge search, the graph,
checkpoints, the extractive provider. Reports p50/p95 per turn.

    uv run frontdesk bench turns [--turns 40]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

import knowledge
from agent.checkpoints import CheckpointStore
from agent.receptionist import Receptionist, TurnRequest
from agent.redaction.redactor import Redactor
from agent.redaction.sql_vault import SqlVault
from store.crypto import Keyring
from store.db import Database, migrate
from store.repo import tenants

KB = pathlib.Path(__file__).parents[1] / "tests" / "data" / "kb_clinica_es"
QUESTIONS = [
    "¿Cuánto cuesta un empaste?",
    "¿Aceptáis Bizum?",
    "¿Trabajáis con Sanitas?",
    "¿Cuánto cuesta una limpieza?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=40)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    db = Database(f"sqlite:///{folder}/fd.db", Keyring.generate())
    migrate(db)
    with db.admin_session() as session:
        tenant_id = tenants.create(session, "clinic", "Clínica").id
    for path in sorted(KB.iterdir()):
        knowledge.ingest(db, tenant_id, path.name, path.read_bytes())
    receptionist = Receptionist(
        db, redactor=Redactor(SqlVault(db)), checkpoints=CheckpointStore(f"sqlite:///{folder}/cp.db")
    )
    receptionist.run(TurnRequest(tenant_id, 1, "warm-up", ["hola"], customer_id="1", profile_name="Ana"))
    latencies: list[float] = []
    for i in range(args.turns):
        request = TurnRequest(
            tenant_id,
            2 + i % 5,
            f"t{i}",
            [QUESTIONS[i % 4]],
            customer_id=str(i % 5),
            profile_name="Ana Pérez",
        )
        start = time.perf_counter()
        receptionist.run(request)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    p50, p95 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"extractive turn: p50 {p50:.1f} ms  p95 {p95:.1f} ms  (n={len(latencies)})")


if __name__ == "__main__":
    main()
