"""Summaries of benchmark samples: medians, the side-by-side table, ratios and the issue's targets.

Why separate: the same numbers go to the terminal (rich when installed), to JSON in
bench/results/ and to a Markdown table for docs/performance.md, and all three must agree.
"""

from __future__ import annotations

import statistics
from typing import Any

# (label, pds figure, dbt figure, SQLMesh figure, raw figure); a figure is "tool.step"
ROWS: list[tuple[str, str | None, str | None, str | None, str | None]] = [
    ("compile, cold (dbt: parse --no-partial-parse; SQLMesh: info, no .cache)",
     "pds.compile_cold", "dbt.parse_cold", "sqlmesh.load_cold", None),
    ("compile, warm (dbt: parse, partial parse; SQLMesh: info, .cache)",
     "pds.compile_warm", "dbt.parse_warm", "sqlmesh.load_warm", None),
    ("compile, new checkout: no target/, shared cache warm (dbt: parse --no-partial-parse)",
     "pds.compile_checkout", "dbt.parse_cold", None, None),
    ("all SQL rendered (dbt compile --threads 4; SQLMesh plan --explain)", None, "dbt.compile",
     "sqlmesh.plan_explain", None),
    ("build --threads 1 (SQLMesh: plan --auto-apply, 1 task)", "pds.build_t1", "dbt.build_t1", "sqlmesh.build_t1",
     "raw.t1"),
    ("build --threads 4 (SQLMesh: 4 concurrent tasks)", "pds.build_t4", "dbt.build_t4", "sqlmesh.build_t4",
     "raw.t4"),
    ("raw on SQLMesh's DuckDB (1.5), 1 / 4 threads", None, None, "raw.sqlmesh_engine_t1", "raw.sqlmesh_engine_t4"),
    ("re-build, nothing changed (state:modified+ --skip-unchanged; SQLMesh: plan)", "pds.rebuild_unchanged", None,
     "sqlmesh.rebuild_unchanged", None),
    ("re-build, one middle model changed (same commands)", "pds.rebuild_one_changed", None,
     "sqlmesh.rebuild_one_changed", None),
    ("docs generate", "pds.docs_generate", None, None, None),
]


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median wall/CPU/peak memory over the successful runs, plus every error seen."""
    ok = [s for s in samples if s["returncode"] == 0]
    summary: dict[str, Any] = {"runs": len(samples), "ok": len(ok),
                               "errors": sorted({s["error"] for s in samples if s.get("error")})}
    if ok:
        for key in ("wall_s", "cpu_s", "maxrss_mb"):
            summary[key] = statistics.median(s[key] for s in ok)
        others = [s["others_cpu_s"] for s in ok if s.get("others_cpu_s") is not None]
        if others:
            summary["others_cpu_s"] = statistics.median(others)
        for key in ("sql_s", "tool_elapsed_s"):
            values = [s["extra"][key] for s in ok if (s.get("extra") or {}).get(key) is not None]
            if values:
                summary[key] = statistics.median(values)
        runs = [s["extra"]["nodes_run"] for s in ok if isinstance((s.get("extra") or {}).get("nodes_run"), dict)]
        if runs:
            summary["nodes_run"] = runs[-1]
        for key in ("per_node", "state_intervals_added", "failing_rows", "audits_failed"):
            values = [s["extra"][key] for s in ok if (s.get("extra") or {}).get(key) is not None]
            if values:
                summary[key] = values[-1]
    return summary


def ratio(figures: dict[str, dict[str, Any]], a: str | None, b: str | None, what: str = "wall_s") -> float | None:
    """wall(a) / wall(b) (or another measure) when both ran."""
    if not a or not b:
        return None
    wa, wb = figures.get(a, {}).get(what), figures.get(b, {}).get(what)
    return wa / wb if wa is not None and wb else None


def targets(figures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and met / missed (None: not measured)."""
    def wall(key: str) -> float | None:
        return figures.get(key, {}).get("wall_s")

    def check(goal: str, value: float | None, ok: bool | None, shown: str) -> dict[str, Any]:
        return {"target": goal, "value": value, "met": ok, "shown": shown if value is not None else "not measured"}

    out = []
    r = ratio(figures, "dbt.parse_cold", "pds.compile_cold")
    out.append(check("cold compile >= 10x faster than dbt parse", r, r is not None and r >= 10,
                     f"{r:.1f}x faster" if r else ""))
    r = ratio(figures, "dbt.parse_cold", "pds.compile_checkout")
    out.append(check("new checkout's compile (shared cache warm) >= 10x faster than dbt parse", r,
                     r is not None and r >= 10, f"{r:.1f}x faster" if r else ""))
    w = wall("pds.compile_warm")
    out.append(check("warm compile < 1 s (target set for 5,000 models)", w, w is not None and w < 1,
                     f"{w:.2f} s" if w is not None else ""))
    for t in ("1", "4"):
        r = ratio(figures, f"pds.build_t{t}", f"raw.t{t}")
        out.append(check(f"build --threads {t} within 1.2x of raw DuckDB", r, r is not None and r <= 1.2,
                         f"{r:.2f}x raw" if r else ""))
        r = ratio(figures, f"dbt.build_t{t}", f"pds.build_t{t}")
        out.append(check(f"build --threads {t} >= 3x faster than dbt build", r, r is not None and r >= 3,
                         f"{r:.1f}x faster" if r else ""))
    for t in ("1", "4"):  # issue 17, goal 4: per-node overhead; goal 5: memory
        pds, raw = figures.get(f"pds.build_t{t}", {}), figures.get(f"raw.t{t}", {})
        nodes = sum((pds.get("nodes_run") or {}).values()) if isinstance(pds.get("nodes_run"), dict) else 0
        over = (pds["wall_s"] - raw["wall_s"]) / nodes * 1000 if nodes and "wall_s" in pds and "wall_s" in raw \
            else None
        out.append(check(f"per-node overhead < 1 ms ((pds - raw) wall / nodes, --threads {t})", over,
                         over is not None and over < 1, f"{over:.1f} ms per node ({nodes} nodes)"
                         if over is not None else ""))
        # the same, less what a build costs pds before and after its nodes (start-up, warm compile, plan,
        # catalog, records): a re-build that runs nothing is that cost
        fixed = figures.get("pds.rebuild_unchanged", {}).get("wall_s")
        net = over - 1000 * fixed / nodes if over is not None and fixed is not None else None
        out.append(check(f"per-node overhead < 1 ms, fixed cost apart ((pds - raw - no-change re-build) wall / "
                         f"nodes, --threads {t})", net, net is not None and net < 1,
                         f"{net:.2f} ms per node (fixed cost {fixed:.2f} s)" if net is not None else ""))
        extra = pds["maxrss_mb"] - raw["maxrss_mb"] if "maxrss_mb" in pds and "maxrss_mb" in raw else None
        out.append(check(f"peak RSS of build --threads {t} <= raw's + 100 MB", extra,
                         extra is not None and extra <= 100,
                         f"{pds.get('maxrss_mb', 0):.0f} MB vs {raw.get('maxrss_mb', 0):.0f} MB ({extra:+.0f} MB)"
                         if extra is not None else ""))
    r = ratio(figures, "pds.rebuild_unchanged", "pds.build_t4")
    out.append(check("re-build with nothing changed < 10% of full build (--threads 4)", r,
                     r is not None and r < 0.10, f"{r:.0%} of full build" if r else ""))
    return out


