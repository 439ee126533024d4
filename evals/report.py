"""A self-contained HTML report from a results document: inline SVG charts, no script, no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

PASS, FAIL, SKIP, ERR = "#2e7d32", "#c62828", "#9e9e9e", "#ef6c00"
PALETTE = ("#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#f9a825", "#37474f")
STATUS_COLOR = {"passed": PASS, "failed": FAIL, "skipped": SKIP, "error": ERR}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1120px;color:#212121;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e0e0e0;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#757575}.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.card{border:1px solid #e0e0e0;border-radius:8px;padding:12px 14px;background:#fff}
.kpis{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}.kpi{border:1px solid #e0e0e0;border-radius:8px;padding:8px 14px;min-width:110px}
.kpi b{display:block;font-size:20px}.badge{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
th{font-weight:600;background:#fafafa}.fail{color:#c62828}.ok{color:#2e7d32}
.turn{margin:6px 0;padding:6px 10px;border-radius:6px;white-space:pre-wrap}.cust{background:#e3f2fd}.bot{background:#f1f8e9}
.meta{font-size:12px;color:#616161}details{margin:8px 0;border:1px solid #eee;border-radius:8px;padding:6px 12px}
summary{cursor:pointer;font-weight:600}.banner{padding:10px 14px;border-radius:8px;color:#fff;font-weight:600}
"""


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _badge(status: str) -> str:
    return f'<span class="badge" style="background:{STATUS_COLOR.get(status, SKIP)}">{escape(status)}</span>'


# --- charts ----------------------------------------------------------------------------------


def bar_chart(rows: Sequence[tuple[str, float | None, str]], width: int = 520) -> str:
    """Horizontal bars of rates in [0, 1]; each row is (label, rate, note)."""
    left, bar_h, gap = 130, 22, 8
    height = len(rows) * (bar_h + gap) + 30
    scale = width - left - 70
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for tick in (0, 0.5, 1):
        x = left + tick * scale
        parts.append(f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{height - 20}" stroke="#eee"/>')
        parts.append(
            f'<text x="{x:.0f}" y="{height - 6}" font-size="11" text-anchor="middle" fill="#757575">{tick:.0%}</text>'
        )
    for i, (label, rate, note) in enumerate(rows):
        y = i * (bar_h + gap) + 4
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(label)}</text>'
        )
        parts.append(f'<rect x="{left}" y="{y}" width="{scale:.0f}" height="{bar_h}" fill="#fbe9e7"/>')
        if rate is not None:
            color = PASS if rate >= 0.999 else (ERR if rate >= 0.5 else FAIL)
            parts.append(
                f'<rect x="{left}" y="{y}" width="{rate * scale:.1f}" height="{bar_h}" fill="{color}"/>'
            )
        parts.append(f'<text x="{left + scale + 6}" y="{y + 15}" font-size="12">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(series: dict[str, dict[int, float]], width: int = 520, height: int = 240) -> str:
    """pass^k against k, one line per series (rates in [0, 1])."""
    left, right, top, bottom = 40, 120, 10, 30
    ks = sorted({k for points in series.values() for k in points}) or [1]
    k_max = max(ks)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(k: int) -> float:
        return left + (0.5 if k_max == 1 else (k - 1) / (k_max - 1)) * plot_w

    def y(v: float) -> float:
        return top + (1 - v) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#eee"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" fill="#757575">{tick:.0%}</text>'
        )
    for k in ks:
        parts.append(
            f'<text x="{x(k):.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="#757575">k={k}</text>'
        )
    for i, (name, points) in enumerate(series.items()):
        color = "#212121" if name == "all" else PALETTE[i % len(PALETTE)]
        stroke = 3 if name == "all" else 1.5
        coords = [(x(k), y(v)) for k, v in sorted(points.items())]
        if len(coords) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="{stroke}"/>')
        for px, py in coords:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>')
        ly = top + 14 * i + 8
        parts.append(f'<rect x="{left + plot_w + 12}" y="{ly - 8}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{left + plot_w + 26}" y="{ly + 1}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: Sequence[float], unit: str, bins: int = 12, width: int = 520, height: int = 200) -> str:
    """A histogram of ``values`` with their p50 and p95 marked."""
    left, bottom, top = 36, 34, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    if not values:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#757575">no data</text></svg>'
        )
        return "".join(parts)
    low, high = min(values), max(values)
    span = (high - low) or (abs(high) or 1.0)
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / span * bins))] += 1
    peak = max(counts)
    bar_w = plot_w / bins
    for i, count in enumerate(counts):
        h = count / peak * plot_h
        parts.append(
            f'<rect x="{left + i * bar_w + 1:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="#1565c0"><title>{count}</title></rect>'
        )
    parts.append(
        f'<text x="{left - 4}" y="{top + 10}" font-size="11" text-anchor="end" fill="#757575">{peak}</text>'
    )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#bdbdbd"/>'
    )
    ordered = sorted(values)
    for label, q in (("p50", 0.5), ("p95", 0.95)):
        v = ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        px = left + (v - low) / span * plot_w
        parts.append(
            f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{top + plot_h}" stroke="#c62828" stroke-dasharray="4 3"/>'
        )
        anchor, tx = ("end", px - 3) if px > left + plot_w * 0.75 else ("start", px + 3)
        ty = top - 16 if label == "p50" else top - 4
        parts.append(
            f'<text x="{tx:.1f}" y="{ty}" font-size="11" text-anchor="{anchor}" fill="#c62828">{label} {_num(v, unit)}</text>'
        )
    parts.append(f'<text x="{left}" y="{height - 8}" font-size="11" fill="#757575">{_num(low, unit)}</text>')
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 8}" font-size="11" text-anchor="end" fill="#757575">{_num(high, unit)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:.5f}" if value < 0.01 else f"${value:.3f}"
    return f"{value:.2f}{unit}"


