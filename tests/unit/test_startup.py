"""Start-up: each command imports only what it uses (docs/performance.md, start-up).

What is checked is the set of modules a fresh interpreter holds after a command, not a time (no test
in pds asserts a time; bench/ measures them): `pds --version`, `--help` and `import pds` load no
sqlglot, networkx, pandas, DuckDB or Jinja; `pds ls` loads no pandas or DuckDB; the table of
`pds show` no pandas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pds_core
from pds_core import api
from tests.projects import query

HEAVY = ("sqlglot", "networkx", "pandas", "numpy", "pyarrow", "duckdb", "jinja2", "rich", "yaml")

PROBE = """
import json, sys
sys.argv = ["pds", *{args!r}]
from pds_core.cli import cli
try:
    cli(prog_name="pds")
except SystemExit:
    pass
print("\\n" + json.dumps(sorted({{m if {full!r} else m.split(".")[0] for m in sys.modules}})))
"""
# what only a run (build, run, test, publish) uses: `pds compile` and `pds ls` never load it
RUN_ONLY = ("pds_core.execute", "pds_core.scheduler", "pds_core.catalog", "pds_core.runners.registry",
            "pds_core.publish.http", "pds_core.publish.targets", "pds_core.publish.gating", "pds_core.publish.planner",
            "pds_core.quality.planner", "pds_core.run_hooks", "urllib.request", "pandas", "pyarrow")


def loaded_after(args: list[str], cwd: Path | None = None, full: bool = False) -> set[str]:
    """Top-level packages (full: every module) in sys.modules after `pds ARGS` ran in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, full=full)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_version_and_help_import_nothing_heavy():
    for args in (["--version"], ["--help"], ["build", "--help"]):
        assert not set(HEAVY) & loaded_after(args), args


def test_import_pds_is_light_and_resolves_every_name():
    code = ("import json, sys, pds; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules}))); "
            "from pds import build, check, metric, unit_test, show; print(pds.__version__, callable(build))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()
    assert not set(HEAVY) & set(json.loads(first))
    assert second == f"{pds_core.__version__} True"


def test_lazy_names_are_the_api():
    assert set(pds_core.COMMANDS) == set(api.__all__)
    import pds

    assert set(dir(pds)) >= {*api.__all__, "check", "metric", "unit_test", "__version__"}
    assert pds.build is api.build and pds_core.ls is api.ls


def _project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "pds_project.yml").write_text("name: proj\n", encoding="utf-8")
    (root / "models" / "days.sql").write_text(textwrap.dedent("""\
        {{ config(materialized='table') }}
        select d::date as day, 1.50::decimal(10, 2) as price, timestamp '2024-03-01 10:30:00' as at
        from range(date '2024-01-01', date '2024-01-03', interval 1 day) t(d)
        """), encoding="utf-8")
    return root


def test_ls_and_show_load_no_pandas(tmp_path):
    project = _project(tmp_path / "p")
    subprocess.run([sys.executable, "-m", "pds_core.cli", "build"], cwd=project, check=True, capture_output=True,
                   timeout=300)
    assert not {"pandas", "duckdb", "numpy", "pyarrow"} & loaded_after(["ls"], project)
    assert "pandas" not in loaded_after(["show", "days"], project)
    shown = subprocess.run([sys.executable, "-m", "pds_core.cli", "show", "days"], cwd=project, capture_output=True,
                           text=True, timeout=120, env={**os.environ, "COLUMNS": "120"})
    rows = [line for line in shown.stdout.splitlines() if line.startswith("│")]
    assert [[c.strip() for c in r.strip("│").split("│")] for r in rows] == \
        [["2024-01-01", "1.5", "2024-03-01 10:30:00"], ["2024-01-02", "1.5", "2024-03-01 10:30:00"]]
    assert query(project, "select count(*), min(price) from days") == [(2, 1.5)]  # shown is what was built