def cell(fig: dict[str, Any] | None) -> str:
    if not fig:
        return "-"
    if "wall_s" not in fig:
        return "failed"
    text = f"{fig['wall_s']:.2f} s | cpu {fig['cpu_s']:.1f} s | {fig['maxrss_mb']:.0f} MB"
    if "sql_s" in fig:
        text += f" | SQL alone {fig['sql_s']:.2f} s"
    return text + (f" ({fig['ok']}/{fig['runs']} ok)" if fig["ok"] < fig["runs"] else "")


def nodes_note(figures: dict[str, dict[str, Any]]) -> str:
    """What each build actually ran, e.g. `pds.build_t1: model=104; dbt.build_t1: model=104 test=64`."""
    parts = []
    for key, fig in figures.items():
        if isinstance(fig.get("nodes_run"), dict):
            counts = " ".join(f"{k}={v}" for k, v in sorted(fig["nodes_run"].items())) or "none"
            if fig.get("state_intervals_added") is not None:
                counts += f" (state: {fig['state_intervals_added']} intervals)"
            if fig.get("failing_rows"):
                counts += f" ({fig['failing_rows']} failing rows)"
            parts.append(f"{key}: {counts}")
    return "; ".join(parts)


def noise_note(figures: dict[str, dict[str, Any]]) -> str:
    """Figures during which other processes used more than 10% of a core: take those with care."""
    busy = [f"{k} ({f['others_cpu_s']:.1f} CPU-s by others)" for k, f in figures.items()
            if f.get("others_cpu_s") is not None and f.get("wall_s") and f["others_cpu_s"] > 0.1 * f["wall_s"]]
    return ("machine not quiet during: " + ", ".join(busy)) if busy else ""


