"""Warm compile (pds_core/warm.py): an unchanged project replays its last compile, and every kind of
change a compile depends on gives exactly what a cold compile of the changed project gives."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pds_core import api
from pds_core.warm import RECORD_FILE
from tests.compile_project import write_project
from tests.conftest import run_pds

FILES = {
    "seeds/orders.csv": "id,customer_id,amount_cents,status\n1,1,100,completed\n2,2,250,returned\n",
    "macros/money.sql": "{% macro to_dollars(col) %}{{ col }} / 100.0{% endmacro %}\n",
    "models/stg_orders.sql": (
        "select id as order_id, customer_id, {{ to_dollars('amount_cents') }} as amount, status,\n"
        "  '{{ var(\"region\", \"eu\") }}' as region, '{{ env_var(\"PDS_WARM_TEST_SUFFIX\", \"x\") }}' as suffix\n"
        "from {{ ref('orders') }}\n"),
    "models/totals.sql": "select * from {{ ref('stg_orders') }}\n",
    "models/schema.yml": "version: 2\nmodels:\n  - name: totals\n    description: every order\n"
                         "    columns:\n      - name: amount\n        description: in dollars\n",
}
SEED_WITH_CHANNEL = "id,customer_id,amount_cents,status,channel\n1,1,100,completed,web\n2,2,250,returned,shop\n"


def artifacts(root: Path) -> dict[str, object]:
    """What a compile leaves in target/: compiled SQL as written, manifests without their run identity."""
    found: dict[str, object] = {}
    for path in sorted((root / "target").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".sql":
            found[rel] = path.read_text(encoding="utf-8")
        elif path.suffix == ".json" and "/state/" not in rel:
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("metadata", None)
            found[rel] = data
    return found


def compile_(root: Path, vars: dict | None = None) -> dict[str, str]:
    return api.compile(api.load(root, vars=vars))


def replays(root: Path, vars: dict | None = None) -> bool:
    """Compile; True if the last compile was replayed (manifest.json not written again)."""
    manifest = root / "target" / "manifest.json"
    before = manifest.stat()
    compile_(root, vars)
    after = manifest.stat()
    return (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_unchanged_project_replays_the_last_compile(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    first = compile_(root)
    cold = artifacts(root)
    assert (root / "target" / RECORD_FILE).is_file()
    compiled = root / "target/compiled/cproj/models/totals.sql"
    mtime = compiled.stat().st_mtime_ns
    assert replays(root)
    assert compile_(root) == first  # the same SQL returned
    assert artifacts(root) == cold and compiled.stat().st_mtime_ns == mtime  # nothing rewritten
    assert "/ 100.0 as amount" in first["model.cproj.stg_orders"]


CHANGES: dict[str, Callable[[Path, pytest.MonkeyPatch], dict | None]] = {
    "macro": lambda root, mp: edit(root, "macros/money.sql", "/ 100.0", "/ 1000.0"),
    "var": lambda root, mp: {"region": "us"},
    "env var": lambda root, mp: mp.setenv("PDS_WARM_TEST_SUFFIX", "y"),
    "yaml": lambda root, mp: edit(root, "models/schema.yml", "in dollars", "in euros"),
    "seed columns": lambda root, mp: (root / "seeds/orders.csv").write_text(SEED_WITH_CHANNEL, encoding="utf-8"),
    "parent columns": lambda root, mp: edit(root, "models/stg_orders.sql", " status,", " status, 1 as n,"),
    "new model": lambda root, mp: (root / "models/extra.sql").write_text("select 1 as one\n", encoding="utf-8"),
    "project config": lambda root, mp: edit(root, "pds_project.yml", "name: cproj\n",
                                            "name: cproj\nmodels:\n  cproj:\n    +materialized: table\n"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_recompiles_exactly_as_a_cold_compile(tmp_path, monkeypatch, change):
    monkeypatch.delenv("PDS_WARM_TEST_SUFFIX", raising=False)
    root = write_project(tmp_path / "p", FILES)
    compile_(root)
    before = artifacts(root)
    assert replays(root)
    made = CHANGES[change](root, monkeypatch)
    vars = made if isinstance(made, dict) else None
    assert not replays(root, vars), f"a {change} change was answered from the last compile"
    warm, answer = artifacts(root), compile_(root, vars)
    assert warm != before, f"the {change} change is visible in target/"
    shutil.rmtree(root / "target")
    assert compile_(root, vars) == answer
    assert artifacts(root) == warm  # exactly what a cold compile of the changed project writes
    assert replays(root, vars)  # and the new state is replayed in turn


def test_seed_columns_reach_the_models_lineage(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    compile_(root)
    (root / "seeds/orders.csv").write_text(SEED_WITH_CHANNEL, encoding="utf-8")
    edit(root, "models/stg_orders.sql", " status,", " status, channel,")
    compile_(root)
    lineage = json.loads((root / "target/manifest.json").read_text())["nodes"]["model.cproj.totals"]["column_lineage"]
    assert lineage["channel"] == [{"node": "model.cproj.stg_orders", "column": "channel"}]


def test_an_edited_or_deleted_artifact_is_written_again(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    compile_(root)
    cold = artifacts(root)
    compiled = root / "target/compiled/cproj/models/totals.sql"
    compiled.unlink()
    compile_(root)
    assert artifacts(root) == cold
    compiled.write_text("select 'stale'\n", encoding="utf-8")
    compile_(root)
    assert artifacts(root) == cold


def test_a_failed_compile_leaves_no_record(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    compile_(root)
    (root / "models/broken.sql").write_text("select from from\n", encoding="utf-8")
    with pytest.raises(Exception, match="syntax"):
        compile_(root)
    assert not (root / "target" / RECORD_FILE).exists()
    (root / "models/broken.sql").unlink()
    with pytest.raises(Exception, match="syntax"):  # the broken file back: never a replay of a good compile
        (root / "models/broken.sql").write_text("select from from\n", encoding="utf-8")
        compile_(root)


def test_state_selection_and_warehouse_reads_never_replay(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    compile_(root)
    project = api.load(root)
    assert api.compile(project, select=["totals"]) == {"model.cproj.totals": "select * from warehouse.main.stg_orders"}
    assert replays(root) is False  # another selection: another record, the full one is compiled again
    from pds_core.warm import eligible

    assert not eligible({"state": "target"}) and not eligible({"validate_sources": True})
    assert not eligible({"select": ["state:modified+"]}) and eligible({"select": ["totals"]})


def test_cli_prints_the_same_on_a_replay(tmp_path):
    files = {**FILES, "models/schema.yml": FILES["models/schema.yml"] + "    access: public\n"}
    root = write_project(tmp_path / "p", files)
    first = run_pds("compile", cwd=root)
    second = run_pds("compile", cwd=root)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "access" in first.stderr and "Compiled 2 SQL models" in first.stdout
    assert (second.stdout, second.stderr) == (first.stdout, first.stderr)
    record = (root / "target" / RECORD_FILE).stat()
    assert run_pds("compile", cwd=root).stdout == first.stdout
    assert (root / "target" / RECORD_FILE).stat().st_mtime_ns == record.st_mtime_ns  # replayed, not rewritten


def test_a_model_reading_the_run_identity_is_never_replayed(tmp_path):
    root = write_project(tmp_path / "p", {**FILES, "models/stamp.sql": "select '{{ invocation_id }}' as run\n"})
    first = compile_(root)["model.cproj.stamp"]
    assert not (root / "target" / RECORD_FILE).exists()
    assert not replays(root)
    assert compile_(root)["model.cproj.stamp"] != first  # each compile is its own invocation


def test_ls_answers_from_its_record_until_something_changes(tmp_path):
    from pds_core.warm import LS_RECORD_FILE

    root = write_project(tmp_path / "p", FILES)
    first = api.ls(api.load(root))
    record = root / "target" / LS_RECORD_FILE
    stamp = record.stat().st_mtime_ns
    assert api.ls(api.load(root)) == first and record.stat().st_mtime_ns == stamp  # replayed
    assert [r["name"] for r in api.ls(api.load(root), select=["totals"])] == ["totals"]
    (root / "models/extra.sql").write_text("select 1 as one\n", encoding="utf-8")
    assert "extra" in [r["name"] for r in api.ls(api.load(root))]
    edit(root, "models/totals.sql", "select *", "{{ config(materialized='table', tags=['t']) }}\nselect *")
    totals = next(r for r in api.ls(api.load(root)) if r["name"] == "totals")
    assert (totals["materialized"], totals["tags"]) == ("table", ["t"])
    listed = run_pds("ls", cwd=root)
    assert listed.returncode == 0 and run_pds("ls", cwd=root).stdout == listed.stdout


def test_any_file_under_the_project_folders_counts(tmp_path):
    """Files the loader does not list but a parser may read (unit-test fixtures) are inputs too."""
    root = write_project(tmp_path / "p", {**FILES, "tests/fixtures/rows.csv": "id\n1\n"})
    compile_(root)
    assert replays(root)
    (root / "tests/fixtures/rows.csv").write_text("id\n2\n", encoding="utf-8")
    assert not replays(root)
    (root / "tests/fixtures/more.sql").write_text("select 1 as id\n", encoding="utf-8")
    assert not replays(root)
    assert replays(root)
