"""Scenario datasets: the YAML schema, and loading suites from ``evals/suites/<name>/*.yaml``.

A suite file holds reusable tenant ``fixtures`` and a list of ``scenarios``. A scenario names
its tenant (a fixture name or an inline fixture), the customer's turns (scripted, or a
simulated user driven by a model), the simulator's scripted rules, the personal values it
plants, and what must hold afterwards (``expect``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.llm.simulator import SimulatorScript
from errors import UserError
from textnorm import Language

SUITES_DIR = Path(__file__).parent / "suites"
SHARED = "_shared"
"""A folder of fixtures every suite of the same root may use (not a suite itself)."""

Family = Literal["faq", "hours_booking", "handoff", "injection", "pii", "cross_tenant", "window"]
FAMILIES: tuple[Family, ...] = (
    "faq",
    "hours_booking",
    "handoff",
    "injection",
    "pii",
    "cross_tenant",
    "window",
)
ScenarioProvider = Literal["openai", "anthropic", "gemini", "extractive"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Document(_Strict):
    """One knowledge document ingested into the tenant's knowledge base."""

    name: str
    text: str


class TenantFixture(_Strict):
    """A tenant of the scenario's isolated environment."""

    slug: str
    name: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict[str, Any])
    documents: list[Document] = Field(default_factory=list[Document])


class Expect(_Strict):
    """Checks on one turn (or, at scenario level, on the whole conversation)."""

    contains: list[str] = Field(default_factory=list[str])
    """Every string must appear in the reply (case-insensitive)."""
    contains_any: list[str] = Field(default_factory=list[str])
    """At least one must appear."""
    not_contains: list[str] = Field(default_factory=list[str])
    handoff: bool | None = None
    cites: bool | list[str] | None = None
    """``true``: some citation; a list: each string must appear in a citation."""
    tools: list[str] = Field(default_factory=list[str])
    """Tool calls the model must have made."""
    no_tools: list[str] = Field(default_factory=list[str])
    """Tool calls the model must not have made (``["*"]``: no model call at all)."""
    language: Language | None = None
    """The reply's language."""
    blocked: bool | None = None
    """Whether the guard must have replaced the model's reply."""


class ScenarioTurn(_Strict):
    """One customer turn: a message, or a burst of messages merged into one turn."""

    text: str | None = None
    texts: list[str] = Field(default_factory=list[str])
    human: list[str] = Field(default_factory=list[str])
    """What human agents wrote before this turn (resumes a thread paused for a human)."""
    expect: Expect = Expect()

    @model_validator(mode="after")
    def _one_text(self) -> ScenarioTurn:
        if (self.text is None) == (not self.texts):
            raise ValueError("a turn needs exactly one of 'text' or 'texts'")
        return self

    @property
    def messages(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts)


class Customer(_Strict):
    """Who writes: the WhatsApp profile name and id (synthetic)."""

    name: str | None = None
    wa_id: str = "34600000000"


class Window(_Strict):
    """The reply must go out ``hours_after`` hours after the customer's last message."""

    hours_after: float
    purpose: str = "reply"
    templates: list[dict[str, Any]] = Field(default_factory=list[dict[str, Any]])
    """The tenant's template registry (``channels.window.parse_registry`` format)."""
    opted_out: bool = False
    expect_action: Literal["send_text", "send_template", "handoff", "suppress"]
    expect_template: str | None = None


class UserSimulator(_Strict):
    """A simulated customer driven by the provider's model (real providers only)."""

    goal: str
    persona: str = "a customer writing on WhatsApp"
    language: Language = "es"
    max_turns: int = Field(default=4, ge=1, le=10)
    first_message: str | None = None


class Scenario(_Strict):
    """One evaluated conversation."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    family: Family
    description: str = ""
    required: bool = False
    known_issue: str | None = None
    tenant: str | TenantFixture
    other_tenants: list[str | TenantFixture] = Field(default_factory=list[str | TenantFixture])
    provider: ScenarioProvider | None = None
    """Which wire the simulator speaks (default openai); ``extractive``: no model at all."""
    simulator: SimulatorScript = SimulatorScript()
    customer: Customer = Customer()
    pii: list[str] = Field(default_factory=list[str])
    """Personal values the scenario plants: none may reach a provider, a trace or a checkpoint."""
    canaries: list[str] = Field(default_factory=list[str])
    """Facts of another tenant: none may reach this conversation's replies or provider requests."""
    turns: list[ScenarioTurn] = Field(default_factory=list[ScenarioTurn])
    user_simulator: UserSimulator | None = None
    window: Window | None = None
    expect: Expect = Expect()
    judge: bool = False
    """Ask the model-as-judge whether the replies are grounded (only with ``--judge``)."""

    @model_validator(mode="after")
    def _has_turns(self) -> Scenario:
        if not self.turns and self.user_simulator is None:
            raise ValueError("a scenario needs 'turns' or a 'user_simulator'")
        if self.family == "window" and self.window is None:
            raise ValueError("a window scenario needs a 'window' block")
        return self


