"""SQLMesh as the second peer: the generated project written as native SQLMesh models, and its figures.

Why native models and not SQLMesh's dbt loader: SQLMesh reads dbt projects through a
compatibility layer that emulates dbt's Jinja context (and needs dbt-core in its venv); that
measures the emulation, not SQLMesh as its users write it. The generated models use only
`ref()` and `config()`, so the translation is exact: the very same SQL text, each
`{{ ref('x') }}` replaced by `main.x`, the `config()` line turned into `kind FULL` or `kind VIEW`,
and the schema tests (`not_null`, `unique` on `id`) turned into SQLMesh's built-in audits
`not_null` and `unique_values`, which run the same kind of query after each model is built.

What each SQLMesh command does (see docs/performance.md for how it compares):
- `sqlmesh info`: loads the project: parses every model and renders + optimizes its query
  (qualify, type annotation; cached in `.cache/`), connects to the warehouse.
- `sqlmesh plan --explain`: also fingerprints every model and diffs against the state.
- `sqlmesh plan --auto-apply`: the full build: creates one physical table or view per model
  (`sqlmesh__main.*`), evaluates them in DAG order, runs the audits, records intervals in its
  state (in the same DuckDB file) and points one view per model at it (the virtual layer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from suites import Bench

SUBDIR = "sqlmesh"
DB_NAME = "bench.duckdb"  # so the default catalog is "bench", as for pds and dbt
# SQLMesh picks its console from the environment (CI=true gives Markdown): keep the terminal one, wide,
# so that one line per evaluated model can be counted
ENV = {"CI": "false", "COLUMNS": "200", "TERM": "dumb"}

_CONFIG = re.compile(r"\{\{\s*config\(materialized='(table|view)'\)\s*\}\}\s*\n*")
_REF = re.compile(r"\{\{\s*ref\('([A-Za-z0-9_]+)'\)\s*\}\}")
# "[1/1] main.l01_m00001   [full refresh, audits passed 2]   0.13s"
_EVALUATED = re.compile(r"^\[\d+/\d+\]\s+(\S+)\s+\\?\[([^\]]*)\]", re.MULTILINE)
_AUDITS = re.compile(r"audits(?: passed (\d+))?(?: failed (\d+))?")


def config_yaml() -> str:
    """Two gateways on the same file: t1 and t4 differ only in concurrent_tasks (SQLMesh's threads)."""
    gateways = "".join(f"  t{n}:\n    connection:\n      type: duckdb\n      database: {DB_NAME}\n"
                       f"      concurrent_tasks: {n}\n" for n in (1, 4))
    return (f"gateways:\n{gateways}default_gateway: t1\n"
            "model_defaults:\n  dialect: duckdb\n"
            "disable_anonymized_analytics: true\n")  # no internet here, like dbt's usage stats


def to_sqlmesh(name: str, sql: str, materialized: str, tested: bool) -> str:
    """One model file: a MODEL block, then the model's own SQL with its refs resolved."""
    config = _CONFIG.match(sql)
    if config:
        materialized = config.group(1)
        sql = sql[config.end():]
    sql = _REF.sub(lambda m: f"main.{m.group(1)}", sql)
    if "{{" in sql or "{%" in sql:
        raise ValueError(f"{name}: Jinja other than ref()/config() cannot be translated for SQLMesh")
    kind = "VIEW" if materialized == "view" else "FULL"
    audits = ",\n  audits (not_null(columns := (id)), unique_values(columns := (id)))" if tested else ""
    return f"MODEL (\n  name main.{name},\n  kind {kind}{audits}\n);\n\n{sql}"


def write_project(out: Path, models: Iterable[tuple[str, str, str, str]], tested: set[str]) -> int:
    """Write `out`/config.yaml and models/ from (path, name, materialized, dbt-format sql); returns the count."""
    models_dir = out / "models"
    if models_dir.exists():
        for old in sorted(models_dir.rglob("*.sql")):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(config_yaml())
    count = 0
    for path, name, materialized, sql in models:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_sqlmesh(name, sql, materialized, name in tested))
        count += 1
    return count


def evaluated(log_text: str) -> dict[str, Any]:
    """What a plan/run evaluated, from SQLMesh's own console output: models and audits per model."""
    models: set[str] = set()
    audits = failed = 0
    for name, annotation in _EVALUATED.findall(log_text):
        models.add(name)
        for passed, bad in _AUDITS.findall(annotation):
            audits += int(passed or 0) + int(bad or 0)
            failed += int(bad or 0)
    counts = {"model": len(models)} if models else {}
    if audits:
        counts["audit"] = audits
    extra: dict[str, Any] = {"nodes_run": counts}
    if failed:
        extra["audits_failed"] = failed
    return extra


def state_intervals(project: Path, python: Path) -> int | None:
    """Intervals recorded in SQLMesh's state (one per evaluated FULL/VIEW model): a cross-check of the log."""
    import subprocess

    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.sql('select count(*) from sqlmesh._intervals').fetchone()[0])")
    proc = subprocess.run([str(python), "-c", code, str(project / DB_NAME)], capture_output=True, text=True)
    return int(proc.stdout) if proc.returncode == 0 and proc.stdout.strip().isdigit() else None


def bench_sqlmesh(b: Bench, sqlmesh: Path, meta: dict[str, Any], rep: int, suite: str) -> None:
    """Load cold/warm (`info`), plan --explain, full builds at 1 and 4 tasks, re-builds (full suite)."""
    from measure import remove

    p = b.project / SUBDIR
    cmd = [str(sqlmesh)]

    def fresh_db() -> None:
        remove(p / DB_NAME, p / f"{DB_NAME}.wal")

    def counted(key: str, sample_ok: bool, intervals_before: int) -> None:
        log = Path(b.samples[key][-1]["log"])
        extra = evaluated(log.read_text(errors="replace")) if log.exists() else {}
        after = state_intervals(p, sqlmesh.parent / "python") if sample_ok else None
        if after is not None:
            extra["state_intervals_added"] = after - intervals_before
        b.samples[key][-1]["extra"] = extra

    remove(p / ".cache", p / "logs")
    fresh_db()
    b.run("sqlmesh.load_cold", [*cmd, "info"], ENV, rep, cwd=p)
    b.run("sqlmesh.load_warm", [*cmd, "info"], ENV, rep, cwd=p)
    b.run("sqlmesh.plan_explain", [*cmd, "plan", "--explain", "--no-prompts"], ENV, rep, cwd=p)
    if suite != "full":
        return
    for threads in (1, 4):
        fresh_db()
        key = f"sqlmesh.build_t{threads}"
        sample = b.run(key, [*cmd, "--gateway", f"t{threads}", "plan", "--auto-apply", "--no-prompts"], ENV, rep,
                       cwd=p)
        counted(key, sample.ok, 0)
    apply = [*cmd, "--gateway", "t4", "plan", "--auto-apply", "--no-prompts"]
    before = state_intervals(p, sqlmesh.parent / "python") or 0
    sample = b.run("sqlmesh.rebuild_unchanged", apply, ENV, rep, cwd=p)
    counted("sqlmesh.rebuild_unchanged", sample.ok, before)
    middle = p / str(meta["middle_model_path"])
    original = middle.read_text()
    try:
        middle.write_text(original + str(meta["change_suffix"]))
        before = state_intervals(p, sqlmesh.parent / "python") or 0
        sample = b.run("sqlmesh.rebuild_one_changed", apply, ENV, rep, cwd=p)
        counted("sqlmesh.rebuild_one_changed", sample.ok, before)
    finally:
        middle.write_text(original)
