"""The commands: init, compile, show, debug, clean, --log-format json, --version, help."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pds_core.cli import cli
from tests.conftest import run_pds
from tests.projects import invoke, output, pds, query, relations, write_project


@pytest.mark.slow
def test_init_then_build_with_no_configuration(tmp_path, monkeypatch):
    created = run_pds("init", "my_shop", cwd=tmp_path)
    assert created.returncode == 0, output(created)
    project = tmp_path / "my_shop"
    assert "pds build" in created.stdout
    assert "name: my_shop" in (project / "pds_project.yml").read_text()
    # inside the new folder, with no options at all: the default target is a DuckDB file in the project
    built = run_pds("build", cwd=project)
    assert built.returncode == 0, output(built)
    assert (project / "pds.duckdb").is_file()
    kinds = relations(project)
    assert {"customers", "orders", "stg_customers", "stg_orders", "customer_orders", "daily_revenue",
            "churn_scores"} <= set(kinds)
    n, low, high = query(project, "select count(*), min(churn_probability), max(churn_probability) "
                                  "from churn_scores")[0]
    assert n == 60 and 0 <= low <= high <= 1
    shown = run_pds("show", "churn_scores", "--limit", "3", "--output", "json", cwd=project)
    assert shown.returncode == 0, output(shown)
    rows = json.loads(shown.stdout)
    assert len(rows) == 3 and {"customer_id", "churn_probability", "risk_band"} <= set(rows[0])
    monkeypatch.chdir(tmp_path)
    again = CliRunner().invoke(cli, ["init", "my_shop"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_compile_writes_sql_without_touching_the_warehouse(tmp_path):
    project = write_project(tmp_path / "p", {
        "seeds/s.csv": "a\n1\n",
        "models/base.sql": "{{ config(materialized='ephemeral') }}\nselect a from {{ ref('s') }}",
        "models/final.sql": "select a + {{ var('plus', 1) }} as b from {{ ref('base') }}",
        "models/py.py": "def model(ctx):\n    return ctx.ref('final')\n",
    })
    result = pds(project, "compile", "--vars", "{plus: 5}")
    assert "Compiled 2 SQL models to target/compiled/" in result.stdout
    compiled = (project / "target/compiled/proj/models/final.sql").read_text()
    assert "main.s" in compiled and "a + 5 as b" in compiled  # as written: the project is in the target's dialect
    assert "__pds_ephemeral__base" in compiled and "WITH" in compiled.upper()  # the ephemeral parent as a CTE
    assert not list(project.glob("*.duckdb"))
    manifest = json.loads((project / "target/manifest.json").read_text())
    assert manifest["nodes"]["model.proj.final"]["compiled_path"] == "target/compiled/proj/models/final.sql"
    code, text = invoke(project, "compile", "-s", "base")
    assert code == 0 and "Compiled 1 SQL model " in text


@pytest.mark.slow
def test_show_limit_and_formats(tmp_path):
    project = write_project(tmp_path / "p", {
        "seeds/nums.csv": "n,label\n" + "".join(f"{i},row {i}\n" for i in range(1, 31)),
        "models/evens.sql": "select n, label from {{ ref('nums') }} where n % 2 = 0 order by n",
        "models/later.sql": "select 1 as x",
    })
    pds(project, "build", "-s", "nums", "evens")
    as_json = json.loads(pds(project, "show", "evens", "--limit", "4", "--output", "json").stdout)
    assert as_json == [{"n": 2, "label": "row 2"}, {"n": 4, "label": "row 4"}, {"n": 6, "label": "row 6"},
                       {"n": 8, "label": "row 8"}]
    as_csv = pds(project, "show", "nums", "--limit", "2", "--output", "csv").stdout
    assert as_csv.splitlines() == ["n,label", "1,row 1", "2,row 2"]
    table = pds(project, "show", "evens").stdout
    assert "evens (first 10 rows)" in table and "row 20" in table and "row 22" not in table
    code, text = invoke(project, "show", "later")
    assert code == 2 and "later has not been built yet in target 'dev'" in text
    assert "hint: run `pds build --select later` first" in text
    code, text = invoke(project, "show", "evenz")
    assert code == 2 and "no model, seed or source named 'evenz'" in text and "did you mean 'evens'" in text


def test_debug_and_clean(tmp_path):
    project = write_project(tmp_path / "p", {"models/m.sql": "select 1 as x"})
    result = pds(project, "debug")
    assert "connection:    ok" in result.stdout and "All checks passed." in result.stdout
    assert "models:        1" in result.stdout and "target:        dev" in result.stdout
    pds(project, "build")
    assert (project / "target/manifest.json").is_file()
    cleaned = pds(project, "clean")
    assert "Removed target" in cleaned.stdout
    assert not (project / "target").exists()
    assert relations(project) == {"m": "VIEW"}  # clean never touches the warehouse
    assert "Nothing to clean" in invoke(project, "clean")[1]


def test_json_log_format_and_quiet(tmp_path):
    project = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x", "models/b.sql": "select 2 as y"})
    events = [json.loads(line) for line in pds(project, "--log-format", "json", "build").stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and kinds.count("node_finished") == 2
    assert events[-1]["success"] is True and events[-1]["counts"] == {"success": 2}
    quiet = pds(project, "--quiet", "build").stdout
    assert "OK" not in quiet and "Completed successfully" in quiet


def test_version_and_help():
    version = run_pds("--version")
    assert version.returncode == 0 and "pds" in version.stdout
    helped = CliRunner().invoke(cli, ["--help"])
    for command in ("build", "run", "seed", "compile", "ls", "show", "debug", "clean", "init"):
        assert command in helped.output


def test_output_is_plain_when_piped_and_coloured_on_a_terminal(tmp_path):
    project = write_project(tmp_path / "p", {"models/t.sql": "{{ config(materialized='table') }}\nselect 1 as x"})
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")}
    cmd = [sys.executable, "-m", "pds_core.cli", "build", "--project-dir", str(project)]
    piped = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "\x1b[" not in piped.stdout
    # one line per node: position, status, what was done, rows and time
    assert re.search(r"^1 of 1 OK +created table main\.t 1 rows in \d+\.\d\ds$", piped.stdout, re.M), piped.stdout
    leader, follower = pty.openpty()
    with subprocess.Popen(cmd, env={**env, "COLUMNS": "120"}, stdout=follower, stderr=follower) as proc:
        os.close(follower)
        chunks = []
        while select.select([leader], [], [], 120)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed when the build ended
                break
            if not chunk:
                break
            chunks.append(chunk)
    os.close(leader)
    text = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0 and "\x1b[" in text and "Completed successfully" in text