class Suite(BaseModel):
    """A named set of scenarios and the tenant fixtures they share."""

    name: str
    fixtures: dict[str, TenantFixture]
    scenarios: list[Scenario]

    def tenant(self, ref: str | TenantFixture) -> TenantFixture:
        """The fixture a scenario refers to."""
        return ref if isinstance(ref, TenantFixture) else self.fixtures[ref]

    def select(self, ids: list[str]) -> Suite:
        """Only the scenarios whose id starts with one of ``ids``."""
        chosen = [s for s in self.scenarios if any(s.id.startswith(i) for i in ids)]
        if not chosen:
            raise UserError(f"no scenario of suite {self.name!r} matches {', '.join(ids)}")
        return self.model_copy(update={"scenarios": chosen})


class _SuiteFile(_Strict):
    fixtures: dict[str, TenantFixture] = Field(default_factory=dict[str, TenantFixture])
    scenarios: list[Scenario] = Field(default_factory=list[Scenario])


def suite_names(root: Path = SUITES_DIR) -> list[str]:
    """The suites shipped under ``root``: folders of YAML files, or single YAML files."""
    names = {p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.yaml"))}
    names |= {p.stem for p in root.glob("*.yaml")}
    names = {n for n in names if not n.startswith("_")}
    return sorted(names)


def _files(name: str, root: Path) -> list[Path]:
    shared = sorted((root / SHARED).glob("*.yaml"))
    if name.endswith((".yaml", ".yml")):  # a file of one's own (a tenant's scenarios)
        own = Path(name)
        if not own.is_file():
            raise UserError(f"no suite file {name!r}")
        return [*shared, own]
    folder, single = root / name, root / f"{name}.yaml"
    if name.startswith("_"):
        raise UserError(f"unknown suite {name!r} (known: {', '.join(suite_names(root)) or 'none'})")
    if folder.is_dir():
        return shared + sorted(folder.glob("*.yaml"))
    if single.is_file():
        return [*shared, single]
    known = ", ".join(suite_names(root)) or "none"
    raise UserError(f"unknown suite {name!r} (known: {known})")


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_suite_file(path: Path) -> tuple[dict[str, TenantFixture], list[Scenario]]:
    """Fixtures and scenarios of one YAML file; :class:`UserError` names what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path.name}{where}: invalid YAML") from None
    if not isinstance(data, dict):
        raise UserError(f"{path.name}: expected a mapping with 'fixtures' and 'scenarios'")
    try:
        parsed = _SuiteFile.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{path.name}: {_describe(exc)}") from None
    return parsed.fixtures, parsed.scenarios


def load_suite(name: str, root: Path = SUITES_DIR) -> Suite:
    """Load and check a suite (a shipped one by name, or a YAML file by its path, with the
    shared fixtures): unique ids, known fixtures, one tenant slug per fixture."""
    fixtures: dict[str, TenantFixture] = {}
    scenarios: list[Scenario] = []
    for path in _files(name, root):
        file_fixtures, file_scenarios = parse_suite_file(path)
        for key, fixture in file_fixtures.items():
            if key in fixtures and fixtures[key] != fixture:
                raise UserError(f"{path.name}: fixture {key!r} is defined twice, differently")
            fixtures[key] = fixture
        scenarios += file_scenarios
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.id in seen:
            raise UserError(f"suite {name!r}: scenario id {scenario.id!r} is used twice")
        seen.add(scenario.id)
        refs = [scenario.tenant, *scenario.other_tenants]
        for ref in refs:
            if isinstance(ref, str) and ref not in fixtures:
                raise UserError(f"scenario {scenario.id!r}: unknown tenant fixture {ref!r}")
        slugs = [ref.slug if isinstance(ref, TenantFixture) else fixtures[ref].slug for ref in refs]
        if len(set(slugs)) != len(slugs):
            raise UserError(f"scenario {scenario.id!r}: two tenants share a slug")
    if not scenarios:
        raise UserError(f"suite {name!r} has no scenarios")
    return Suite(name=name, fixtures=fixtures, scenarios=scenarios)
