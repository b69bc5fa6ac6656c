"""Regressions of issue 12, through the `pds` API in this process: each failed on the code before it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import pds
from pds_core.errors import ProjectError
from pds_core.reporting import Reporter
from tests.projects import query, write_project


def reporter() -> tuple[Reporter, io.StringIO]:
    stream = io.StringIO()
    return Reporter(stream=stream), stream


def test_a_python_incremental_model_honours_its_own_full_refresh(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {
        "seeds/s.csv": "id\n1\n2\n3\n",
        "models/py_inc.py": """
            def model(ctx):
                ctx.config(materialized='incremental', full_refresh=True)
                return ctx.ref('s')
        """,
        "models/sql_inc.sql": "{{ config(materialized='incremental', full_refresh=true) }}\nselect * from {{ ref('s') }}",
    })
    for _ in range(2):
        assert pds.build(pds.load(root)).success
    assert query(root, "select count(*) from main.py_inc") == [(3,)]  # was 6: appended to on the second build
    assert query(root, "select count(*) from main.sql_inc") == [(3,)]


def test_retry_runs_the_export_it_names_and_does_not_call_it_gone(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {
        "seeds/s.csv": "id\n1\n",
        "models/m.sql": "{{ config(materialized='table') }}\nselect cast('x' as integer) as id from {{ ref('s') }}",
        "models/schema.yml": """
            models:
              - name: m
                exports:
                  - name: m_csv
                    file: {path: "out/m.csv"}
        """,
    })
    first = pds.build(pds.load(root))
    assert {r.name: r.status for r in first.results} == {"s": "success", "m": "error", "m_csv": "skipped"}
    (root / "models" / "m.sql").write_text("{{ config(materialized='table') }}\nselect id from {{ ref('s') }}")
    rep, out = reporter()
    again = pds.retry(pds.load(root), rep)
    assert "Not retried" not in out.getvalue()
    assert {r.name: r.status for r in again.results} == {"m": "success", "m_csv": "success"}
    assert (root / "out" / "m.csv").read_text().splitlines() == ["id", "1"]


TWO_PARENTS = {
    "seeds/a.csv": "id\n1\n",
    "seeds/b.csv": "id\n1\n",
    "models/ma.sql": "select id from {{ ref('a') }}",
    "models/mb.sql": "select id from {{ ref('b') }}",
    "models/schema.yml": """
        models:
          - name: ma
            columns:
              - name: id
                data_tests:
                  - not_null
                  - relationships: {to: ref('mb'), field: id}
    """,
}


@pytest.mark.parametrize(("mode", "tests_run"), [
    ("eager", {"not_null_ma_id", "relationships_ma_id__id__ref_mb_"}),
    ("cautious", {"not_null_ma_id"}),
    ("buildable", {"not_null_ma_id"}),
    ("empty", set()),
])
def test_indirect_selection_modes(tmp_path: Path, mode: str, tests_run: set[str]) -> None:
    root = write_project(tmp_path / "p", TWO_PARENTS)
    run = pds.build(pds.load(root), select=["+ma"], indirect_selection=mode)
    ran = {r.name for r in run.results if r.resource_type == "test"}
    assert ran == tests_run
    if mode == "eager":  # mb was not selected, so not built: the test says how to leave it out
        failed = next(r for r in run.results if r.name.startswith("relationships"))
        assert failed.status == "error" and "--indirect-selection cautious" in failed.message
    else:
        assert run.success


def test_buildable_runs_a_test_whose_parents_are_upstream_of_the_selection(tmp_path: Path) -> None:
    files = {**TWO_PARENTS, "models/both.sql": "select ma.id from {{ ref('ma') }} ma join {{ ref('mb') }} using (id)"}
    root = write_project(tmp_path / "p", files)
    assert pds.build(pds.load(root)).success
    relationships = "relationships_ma_id__id__ref_mb_"
    cautious = pds.build(pds.load(root), select=["both"], indirect_selection="cautious")
    assert relationships not in {r.name for r in cautious.results}  # ma and mb are not selected
    buildable = pds.build(pds.load(root), select=["both"], indirect_selection="buildable")
    assert {r.name for r in buildable.results if r.resource_type == "test"} == {"not_null_ma_id", relationships}
    assert buildable.success  # ma and mb are upstream of both: built before, so the tests can run


def test_python_model_columns_are_open_until_built_then_what_it_returned(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {
        "seeds/s.csv": "customer_id\n1\n",
        "models/scores.py": """
            def model(ctx):
                df = ctx.ref('s')
                df['score'] = 0.5
                df['scored_at'] = '2025-01-01'
                return df
        """,
        "models/schema.yml": """
            models:
              - name: scores
                columns:
                  - name: customer_id
                  - name: score
        """,
        "models/latest.sql": "select customer_id, scored_at from {{ ref('scores') }}",
    })
    project = pds.load(root)
    assert "model.proj.latest" in pds.compile(project)  # scored_at MAY exist: not refused before a build
    assert pds.lineage(project, "scores.score") == ["scores.score  [python model]"]  # declared in YAML
    assert pds.build(project).success
    columns = json.loads((root / "target" / "state" / "columns.json").read_text())
    assert columns["model.proj.scores"] == ["customer_id", "score", "scored_at"]
    assert "model.proj.latest" in pds.compile(pds.load(root))
    assert pds.lineage(pds.load(root), "latest.scored_at") == [
        "latest.scored_at  [model]", "└── scores.scored_at  [python model]"]
    (root / "models" / "latest.sql").write_text("select customer_id, no_such_column from {{ ref('scores') }}")
    with pytest.raises(ProjectError, match="column 'no_such_column' does not exist in scores"):
        pds.compile(pds.load(root))  # once built, its columns are known


def test_everything_the_cli_does_is_reachable_from_import_pds(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"seeds/s.csv": "id\n1\n", "models/m.sql": "select id from {{ ref('s') }}"})
    project = pds.load(root)
    assert [n["name"] for n in pds.ls(project, resource_type="seed")] == ["s"]
    assert [n["name"] for n in pds.ls(project)] == ["s", "m"]
    for name in ("build", "run", "seed", "test", "compile", "ls", "show", "metrics", "publish", "retry", "docs",
                 "lineage", "load", "check", "metric", "unit_test"):
        assert callable(getattr(pds, name)), name


def test_ls_lists_a_projects_sources(tmp_path: Path) -> None:
    """`pds ls` on any project with a source stopped with KeyError: a source is selected, never built."""
    from tests.projects import invoke

    root = write_project(tmp_path / "p", {"models/a.sql": "select 1 as a",
                                          "models/src.yml": "sources:\n  - name: s\n    tables:\n      - name: t\n"})
    assert invoke(root, "ls") == (0, "a\ns.t\n")


def test_a_seed_read_through_a_source_is_loaded_before_the_models_that_read_it(tmp_path: Path) -> None:
    """jaffle-shop's shape: staging models read its seeds with source(). Nothing tied them: with one thread
    `a_stg` (first by name) ran before the seed and failed on a missing table, at random with more."""
    root = write_project(tmp_path / "p", {
        "seeds/raw_orders.csv": "id\n1\n2\n",
        "models/sources.yml": "sources:\n  - name: ecom\n    schema: main\n    tables:\n      - name: raw_orders\n",
        "models/a_stg.sql": "select id from {{ source('ecom', 'raw_orders') }}",
    })
    assert pds.build(pds.load(root), threads=1).success
    assert query(root, "select count(*) from a_stg") == [(2,)]
    listed = sorted(n["name"] for n in pds.ls(pds.load(root), select=["+a_stg"]))
    assert listed == ["a_stg", "ecom.raw_orders"]  # selection as before: the source, not the seed


def test_now_in_jinja_is_rendered_again_on_every_run(tmp_path: Path) -> None:
    """`modules.datetime...now()` differs on each run: never replayed from the parse cache or the compile record
    (a build once kept the first run's timestamp for ever)."""
    project = write_project(tmp_path / "p", {
        "models/stamped.sql": "{{ config(materialized='table') }}\n"
                              "select '{{ modules.datetime.datetime.now().isoformat() }}' as rendered_at\n"})
    stamps = []
    for _ in range(2):
        pds.build(pds.load(project))
        stamps += [row[0] for row in query(project, "select rendered_at from stamped")]
        compiled = next((project / "target" / "compiled").rglob("stamped.sql")).read_text()
        pds.compile(pds.load(project))
        assert next((project / "target" / "compiled").rglob("stamped.sql")).read_text() != compiled
    assert len(set(stamps)) == 2, stamps
