"""A fresh worker imports the provider SDKs before its first turn needs them (each costs
seconds of CPU, paid by the first customer and by every turn waiting on the import lock)."""

from __future__ import annotations

import subprocess
import sys

BUILD_EVERY_PROVIDER = """
import sys
from agent.llm.factory import build_provider, import_provider_sdks
from agent.llm.types import ProviderSettings

import_provider_sdks()
before = set(sys.modules)
for name in ("openai", "anthropic", "gemini", "openai-compatible"):
    settings = {"provider": name, "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    build_provider(ProviderSettings.model_validate(settings), "k")
print(sorted(m for m in set(sys.modules) - before if m.startswith(("openai", "anthropic", "google", "agent"))))
"""


def test_after_the_warm_up_building_any_provider_imports_no_sdk() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_EVERY_PROVIDER], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