def fmt_ratio(figures: dict[str, dict[str, Any]], a: str | None, b: str | None) -> str:
    """Wall-time ratio, with the CPU-time ratio beside it (steadier when the machine is shared)."""
    r, c = ratio(figures, a, b), ratio(figures, a, b, "cpu_s")
    if r is None:
        return "-"
    return f"{r:.2f}x" + (f" (cpu {c:.2f}x)" if c is not None else "")


def table_rows(figures: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for label, p, d, m, r in ROWS:
        if not any(k in figures for k in (p, d, m, r) if k):
            continue
        rows.append([label, *(cell(figures.get(k)) if k else "" for k in (p, d, m, r)),
                     fmt_ratio(figures, p, d), fmt_ratio(figures, p, m), fmt_ratio(figures, p, r)])
    return rows


HEADER = ["figure (median wall | CPU | peak RSS)", "pds", "dbt-core", "SQLMesh", "raw DuckDB", "pds/dbt",
          "pds/SQLMesh", "pds/raw"]


def peer_engine_note(figures: dict[str, dict[str, Any]]) -> str:
    """SQLMesh runs on DuckDB 1.5 (it pins duckdb<2): its builds against the floor on that engine."""
    parts = [f"t{t} {fmt_ratio(figures, f'sqlmesh.build_t{t}', f'raw.sqlmesh_engine_t{t}')}" for t in ("1", "4")
             if ratio(figures, f"sqlmesh.build_t{t}", f"raw.sqlmesh_engine_t{t}") is not None]
    return ("SQLMesh build / raw on SQLMesh's own DuckDB: " + ", ".join(parts)) if parts else ""


def markdown(result: dict[str, Any]) -> str:
    """The table, targets and errors as Markdown (for docs/performance.md)."""
    figures = result["figures"]
    lines = [f"#### N = {result['n']} models (+4 raw tables), {result.get('suite', 'full')} suite, median of "
             f"{result['repeat']} run(s)", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "·") for c in row) + " |" for row in table_rows(figures)]
    if nodes_note(figures):
        lines += ["", f"Nodes run by each build: {nodes_note(figures)}."]
    if peer_engine_note(figures):
        lines += ["", f"{peer_engine_note(figures)}."]
    if noise_note(figures):
        lines += ["", f"Note: {noise_note(figures)}."]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for t in result["targets"]:
        met = "n/a" if t["value"] is None else ("yes" if t["met"] else "no")
        lines.append(f"| {t['target']} | {t['shown']} | {met} |")
    errs = [(k, e) for k, f in figures.items() for e in f.get("errors", [])]
    if errs:
        lines += ["", "Errors:", ""] + [f"- `{k}`: {e[-300:]}" for k, e in errs]
    return "\n".join(lines) + "\n"


# what must grow linearly with N (issue 17, goal 6), and the warm compile of goal 3
GROWTH = [("compile, cold", "pds.compile_cold"), ("compile, warm", "pds.compile_warm"),
          ("compile, new checkout", "pds.compile_checkout"),
          ("build --threads 4", "pds.build_t4"), ("re-build, nothing changed", "pds.rebuild_unchanged"),
          ("re-build, one middle model changed", "pds.rebuild_one_changed"), ("docs generate", "pds.docs_generate"),
          ("dbt parse, cold", "dbt.parse_cold"), ("SQLMesh info, cold", "sqlmesh.load_cold")]


