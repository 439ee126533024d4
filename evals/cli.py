"""``frontdesk eval``: run a suite and write ``results.json`` and ``report.html``; list suites.

Exit codes: 0 when every required scenario passed, 1 when one failed, 2 for a usage error
(unknown suite, bad YAML, missing key), always with one line on stderr.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from errors import FrontdeskError, UserError
from evals.keys import REAL_PROVIDERS, OperatorKey
from evals.scenarios import load_suite, suite_names

if TYPE_CHECKING:
    from evals.tenant import TenantWiring

app = typer.Typer(
    help="Evaluate receptionists against scenario suites (simulator or a real provider).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

PROVIDER_CHOICES = ("simulator", *REAL_PROVIDERS)
KEY_VARIABLES = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"frontdesk eval: error: {message}", err=True)
    return typer.Exit(code=2)


def operator_key(provider: str, env: dict[str, str] | None = None) -> OperatorKey:
    """The operator's key for a real provider, from the environment (never from a file)."""
    env = dict(os.environ) if env is None else env
    names = ("FRONTDESK_EVAL_API_KEY", *KEY_VARIABLES[provider])
    for name in names:
        if env.get(name, "").strip():
            return OperatorKey(env[name].strip())
    raise UserError(f"the {provider} provider needs a key: set {' or '.join(names)}")


def _pct(value: float | None) -> str:
    return "   –" if value is None else f"{value * 100:4.0f}%"


def _why(scenario: dict[str, Any]) -> str:
    """Why a scenario failed, in one line: its trials' errors, else the checks that did not hold
    (names only: never a reply or a customer's words)."""
    errors = sorted({t["error"] for t in scenario["trials"] if t.get("error")})
    if errors:
        return "error " + "; ".join(errors)[:300]
    failing = sorted({c["name"] for t in scenario["trials"] for c in t["checks"] if not c["passed"]})
    return "checks failed: " + ", ".join(failing)


def print_summary(doc: dict[str, Any], report: Path, results: Path) -> None:
    """A short per-family summary on stdout."""
    s, k = doc["summary"], str(doc["k"])
    typer.echo(
        f"suite {doc['suite']} · provider {doc['provider']} ({doc['model']}) · k={k} · "
        f"{s['scenarios']} scenarios in {doc['duration_s']:.1f}s"
    )
    typer.echo(f"{'family':<15}{'passed':>9}{'pass^1':>8}{'pass^' + k:>8}  failing")
    for name, f in doc["families"].items():
        failing = [x["id"] for x in doc["scenarios"] if x["family"] == name and x["status"] == "failed"]
        passed = f"{f['passed']}/{f['scenarios'] - f['skipped']}"
        typer.echo(
            f"{name:<15}{passed:>9}{_pct(f['pass_hat_k'].get('1')):>8}"
            f"{_pct(f['pass_hat_k'].get(k)):>8}  {', '.join(failing)}"
        )
    passed = f"{s['passed']}/{s['scenarios'] - s['skipped']}"
    typer.echo(
        f"{'all':<15}{passed:>9}{_pct(s['pass_hat_k'].get('1')):>8}"
        f"{_pct(s['pass_hat_k'].get(k)):>8}  latency p50 {s['latency_p50_s']:.2f}s p95 {s['latency_p95_s']:.2f}s"
        f" · cost ${s['cost_usd']:.4f}"
    )
    if s["required_failed"]:
        typer.echo("REQUIRED FAILING: " + ", ".join(s["required_failed"]))
    for scenario in doc["scenarios"]:
        if scenario["status"] == "failed":
            typer.echo(f"  {scenario['id']}: {_why(scenario)}")
    typer.echo(f"results: {results}")
    typer.echo(f"report:  {report}")


def _unwired() -> TenantWiring:
    raise UserError("--tenant needs the deployment's database: run it as `frontdesk eval run`")


tenant_wiring: Callable[[], TenantWiring] = _unwired
"""How ``--tenant`` reaches the deployment (database, tracer, receptionist): the composition
root (``frontdesk.cli``) sets it."""


@app.command("run")
def run(
    suite: Annotated[
        str,
        typer.Option("--suite", help="Suite name (see `frontdesk eval list`) or a YAML file of scenarios."),
    ] = "smoke",
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            help="simulator|openai|anthropic|gemini; with --tenant: tenant (its own, the default) or simulator",
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            help="Run against this tenant's settings, knowledge base and provider, in sandbox "
            "conversations; records the results (GET /api/evals) and compares with its previous run.",
        ),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=32, help="Trials per scenario (pass^k).")] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default out/evals/SUITE).")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=32, help="Trials at once.")] = 2,
    model: Annotated[str | None, typer.Option("--model", help="Model for a real provider.")] = None,
    judge: Annotated[
        bool, typer.Option("--judge", help="Model-as-judge for groundedness (real providers).")
    ] = False,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", help="Only scenarios whose id starts so.")
    ] = None,
) -> None:
    """Run a suite and write DIR/results.json and DIR/report.html."""
    from evals.langfuse_export import export, project_from_env
    from evals.report import render
    from evals.runner import RunOptions, run_suite

    if tenant is not None:
        _run_for_tenant(tenant, suite, provider or "tenant", k, out, concurrency, scenario)
        return
    provider = provider or "simulator"
    try:
        if provider not in PROVIDER_CHOICES:
            raise UserError(f"unknown provider {provider!r}: choose one of {', '.join(PROVIDER_CHOICES)}")
        loaded = load_suite(suite)
        if scenario:
            loaded = loaded.select(scenario)
        key = operator_key(provider) if provider in REAL_PROVIDERS else None
    except UserError as exc:
        raise _fail(str(exc)) from None
    if judge and key is None:
        typer.echo("frontdesk eval: note: --judge needs a real provider; skipped", err=True)
    folder = _folder(out or Path("out") / "evals" / Path(suite).stem)
    options = RunOptions(
        provider=provider,
        k=k,
        concurrency=concurrency,
        key=key,
        model=model,
        judge=judge,
    )
    doc = _run_with_progress(run_suite, loaded, options)
    results, report = _write(doc, folder, render(doc))
    print_summary(doc, report, results)
    project = project_from_env()
    if project is not None:
        try:
            published = export(doc, loaded, project)
            typer.echo(
                f"langfuse: dataset {published.dataset}, experiment {published.run_name!r} ({published.items} items)"
            )
        except Exception as exc:
            typer.echo(f"frontdesk eval: warning: Langfuse export failed: {type(exc).__name__}", err=True)
    if doc["summary"]["required_failed"]:
        raise typer.Exit(code=1)