# --- sections --------------------------------------------------------------------------------


def _kpis(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    k = str(doc["k"])
    items = [
        ("scenarios", f"{s['passed']}/{s['scenarios'] - s['skipped']} passed"),
        ("pass^1", _fmt_pct(s["pass_hat_k"].get("1"))),
        *([(f"pass^{k}", _fmt_pct(s["pass_hat_k"].get(k)))] if k != "1" else []),
        ("required failing", str(len(s["required_failed"]))),
        ("latency p50 / p95", f"{s['latency_p50_s']:.2f}s / {s['latency_p95_s']:.2f}s"),
        ("cost", f"${s['cost_usd']:.4f}"),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><span class="muted">{escape(a)}</span><b>{escape(b)}</b></div>'
            for a, b in items
        )
        + "</div>"
    )


def _family_table(doc: dict[str, Any]) -> str:
    k = str(doc["k"])
    rows = [
        "<table><tr><th>family</th><th>scenario</th><th>status</th><th>trials passed</th>"
        f"<th>pass^{k}</th><th>latency</th><th>cost</th><th>why not</th></tr>"
    ]
    for family in doc["families"]:
        for s in (x for x in doc["scenarios"] if x["family"] == family):
            trials = [t for t in s["trials"] if t["status"] != "skipped"]
            latency = sum(t["latency_s"] for t in trials) / len(trials) if trials else 0.0
            cost = sum(t["cost_usd"] for t in trials) / len(trials) if trials else 0.0
            why = _first_failure(s)
            req = " <b title='required'>*</b>" if s["required"] else ""
            issue = (
                f"<div class='meta'>known issue: {escape(s['known_issue'])}</div>" if s["known_issue"] else ""
            )
            rows.append(
                f"<tr><td>{escape(family)}</td><td><a href='#{escape(s['id'])}'>{escape(s['id'])}</a>{req}"
                f"<div class='meta'>{escape(s['description'])}</div>{issue}</td><td>{_badge(s['status'])}</td>"
                f"<td>{s['passes']}/{s['n']}</td><td>{_fmt_pct(s['pass_hat'].get(k))}</td>"
                f"<td>{latency:.2f}s</td><td>${cost:.5f}</td><td class='fail'>{escape(why)}</td></tr>"
            )
    rows.append("</table><p class='meta'>* required: a failure makes the run fail.</p>")
    return "".join(rows)


