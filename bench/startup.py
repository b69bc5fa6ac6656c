"""Start-up: what a command costs before it does any work, on the project template (`pds init`).

Why separate from the generated projects: the issue's start-up targets (`pds --version` and
`pds --help` under 0.15 s; `pds ls` and `pds show` on the template under 0.5 s) are about
imports and loading a small project, not about N. Each command runs `--startup-repeat` times
as its own process; the median is reported. `python -c pass` with the same interpreter is
the floor (interpreter start + site), and the peers' `--version` / `--help` are for reference.

    python bench/run.py --startup-only [--startup-repeat 7]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from measure import DBT_ENV, pds_command, remove
from suites import REPO, Bench

TEMPLATE_MODEL = "customer_orders"  # a SQL model of project_template/models/marts
SQLMESH_ENV = {"CI": "false"}

# (label, pds figure, target in seconds or None, dbt figure, SQLMesh figure)
ROWS: list[tuple[str, str, float | None, str | None, str | None]] = [
    ("`--version`", "pds.version", 0.15, "dbt.version", "sqlmesh.version"),
    ("`--help`", "pds.help", 0.15, "dbt.help", "sqlmesh.help"),
    ("`ls` on the template", "pds.ls", 0.5, None, None),
    (f"`show {TEMPLATE_MODEL}` on the template", "pds.show", 0.5, None, None),
    ("`python -c pass` (the interpreter alone: the floor)", "python.pass", None, None, None),
]


def bench_startup(projects: Path, repeat: int, timeout: float, verbose: bool, dbt: Path | None,
                  sqlmesh: Path | None) -> dict[str, Any]:
    """Set the template up once (init + build, not reported), then time each command `repeat` times."""
    root = projects / "startup"
    remove(root)
    root.mkdir(parents=True)
    project = root / "tpl"
    pds, env = pds_command(REPO)
    env = {**env, "PDS_CACHE_DIR": str(root / "pds-shared-cache")}  # the bench's own, never the user's
    b = Bench(root, timeout, verbose)
    print(f"\n== start-up on the template ({project}), {repeat} runs each", flush=True)
    for key, cmd, cwd in (("setup.init", [*pds, "init", "tpl"], root), ("setup.build", [*pds, "build"], project)):
        if not b.run(key, cmd, env, cwd=cwd).ok:
            print(f"  cannot set the template up: see {b.logs}", flush=True)
    for rep in range(repeat):
        b.run("pds.version", [*pds, "--version"], env, rep, cwd=project)
        b.run("pds.help", [*pds, "--help"], env, rep, cwd=project)
        b.run("pds.ls", [*pds, "ls"], env, rep, cwd=project)
        b.run("pds.show", [*pds, "show", TEMPLATE_MODEL], env, rep, cwd=project)
        b.run("python.pass", [sys.executable, "-c", "pass"], env, rep, cwd=project)
        if dbt is not None:
            b.run("dbt.version", [str(dbt), "--version"], DBT_ENV, rep, cwd=project)
            b.run("dbt.help", [str(dbt), "--help"], DBT_ENV, rep, cwd=project)
        if sqlmesh is not None:
            b.run("sqlmesh.version", [str(sqlmesh), "--version"], SQLMESH_ENV, rep, cwd=project)
            b.run("sqlmesh.help", [str(sqlmesh), "--help"], SQLMESH_ENV, rep, cwd=project)
    figures = {}
    for key, samples in b.samples.items():
        ok = [s for s in samples if s["returncode"] == 0]
        figures[key] = {"runs": len(samples), "ok": len(ok),
                        "errors": sorted({s["error"] for s in samples if s.get("error")})}
        if ok:
            for what in ("wall_s", "cpu_s", "maxrss_mb"):
                figures[key][what] = statistics.median(s[what] for s in ok)
            figures[key]["min_wall_s"] = min(s["wall_s"] for s in ok)
            others = [s["others_cpu_s"] for s in ok if s.get("others_cpu_s") is not None]
            if others:
                figures[key]["others_cpu_s"] = statistics.median(others)
    return {"suite": "startup", "repeat": repeat, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "figures": figures, "samples": b.samples}


def _cell(fig: dict[str, Any] | None) -> str:
    if not fig:
        return "-"
    if "wall_s" not in fig:
        return "failed"
    return f"{fig['wall_s']:.3f} s (min {fig['min_wall_s']:.3f}) · cpu {fig['cpu_s']:.2f} s · {fig['maxrss_mb']:.0f} MB"


def markdown(result: dict[str, Any]) -> str:
    """The start-up table with the issue's targets."""
    figures = result["figures"]
    lines = [f"#### Start-up on the template, median of {result['repeat']} runs (min in brackets)", "",
             "| command | pds | target | met | dbt-core | SQLMesh |", "|---|---|---|---|---|---|"]
    for label, key, goal, dbt_key, sqlmesh_key in ROWS:
        fig = figures.get(key, {})
        met = "-" if goal is None or "wall_s" not in fig else ("yes" if fig["wall_s"] < goal else "no")
        lines.append(f"| {label} | {_cell(fig)} | {f'< {goal} s' if goal else '-'} | {met} | "
                     f"{_cell(figures.get(dbt_key)) if dbt_key else '-'} | "
                     f"{_cell(figures.get(sqlmesh_key)) if sqlmesh_key else '-'} |")
    busy = [f"{k} ({f['others_cpu_s']:.2f} CPU-s)" for k, f in figures.items()
            if f.get("others_cpu_s") and f.get("wall_s") and f["others_cpu_s"] > 0.1 * f["wall_s"]]
    if busy:
        lines += ["", "Other processes' CPU during (median): " + ", ".join(busy) + "."]
    errs = [f"- `{k}`: {e[-300:]}" for k, f in figures.items() for e in f.get("errors", [])]
    return "\n".join(lines + (["", "Errors:", "", *errs] if errs else [])) + "\n"


def save(result: dict[str, Any], results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    path = results / f"{time.strftime('%Y%m%d-%H%M%S')}-startup.json"
    path.write_text(text)
    (results / "latest-startup.json").write_text(text)
    (results / "latest-startup.md").write_text(markdown(result))
    return path