def _folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(f"cannot create {folder}: {exc.strerror}") from None
    return folder


def _write(doc: dict[str, Any], folder: Path, html: str) -> tuple[Path, Path]:
    results = folder / "results.json"
    report = folder / "report.html"
    results.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    report.write_text(html, encoding="utf-8")
    return results, report


def print_comparison(comparison: dict[str, Any]) -> None:
    """What changed since the tenant's previous run of the suite."""
    if comparison.get("previous_run") is None:
        typer.echo("compared with: no previous run of this suite for this tenant")
        return
    typer.echo(f"compared with run {comparison['previous_run']} ({comparison['previous_at']}):")
    for change in comparison["changed"]:
        word = "REGRESSION" if change["after"] == "failed" else "changed"
        typer.echo(f"  {word}: {change['scenario']} {change['before']} -> {change['after']}")
    for delta in comparison["deltas"]:
        typer.echo(
            f"  {delta['scenario']} {delta['metric']}: {delta['before']:.2f} -> {delta['after']:.2f}"
            f" ({delta['delta']:+.2f})"
        )
    if comparison["new"]:
        typer.echo("  new: " + ", ".join(comparison["new"]))
    if comparison["gone"]:
        typer.echo("  no longer run: " + ", ".join(comparison["gone"]))
    if not (comparison["changed"] or comparison["deltas"] or comparison["new"] or comparison["gone"]):
        typer.echo("  no change")


def _run_for_tenant(
    slug: str, suite: str, provider: str, k: int, out: Path | None, concurrency: int, ids: list[str] | None
) -> None:
    """``eval run --tenant``: sandboxes of a real tenant; results recorded and compared."""
    from evals.report import render
    from evals.runner import RunOptions, run_suite
    from evals.tenant import TenantTarget, compare, link_traces, previous_run, record_run

    try:
        if provider not in ("tenant", "simulator"):
            raise UserError("with --tenant, --provider is tenant (its own provider) or simulator")
        loaded = load_suite(suite)
        if ids:
            loaded = loaded.select(ids)
        target = TenantTarget.open(
            tenant_wiring(), slug, "simulator" if provider == "simulator" else "tenant"
        )
    except FrontdeskError as exc:
        raise _fail(str(exc)) from None
    folder = _folder(out or Path("out") / "evals" / f"{slug}-{Path(suite).stem}")
    options = RunOptions(
        provider="simulator" if provider == "simulator" else "tenant",
        k=k,
        concurrency=concurrency,
        target=target,
    )
    try:
        doc = _run_with_progress(run_suite, loaded, options)
    finally:
        erased = target.close()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc |= {"tenant": slug, "run_id": f"{suite}-{stamp}-{secrets.token_hex(3)}"}
    traced = link_traces(doc, target)
    doc["comparison"] = compare(previous_run(target.db, target.tenant_id, loaded.name), doc)
    rows = record_run(target.db, target.tenant_id, doc)
    results, report = _write(doc, folder, render(doc))
    print_summary(doc, report, results)
    print_comparison(doc["comparison"])
    typer.echo(
        f"run {doc['run_id']}: {rows} results recorded for tenant {slug} (GET /api/evals) · {traced} turn(s) traced · {erased} sandbox(es) erased"
    )
    if doc["summary"]["required_failed"]:
        raise typer.Exit(code=1)


def _run_with_progress(run_suite: Any, suite: Any, options: Any) -> dict[str, Any]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    total = len(suite.scenarios) * options.k
    with Progress(
        TextColumn("[bold]eval[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(suite.name, total=total)

        def advance(scenario_id: str, result: Any) -> None:
            bar.update(task, advance=1, description=f"{suite.name}: {scenario_id} {result.status}")

        return run_suite(suite, options, progress=advance)


@app.command("list")
def list_suites(
    suite: Annotated[str | None, typer.Option("--suite", help="Only this suite.")] = None,
) -> None:
    """Show the suites and their scenarios."""
    try:
        names = [suite] if suite else suite_names()
        for name in names:
            loaded = load_suite(name)
            typer.echo(f"{name} ({len(loaded.scenarios)} scenarios)")
            for s in loaded.scenarios:
                flag = "required" if s.required else ("known issue" if s.known_issue else "")
                typer.echo(f"  {s.id:<34} {s.family:<14} {flag:<12} {s.description}")
    except UserError as exc:
        raise _fail(str(exc)) from None


def main() -> None:  # pragma: no cover - `python -m evals.cli`
    app()
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