def growth_markdown(results: list[dict[str, Any]]) -> str:
    """One row per figure, one column per N: wall and CPU seconds, ms per model (flat ms per model = linear)."""
    results = sorted(results, key=lambda r: r["n"])
    lines = ["| figure | " + " | ".join(f"N = {r['n']:,}" for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for label, key in GROWTH:
        cells = []
        for r in results:
            fig = r["figures"].get(key, {})
            models = r["project"].get("models") or r["n"]
            cells.append(f"{fig['wall_s']:.2f} s ({1000 * fig['wall_s'] / models:.2f} ms/model) · cpu "
                         f"{fig['cpu_s']:.1f} s ({1000 * fig['cpu_s'] / models:.2f}) · {fig['maxrss_mb']:.0f} MB"
                         if "wall_s" in fig else "-")
        if any(c != "-" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    extra = [f"N = {r['n']:,}: rebuilt {' '.join(f'{k}={v}' for k, v in n.items())}" for r in results
             if isinstance(n := r["figures"].get("pds.rebuild_one_changed", {}).get("nodes_run"), dict)]
    return "\n".join(lines + (["", "Re-build after one change ran: " + "; ".join(extra) + "."] if extra else [])) \
        + "\n"


def print_report(result: dict[str, Any]) -> None:
    """One table per N on the terminal: rich if available, plain text otherwise."""
    figures = result["figures"]
    title = (f"N = {result['n']} models (+4 raw), {result.get('suite', 'full')} suite, median of "
             f"{result['repeat']} run(s); raw = models' and tests' compiled SQL in one DuckDB process")
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        print(f"\n{title}")
        widths = [max(len(r[i]) for r in [HEADER, *table_rows(figures)]) for i in range(len(HEADER))]
        for row in [HEADER, *table_rows(figures)]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        for note in (nodes_note(figures), peer_engine_note(figures), noise_note(figures)):
            if note:
                print(f"  {note}")
        for t in result["targets"]:
            print(f"  target: {t['target']}: {t['shown']}" + ("" if t["value"] is None else
                                                               (" (met)" if t["met"] else " (missed)")))
        for key, f in figures.items():
            for e in f.get("errors", []):
                print(f"  error in {key}: {e[-300:]}")
        return
    console = Console(width=max(160, Console().width))
    table = Table(title=title, show_lines=True)
    for h in HEADER:
        table.add_column(h, overflow="fold")
    for row in table_rows(figures):
        table.add_row(*(escape(c) for c in row))
    console.print(table)
    for note in (f"nodes run: {nodes_note(figures)}" if nodes_note(figures) else "", peer_engine_note(figures),
                 noise_note(figures)):
        if note:
            console.print(f"  {escape(note)}", highlight=False)
    for t in result["targets"]:
        mark = "[dim]n/a[/dim]" if t["value"] is None else ("[green]met[/green]" if t["met"] else "[red]missed[/red]")
        console.print(f"  target: {escape(t['target'])}: {escape(t['shown'])} {mark}")
    for key, f in figures.items():
        for e in f.get("errors", []):
            console.print(f"  [red]error in {key}[/red]: {escape(e[-300:])}", highlight=False)


def main(argv: list[str] | None = None) -> None:
    """Re-render saved results: python bench/report.py bench/results/latest-n100.json [...] [--growth]."""
    import argparse
    import json
    from pathlib import Path

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("results", type=Path, nargs="+")
    ap.add_argument("--markdown", action="store_true", help="print Markdown instead of the terminal table")
    ap.add_argument("--growth", action="store_true", help="one table of pds's figures across the given N")
    args = ap.parse_args(argv)
    if args.growth:
        loaded = []
        for path in args.results:
            result = json.loads(path.read_text())
            result["figures"] = {k: summarize(v) for k, v in result["samples"].items()}
            loaded.append(result)
        print(growth_markdown(loaded))
        return
    for path in args.results:
        result = json.loads(path.read_text())
        result["figures"] = {k: summarize(v) for k, v in result["samples"].items()}
        result["targets"] = targets(result["figures"])
        if args.markdown:
            print(markdown(result))
        else:
            print_report(result)


if __name__ == "__main__":
    main()
