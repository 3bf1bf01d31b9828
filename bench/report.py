"""Turn the runs into medians, ratios, a Markdown table, a JSON file and a PNG chart.

Ratios are taken run by run (the gateway's run k against the reference's run k, measured minutes
apart at most, in the same repetition) and then their median is reported.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

Row = dict[str, Any]
_MEDIAN_FIELDS = (
    "rps",
    "p50_ms",
    "p99_ms",
    "errors",
    "proxy_cpu_us",
    "upstream_cpu_us",
    "pg_lookups",
)
TARGET_ORDER = {"direct": 0, "floor": 1, "bare": 2, "gateway": 3}
SCENARIO_ORDER = {
    "valid": 0,
    "signed": 1,
    "signed-nodedup": 1.5,
    "unknown": 2,
    "cold": 3,
    "revoke": 4,
    "malformed": 5,
}


def summarize(runs: list[Row]) -> list[Row]:
    groups: dict[tuple[int, str, str], list[Row]] = defaultdict(list)
    for run in runs:
        groups[(run["workers"], run["target"], run["scenario"])].append(run)
    index = {(r["workers"], r["target"], r["scenario"], r["run"]): r for r in runs}
    rows = []
    for (workers, target, scenario), group in groups.items():
        row: Row = {"workers": workers, "target": target, "scenario": scenario, "runs": len(group)}
        for name in _MEDIAN_FIELDS:
            row[name] = _median([r.get(name) for r in group])
        row["pg_bound"] = group[0].get("pg_bound")
        row["distinct_keys"] = group[0].get("distinct_keys")
        ref = scenario if (workers, "bare", scenario, group[0]["run"]) in index else "valid"
        row["x_direct_rps"] = _ratio(group, index, ("direct", "valid"), "rps")
        if target == "gateway":
            row["x_bare_rps"] = _ratio(group, index, ("bare", ref), "rps")
            row["x_bare_p99"] = _ratio(group, index, ("bare", ref), "p99_ms")
            row["x_bare_cpu"] = _ratio(group, index, ("bare", ref), "proxy_cpu_us")
        rows.append(row)
    rows.sort(
        key=lambda r: (
            r["workers"],
            SCENARIO_ORDER.get(r["scenario"], 9),
            TARGET_ORDER.get(r["target"], 9),
        )
    )
    return rows


def _median(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _ratio(
    group: list[Row], index: dict[tuple[Any, ...], Row], ref: tuple[str, str], field: str
) -> float | None:
    ratios = []
    for run in group:
        other = index.get((run["workers"], *ref, run["run"]))
        if other and run.get(field) is not None and other.get(field):
            ratios.append(run[field] / other[field])
    return round(statistics.median(ratios), 3) if ratios else None


def targets_check(rows: list[Row]) -> list[str]:
    """The issue's targets, each with its measured figure and PASS/FAIL."""
    by = {(r["workers"], r["target"], r["scenario"]): r for r in rows}
    lines = []
    for workers in sorted({r["workers"] for r in rows}):
        gw = by.get((workers, "gateway", "valid"))
        unknown = by.get((workers, "gateway", "unknown"))
        cold = by.get((workers, "gateway", "cold"))
        if gw and gw.get("x_bare_rps") is not None:
            rps, p99 = gw["x_bare_rps"], gw["x_bare_p99"]
            lines.append(_check(f"{workers}w gateway/bare throughput >= 0.9", rps >= 0.9, rps))
            lines.append(_check(f"{workers}w gateway/bare p99 <= 1.2", p99 <= 1.2, p99))
        if gw and unknown:
            ratio = round(unknown["rps"] / gw["rps"], 3) if gw["rps"] else 0.0
            label = f"{workers}w unknown-key req/s >= valid-key req/s"
            lines.append(_check(label, ratio >= 1.0, ratio))
        for row, what in ((unknown, "unknown keys"), (cold, "cold start")):
            if row and row.get("pg_lookups") is not None and row.get("pg_bound") is not None:
                label = (
                    f"{workers}w {what}: PostgreSQL lookups <= {row['pg_bound']} "
                    f"({row['distinct_keys']} distinct keys)"
                )
                lines.append(_check(label, row["pg_lookups"] <= row["pg_bound"], row["pg_lookups"]))
    return lines