def _first_failure(scenario: dict[str, Any]) -> str:
    for trial in scenario["trials"]:
        if trial["status"] == "error":
            return trial["error"] or "error"
        for check in trial["checks"]:
            if not check["passed"]:
                return f"{check['name']}: {check['detail']}"
    return ""


def _transcript(trial: dict[str, Any]) -> str:
    parts: list[str] = []
    for i, turn in enumerate(trial["turns"], 1):
        for text in turn["customer"]:
            parts.append(f'<div class="turn cust"><b>customer {i}:</b> {escape(text)}</div>')
        meta = [
            f"language {turn['language']}",
            f"{turn['latency_s']:.2f}s",
            f"${turn['cost_usd']:.5f}",
            f"{turn['model_calls']} model call(s)",
        ]
        if turn["tools"]:
            meta.append("tools: " + ", ".join(turn["tools"]))
        if turn["citations"]:
            meta.append("cites: " + "; ".join(turn["citations"]))
        if turn["handoff"]:
            meta.append(f"HANDOFF ({turn['handoff_reason']})")
        if turn["blocked"]:
            meta.append("guard: " + "; ".join(turn["blocked"]))
        parts.append(
            f'<div class="turn bot"><b>receptionist:</b> {escape(turn["reply"])}'
            f'<div class="meta">{escape(" · ".join(meta))}{_trace_link(turn)}</div></div>'
        )
    return "".join(parts)


def _trace_link(turn: dict[str, Any]) -> str:
    url, trace_id = turn.get("trace_url"), turn.get("trace_id")
    if url and str(url).startswith(("https://", "http://")):
        return f' · <a href="{escape(url)}">trace {escape(str(trace_id)[:12])}</a>'
    return f" · trace {escape(str(trace_id))}" if trace_id else ""


def _comparison(doc: dict[str, Any]) -> str:
    """The tenant run's changes since its previous run of the suite."""
    comparison = doc.get("comparison")
    if comparison is None:
        return ""
    if comparison.get("previous_run") is None:
        return "<h2>Compared with the previous run</h2><p class='muted'>No previous run of this suite for this tenant.</p>"
    rows = ["<table><tr><th>scenario</th><th>before</th><th>after</th><th>score changes</th></tr>"]
    moved: dict[str, list[str]] = {}
    for d in comparison["deltas"]:
        moved.setdefault(d["scenario"], []).append(
            f"{d['metric']} {d['before']:.2f} → {d['after']:.2f} ({d['delta']:+.2f})"
        )
    changed = {c["scenario"]: c for c in comparison["changed"]}
    for scenario in sorted(set(changed) | set(moved)):
        c = changed.get(scenario)
        cls = " class='fail'" if c and c["after"] == "failed" else ""
        before = _badge(c["before"]) if c else ""
        after = _badge(c["after"]) if c else "unchanged"
        rows.append(
            f"<tr{cls}><td><a href='#{escape(scenario)}'>{escape(scenario)}</a></td><td>{before}</td>"
            f"<td>{after}</td><td>{escape('; '.join(moved.get(scenario, [])))}</td></tr>"
        )
    rows.append("</table>")
    extra = [f"new: {', '.join(comparison['new'])}"] if comparison["new"] else []
    extra += [f"no longer run: {', '.join(comparison['gone'])}"] if comparison["gone"] else []
    summary = (
        f"<p class='muted'>run {escape(doc.get('run_id', ''))} against run {escape(comparison['previous_run'])} "
        f"({escape(comparison['previous_at'])}) · {len(comparison['regressions'])} regression(s), "
        f"{len(comparison['fixed'])} fixed{''.join(' · ' + escape(e) for e in extra)}</p>"
    )
    body = "".join(rows) if len(rows) > 2 else "<p class='ok'>No scenario changed.</p>"
    return "<h2>Compared with the previous run</h2>" + summary + body


def _checks(trial: dict[str, Any]) -> str:
    rows = ["<table><tr><th></th><th>check</th><th>detail</th></tr>"]
    for c in sorted(trial["checks"], key=lambda c: c["passed"]):
        mark = "<span class='ok'>✔</span>" if c["passed"] else "<span class='fail'>✘</span>"
        rows.append(f"<tr><td>{mark}</td><td>{escape(c['name'])}</td><td>{escape(c['detail'])}</td></tr>")
    return "".join(rows) + "</table>"