def test_compile_and_ls_load_nothing_only_a_run_uses(tmp_path):
    project = _project(tmp_path / "p")
    for args in (["compile"], ["ls"]):
        (project / "target" / "pds_compile_record.pickle").unlink(missing_ok=True)  # a full compile, not a replay
        (project / "target" / "pds_ls_record.pickle").unlink(missing_ok=True)
        loaded = loaded_after(args, project, full=True)
        assert "pds_core.plan" in loaded, args  # it did plan: the probe saw a real compile / ls
        assert not set(RUN_ONLY) & loaded, (args, set(RUN_ONLY) & loaded)
    compiled = (project / "target" / "compiled" / "proj" / "models" / "days.sql").read_text(encoding="utf-8")
    assert "from range(date '2024-01-01'" in compiled.lower()


def test_a_built_in_adapter_is_found_without_listing_entry_points(monkeypatch):
    import importlib.metadata

    from pds_adapters import ProjectError, adapter_class
    from pds_adapters.duckdb import DuckDBAdapter

    def listing(**_: object) -> list[object]:
        raise AssertionError("entry points listed")

    monkeypatch.setattr(importlib.metadata, "entry_points", listing)
    assert adapter_class("duckdb") is DuckDBAdapter
    monkeypatch.undo()
    with pytest.raises(ProjectError) as raised:  # an unknown type still looks through what is installed
        adapter_class("duckdbb")
    assert "'duckdb'" in str(raised.value.hint)


def test_a_replayed_compile_or_ls_loads_no_sqlglot_jinja_or_networkx(tmp_path):
    project = _project(tmp_path / "p")
    for args in (["compile"], ["ls"]):
        first = subprocess.run([sys.executable, "-m", "pds_core.cli", *args], cwd=project, capture_output=True,
                               text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        loaded = loaded_after(args, project)  # the same inputs: answered from the last record (warm.py)
        assert not {"sqlglot", "jinja2", "networkx", "pandas", "duckdb"} & loaded, (args, loaded)
    listed = subprocess.run([sys.executable, "-m", "pds_core.cli", "ls"], cwd=project, capture_output=True, text=True,
                            timeout=120)
    assert listed.stdout.split() == ["days"]


def test_adapter_classes_load_sqlglot_when_they_first_build_sql():
    code = textwrap.dedent("""\
        import sys
        from pds_adapters import adapter_class, statements as st
        from pds_adapters.relation import Relation
        from pds_adapters.target import Target
        cls = adapter_class("duckdb")
        print("sqlglot" in sys.modules)
        adapter = cls(Target(name="dev", type="duckdb", settings={"type": "duckdb", "path": ":memory:"}))
        query = st.select_star(adapter.table(Relation("main", "Orders")), 5)
        print(type(query).__module__.split(".")[0], adapter.sql(query))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", 'sqlglot SELECT * FROM memory.main."Orders" LIMIT 5'], done.stdout


def test_a_dialect_outside_pds_adapters_is_still_asked_of_sqlglot():
    from pds_core.dialects import dialect_errors

    assert dialect_errors(None, "pds_project.yml", 1) == [] and dialect_errors("snowflake", "pds_project.yml", 1) == []
    assert dialect_errors("trino", "pds_project.yml", 3) == []  # sqlglot's, not one of pds's adapters
    [error] = dialect_errors("duckdbb", "pds_project.yml", 3)
    assert "unknown SQL dialect 'duckdbb'" in str(error) and error.location.line == 3


def test_the_pds_process_skips_the_exit_collections_but_not_atexit_or_flushing():
    code = textwrap.dedent("""\
        import atexit, gc, sys
        atexit.register(lambda: print("atexit ran, frozen:", gc.get_freeze_count() > 0))
        sys.argv = ["pds", "--version"]
        from pds_core.cli import cli, main
        try:
            cli.main(["--version"], prog_name="pds", standalone_mode=False)  # in-process use: nothing frozen
        finally:
            print("after cli:", gc.get_freeze_count())
        sys.stdout.write("unflushed ")  # buffered, written at exit
        main()
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"pds, version {pds_core.__version__}", "after cli: 0",
                                        f"unflushed pds, version {pds_core.__version__}", "atexit ran, frozen: True"]