def propagation_lines(p: dict[str, Any] | None) -> list[str]:
    """Scenario 4's figure from bench/revocation.py, against SPEC §4's 100 ms p99 bound."""
    if not p:
        return []
    if "error" in p:
        return [f"- FAIL revocation propagation could not be measured: {p['error']}"]
    every, after = p["every_process"], p["every_process_after_200"]
    label = (
        f"revoked key rejected by all {p['processes']} processes within 100 ms p99 "
        f"(from sending the DELETE, {p['revocations']} revocations)"
    )
    figure = f"p50 {every['p50_ms']} ms, p99 {every['p99_ms']} ms, max {every['max_ms']} ms"
    ok = every["p99_ms"] <= 100 and p["never_rejected"] == 0
    return [
        _check(label, ok, figure),
        f"  - after the DELETE's 200: p50 {after['p50_ms']} ms, p99 {after['p99_ms']} ms; "
        f"the DELETE took p50 {p['revoke_call']['p50_ms']} ms; never rejected: "
        f"{p['never_rejected']}",
    ]


def _check(label: str, ok: bool, value: Any) -> str:
    return f"- {'PASS' if ok else 'FAIL'} {label}: {value}"


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    head = (
        "| workers | scenario | target | req/s | p50 ms | p99 ms | errors | proxy CPU µs/req "
        "| upstream CPU µs/req | xdirect req/s | xbare req/s | xbare p99 | xbare CPU "
        "| PG lookups / bound |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in rows:
        pg = "" if r.get("pg_lookups") is None else _fmt(r["pg_lookups"], 0)
        if pg and r.get("pg_bound") is not None:
            pg += f" / {r['pg_bound']}"
        cells = [
            str(r["workers"]),
            r["scenario"],
            r["target"],
            _fmt(r["rps"], 0),
            _fmt(r["p50_ms"], 2),
            _fmt(r["p99_ms"], 2),
            _fmt(r["errors"], 0),
            _fmt(r["proxy_cpu_us"], 0),
            _fmt(r["upstream_cpu_us"], 0),
            _fmt(r.get("x_direct_rps"), 2),
            _fmt(r.get("x_bare_rps"), 2),
            _fmt(r.get("x_bare_p99"), 2),
            _fmt(r.get("x_bare_cpu"), 2),
            pg,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    opts = meta.get("options", {})
    lines += [
        "",
        f"Medians of {opts.get('runs')} run(s) of {opts.get('duration')} s each, "
        f"{opts.get('connections')} keep-alive connections, load generator: {meta.get('tool')}; "
        f"wall time {meta.get('wall_seconds')} s.",
        "",
        *targets_check(rows),
        *propagation_lines(meta.get("revocation_propagation")),
    ]
    return "\n".join(lines) + "\n"


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if digits == 0 else f"{value:.{digits}f}"


def write_json(path: Path, result: dict[str, Any], rows: list[Row]) -> None:
    path.write_text(json.dumps({**result, "summary": rows}, indent=2, default=str) + "\n")


def chart(path: Path, rows: list[Row]) -> None:
    """Throughput and p99 panels; a bar group per scenario/target, a bar per worker count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(f"{r['scenario']}\n{r['target']}" for r in rows))
    workers = sorted({r["workers"] for r in rows})
    by = {(f"{r['scenario']}\n{r['target']}", r["workers"]): r for r in rows}
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(labels) + 2), 8), sharex=True)
    width = 0.8 / len(workers)
    for ax, field, title in (
        (axes[0], "rps", "throughput (req/s, higher is better)"),
        (axes[1], "p99_ms", "p99 latency (ms, lower is better)"),
    ):
        for i, w in enumerate(workers):
            xs = [j + (i - (len(workers) - 1) / 2) * width for j in range(len(labels))]
            values = [(by.get((label, w)) or {}).get(field) or 0 for label in labels]
            bars = ax.bar(xs, values, width, label=f"{w} worker{'s' if w > 1 else ''}")
            ax.bar_label(bars, fmt="%.0f" if field == "rps" else "%.1f", fontsize=7)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    axes[1].set_xticks(range(len(labels)), labels, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(out_dir: Path, result: dict[str, Any]) -> tuple[str, list[Path]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize(result["runs"])
    table = markdown(rows, result["meta"])
    paths = [out_dir / "results.md", out_dir / "results.json", out_dir / "results.png"]
    paths[0].write_text(table)
    write_json(paths[1], result, rows)
    chart(paths[2], rows)
    return table, paths
