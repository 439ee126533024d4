"""``make demo`` end to end: signed webhook, gateway, broker, worker, graph, outbox, fake Cloud API."""

import os
import subprocess
import sys


def test_demo_runs_the_whole_conversation(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDESK_", "LANGFUSE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "frontdesk.cli", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "45 €" in out  # answered from the knowledge base
    assert "Te paso con una persona" in out  # handoff
    assert "soy Marta" in out  # the human agent's reply went out
    assert out.rstrip().count("60 €") == 1  # the bot answers again after handback
    assert "asistente de IA" in out  # transparency
    assert "Lucía" not in done.stderr
