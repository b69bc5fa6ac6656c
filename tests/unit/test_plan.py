"""plan(): parse once, compile once, and a build decision per node made from a catalog (no warehouse)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pds_core.compiler import Compiler
from pds_core.loader import load_project
from pds_core.parser import Parser
from pds_core.plan import Options, plan
from tests.projects import write_project

FILES = {
    "seeds/s.csv": "id,v\n1,a\n2,b\n",
    "models/inc.sql": """
        {{ config(materialized='incremental', unique_key='id') }}
        select id, v from {{ ref('s') }}
        {% if is_incremental() %} where id > (select max(id) from {{ this }}) {% endif %}
    """,
    "models/appended.sql": "{{ config(materialized='incremental') }}\nselect id from {{ ref('s') }}",
    "models/py_inc.py": """
        def model(ctx):
            ctx.config(materialized='incremental', unique_key='id', full_refresh=True)
            return ctx.ref('s')
    """,
    "models/t.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('inc') }}",
    "models/eph.sql": "{{ config(materialized='ephemeral') }}\nselect id from {{ ref('s') }}",
    "models/uses_eph.sql": "select id from {{ ref('eph') }}",
}


class FakeCatalog:
    """What a warehouse holds, without one."""

    def __init__(self, known: dict[tuple[str, str], str], supports_merge: bool = True) -> None:
        self.known = dict(known)
        self.supports_merge = supports_merge
        self.asked: list[tuple[str, str]] = []

    def get(self, key: tuple[str, str]) -> str | None:
        self.asked.append(key)
        return self.known.get(key)

    def freshness(self, manifest, sources):  # noqa: ANN001, ANN201
        return {}

    def columns(self, relation):  # noqa: ANN001, ANN201
        self.asked.append(("columns", relation.identifier))
        return [("id", "INTEGER")]

    def recorded_fingerprints(self):  # noqa: ANN201
        return {}


@pytest.fixture
def project(tmp_path: Path):  # noqa: ANN201
    return load_project(write_project(tmp_path / "p", FILES))


BUILT = {("main", "inc"): "table", ("main", "appended"): "table", ("main", "py_inc"): "table",
         ("main", "t"): "table", ("main", "s"): "table"}


def test_without_a_catalog_nothing_is_decided_and_is_incremental_is_false(project) -> None:
    p = plan(project, Options(), None, "compile")
    assert p.decisions == {}
    assert "max(id)" not in p.compiled["model.proj.inc"].sql
    assert p.selected == {uid for uid in p.manifest.nodes if uid.startswith("model.")}


def test_decisions_are_made_once_per_node(project) -> None:
    catalog = FakeCatalog(BUILT)
    p = plan(project, Options(), catalog)
    d = p.decisions
    assert (d["model.proj.inc"].incremental, d["model.proj.inc"].strategy, d["model.proj.inc"].unique_key) == \
        (True, "merge", ["id"])
    assert (d["model.proj.appended"].incremental, d["model.proj.appended"].strategy) == (True, "append")
    # the Python model's own `full_refresh: true` holds, as a SQL model's does
    assert d["model.proj.py_inc"].full_refresh and not d["model.proj.py_inc"].incremental
    assert not d["model.proj.t"].incremental and d["model.proj.t"].existing == "table"
    assert "model.proj.eph" not in d  # ephemeral models are not built
    # only the model that reads is_incremental() and goes into its table gets that SQL
    assert "max(id)" in p.compiled["model.proj.inc"].sql


def test_full_refresh_a_missing_table_a_view_and_no_merge(project) -> None:
    everything = plan(project, Options(full_refresh=True), FakeCatalog(BUILT))
    assert not any(d.incremental for d in everything.decisions.values())
    assert "max(id)" not in everything.compiled["model.proj.inc"].sql
    fresh = plan(project, Options(), FakeCatalog({("main", "inc"): "view"}))
    assert not fresh.decisions["model.proj.inc"].incremental  # a view there is rebuilt as a table
    assert fresh.decisions["model.proj.inc"].existing == "view"
    no_merge = plan(project, Options(), FakeCatalog(BUILT, supports_merge=False))
    assert no_merge.decisions["model.proj.inc"].strategy == "delete+insert"


def test_parse_once_and_compile_only_what_the_decision_changes(project, monkeypatch) -> None:
    parses: list[int] = []
    compiles: list[list[str]] = []
    real_parse, real_compile = Parser.parse, Compiler.compile
    monkeypatch.setattr(Parser, "parse", lambda self: parses.append(1) or real_parse(self))
    monkeypatch.setattr(Compiler, "compile", lambda self, uids: compiles.append(sorted(uids)) or real_compile(self, uids))
    plan(project, Options(), FakeCatalog(BUILT))
    assert len(parses) == 1
    assert len(compiles) == 2 and compiles[1] == ["model.proj.inc"]


def test_selection_and_retry(project) -> None:
    p = plan(project, Options(select=["inc+"]), None, "build")
    assert p.selected == {"model.proj.inc", "model.proj.t"}
    again = plan(project, Options(retry=["model.proj.t", "test.proj.gone"]), None, "build")
    assert again.selected == {"model.proj.t"}
    assert again.notes == ["Not retried (no longer in the project): test.proj.gone"]