def _details(doc: dict[str, Any]) -> str:
    parts: list[str] = []
    failing = [s for s in doc["scenarios"] if s["status"] == "failed"]
    others = [s for s in doc["scenarios"] if s["status"] != "failed"]
    parts.append("<h2>Failures</h2>" + ("" if failing else "<p class='ok'>No scenario failed.</p>"))
    for s in failing:
        parts.append(_scenario_block(s, open_=True))
    parts.append("<h2>All scenarios</h2>")
    for s in others:
        parts.append(_scenario_block(s, open_=False))
    return "".join(parts)


def _scenario_block(s: dict[str, Any], *, open_: bool) -> str:
    body = [f"<p class='meta'>{escape(s['family'])} · {escape(s['description'])}</p>"]
    if s["known_issue"]:
        body.append(f"<p class='fail'>Known issue: {escape(s['known_issue'])}</p>")
    trials = s["trials"] if open_ else s["trials"][:1]
    for t in trials:
        if open_ and t["status"] == "passed":
            continue
        body.append(f"<h3>trial {t['trial']} {_badge(t['status'])}</h3>")
        if t["error"]:
            body.append(f"<p class='fail'>{escape(t['error'])}</p>")
        for note in t["notes"]:
            body.append(f"<p class='meta'>{escape(note)}</p>")
        body.append(_transcript(t))
        if t["checks"]:
            body.append(_checks(t))
    return (
        f"<details id='{escape(s['id'])}'{' open' if open_ else ''}><summary>{escape(s['id'])} "
        f"{_badge(s['status'])} <span class='muted'>{s['passes']}/{s['n']} trials</span></summary>{''.join(body)}</details>"
    )


def render(doc: dict[str, Any]) -> str:
    """The report for a results document (``evals.runner.run_suite``)."""
    s = doc["summary"]
    ok = not s["required_failed"]
    banner_text = (
        "All required scenarios passed"
        if ok
        else "Required scenarios failing: " + ", ".join(s["required_failed"])
    )
    family_rows = [
        (
            name,
            f["pass_rate"],
            f"{f['passed']}/{f['scenarios'] - f['skipped']}"
            + (f" ({f['skipped']} skipped)" if f["skipped"] else ""),
        )
        for name, f in doc["families"].items()
    ]
    curves: dict[str, dict[int, float]] = {"all": {int(k): v for k, v in s["pass_hat_k"].items()}}
    for name, f in doc["families"].items():
        curves[name] = {int(k): v for k, v in f["pass_hat_k"].items()}
    trials = [t for x in doc["scenarios"] for t in x["trials"] if t["status"] != "skipped"]
    title = f"Frontdesk eval · {doc['suite']} · {doc['provider']}" + (
        f" · tenant {doc['tenant']}" if doc.get("tenant") else ""
    )
    return "".join(
        [
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
            f"<style>{CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            f"<p class='muted'>model {escape(doc['model'])} · k={doc['k']} · started {escape(doc['started_at'])} · "
            f"{doc['duration_s']:.1f}s · {s['errors']} error(s)</p>",
            f"<div class='banner' style='background:{PASS if ok else FAIL}'>{escape(banner_text)}</div>",
            _kpis(doc),
            _comparison(doc),
            "<div class='grid'>",
            f"<div class='card'><h3>Pass rate per family (all {doc['k']} trials passed)</h3>{bar_chart(family_rows)}</div>",
            f"<div class='card'><h3>pass^k (τ-bench estimator)</h3>{line_chart(curves)}</div>",
            f"<div class='card'><h3>Latency per trial (receptionist turns)</h3>{histogram([t['latency_s'] for t in trials], 's')}</div>",
            f"<div class='card'><h3>Cost per trial</h3>{histogram([t['cost_usd'] for t in trials], '$')}</div>",
            "</div>",
            "<h2>Scenarios by family</h2>",
            _family_table(doc),
            _details(doc),
            "</body></html>",
        ]
    )
