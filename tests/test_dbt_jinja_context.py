"""The Jinja context as dbt packages use it: dispatch and its search orders, macro namespaces, vars by
package, return(), api.Relation, target, errors inside macros, docs blocks, generate_*_name, and
dbt's cross-database macros on every adapter (checked against the SQL dbt's adapters render)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pds_core.errors import ProjectError
from pds_core.jinja.macros import INTERNAL
from pds_core.jinja.setup import internal_macro_files
from pds_core.loader import load_project
from pds_core.plan import parse_manifest
from pds_core.render import Renderer
from tests.projects import pds, write_project

PKG = {
    "dbt_packages/tools/dbt_project.yml": "name: tools\nversion: '1'\nconfig-version: 2\nvars:\n  tools_only: pkg\n",
    "dbt_packages/tools/macros/m.sql": """
        {% macro greet(x) %}{{ return(adapter.dispatch('greet', 'tools')(x)) }}{% endmacro %}
        {% macro default__greet(x) %}hello {{ x }}{% endmacro %}
        {% macro duckdb__greet(x) %}quack {{ x }}{% endmacro %}
        {% macro numbers() %}{{ return([1, 2, 3]) }}{% endmacro %}
        {% macro scope_var() %}{{ var('tools_only', 'unset') }}{% endmacro %}
        {% macro broken() %}
          {{ exceptions.raise_compiler_error('tools says no') }}
        {% endmacro %}
    """,
}


def rendered(tmp_path: Path, files: dict[str, str], model: str = "m") -> str:
    project = load_project(write_project(tmp_path / "p", {**PKG, **files}))
    manifest = parse_manifest(project)
    return str(manifest.nodes[f"model.proj.{model}"].rendered).strip(" \n")


def test_dispatch_finds_the_adapter_version_then_default(tmp_path: Path) -> None:
    sql = rendered(tmp_path, {"models/m.sql": "select '{{ tools.greet('x') }}' as g, {{ tools.numbers() | sum }} as n"})
    assert sql == "select 'quack x' as g, 6 as n"  # duckdb__ over default__; return() gives a list


def test_a_project_overrides_a_package_macro_through_its_search_order(tmp_path: Path) -> None:
    files = {"pds_project.yml": "name: proj\ndispatch:\n  - macro_namespace: tools\n    search_order: [proj, tools]\n",
             "macros/over.sql": "{% macro default__greet(x) %}hi {{ x }}{% endmacro %}",
             "models/m.sql": "select '{{ tools.greet('x') }}' as g"}
    # dbt searches proj (duckdb__, default__) before tools: the project's default__ wins over tools' duckdb__
    assert rendered(tmp_path, files) == "select 'hi x' as g"


def test_the_project_overrides_dbt_macros_without_a_search_order(tmp_path: Path) -> None:
    files = {"macros/over.sql": "{% macro duckdb__date_trunc(part, d) %}my_trunc({{ d }}){% endmacro %}",
             "models/m.sql": "select {{ dbt.date_trunc('day', 'x') }} as a, {{ date_trunc('day', 'y') }} as b"}
    assert rendered(tmp_path, files) == "select my_trunc(x) as a, my_trunc(y) as b"  # as dbt 1.11 does


def test_package_macros_are_namespaced(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as caught:
        rendered(tmp_path, {"models/m.sql": "select {{ greet('x') }}"})  # a package's macro needs its prefix
    assert "'greet' is undefined" in str(caught.value)
    with pytest.raises(ProjectError) as caught:
        rendered(tmp_path / "2", {"models/m.sql": "select {{ tools.gret('x') }}"})
    assert "macro 'tools.gret' does not exist" in str(caught.value) and "greet" in str(caught.value)


def test_vars_are_seen_by_the_node_s_package(tmp_path: Path) -> None:
    # a root node does not see the package's own vars (dbt's rule); the project's scoped ones it does
    assert rendered(tmp_path, {"models/m.sql": "select '{{ tools.scope_var() }}' as v"}) == "select 'unset' as v"
    files = {"pds_project.yml": "name: proj\nvars:\n  proj:\n    tools_only: scoped\n",
             "models/m.sql": "select '{{ tools.scope_var() }}' as v"}
    assert rendered(tmp_path / "2", files) == "select 'scoped' as v"


def test_packages_as_the_loader_hands_them(tmp_path: Path) -> None:
    # the loader's Package: name, root, its rendered config (vars) and files; the Jinja side reads the
    # macro files from the package's root and takes the vars the loader rendered
    from types import SimpleNamespace

    from pds_core.jinja.packages import package_macros

    root = write_project(tmp_path / "p", PKG)
    pkg = SimpleNamespace(name="tools", root=root / "dbt_packages" / "tools",
                          config=SimpleNamespace(vars={"tools_only": "rendered"}), files=None)
    [got] = package_macros(SimpleNamespace(packages=[pkg], root=root))
    assert (got.name, got.macro_files, got.vars) == ("tools", ["macros/m.sql"], {"tools_only": "rendered"})
    assert package_macros(SimpleNamespace(packages=[], root=root)) == []  # the loader found none: none


def test_an_error_in_a_macro_names_the_macro_s_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as caught:
        rendered(tmp_path, {"models/m.sql": "select 1 as a,\n{{ tools.broken() }}"})
    error = caught.value
    assert str(error.location) == "dbt_packages/tools/macros/m.sql:7"
    assert "tools says no" in str(error) and "called from models/m.sql:2" in str(error)


def test_run_query_while_parsing_is_none_as_in_dbt(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as caught:  # unguarded by `if execute`, as dbt's parse fails too
        rendered(tmp_path, {"models/m.sql": "{% set r = run_query('select 1') %}select {{ r.columns[0] }}"})
    assert "models/m.sql:1" in str(caught.value) and "'None' has no attribute 'table'" in str(caught.value)
    # unused, or only tested, it is harmless (dbt: load_result(...).table of None)
    got = rendered(tmp_path / "2", {"models/m.sql": "{% set r = run_query('select 1') %}select {{ 1 if r else 0 }} as x"})
    assert got == "select 0 as x"


def test_relations_as_dbt_packages_inspect_them(tmp_path: Path) -> None:
    files = {"seeds/s.csv": "a\n1\n",
             "models/m.sql": """
                 {%- set r = ref('s') -%}
                 {%- set made = api.Relation.create(database='db', schema='sch', identifier='t') -%}
                 select '{{ r.identifier }}|{{ r.schema }}|{{ r.is_table }}|{{ r.get('metadata')['type'] }}' as a,
                        '{{ made }}|{{ made.include(database=false) }}|{{ adapter.quote('x') }}' as b,
                        '{{ this.identifier }}|{{ model.config.materialized }}|{{ target.type }}' as c
                 from {{ r }}
             """}
    sql = rendered(tmp_path, files)
    assert "'s|main|True|DuckDBRelation' as a" in sql
    assert """'"db"."sch"."t"|"sch"."t"|"x"' as b""" in sql
    assert "'m|view|duckdb' as c" in sql and sql.endswith("from \x1dref\x1fs\x1d")


def test_target_carries_the_profile_but_never_a_secret(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("PW_FOR_TEST", "s3cret-pw")
    files = {"profiles.yml": "proj:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: db.example\n"
                             "      user: u\n      dbname: analytics\n      schema: main\n"
                             "      password: \"{{ env_var('PW_FOR_TEST') }}\"\n      threads: 3\n",
             "models/m.sql": "select '{{ target | tojson }}' as t"}
    sql = rendered(tmp_path, files)  # parsing only: nothing connects
    assert "s3cret-pw" not in sql and "password" not in sql
    assert '"name": "dev"' in sql and '"threads": 3' in sql and '"database": "analytics"' in sql
    assert '"host": "db.example"' in sql and '"type": "postgres"' in sql


def test_docs_blocks_render_into_descriptions(tmp_path: Path) -> None:
    files = {"models/docs.md": "{% docs status %}\nThe order's **status**.\n{% enddocs %}\n",
             "models/m.sql": "select 1 as status",
             "models/m.yml": "version: 2\nmodels:\n  - name: m\n    description: 'Orders. {{ doc(\"status\") }}'\n"
                             "    columns:\n      - name: status\n        description: '{{ doc(\"status\") }}'\n"}
    project = load_project(write_project(tmp_path / "p", files))
    node = parse_manifest(project).nodes["model.proj.m"]
    assert node.description == "Orders. The order's **status**."
    assert node.columns["status"].description == "The order's **status**."


def test_generate_alias_and_schema_name_overrides(tmp_path: Path) -> None:
    files = {"macros/names.sql": """
                 {% macro generate_alias_name(custom_alias_name=none, node=none) -%}
                   {{ node.name ~ '_' ~ node.resource_type }}
                 {%- endmacro %}
             """,
             "seeds/s.csv": "a\n1\n",
             "models/m.sql": "{{ config(schema='marts') }}select 1 as a"}
    project = load_project(write_project(tmp_path / "p", files))
    nodes = parse_manifest(project).nodes
    assert str(nodes["model.proj.m"].relation).endswith("main_marts.m_model")  # the default schema rule kept
    assert str(nodes["seed.proj.s"].relation).endswith("main.s_seed")


def test_a_build_renders_introspecting_models_with_the_warehouse(tmp_path: Path) -> None:
    files = {"seeds/s.csv": "a,b\n1,x\n2,y\n",
             "models/m.sql": """
                 {%- set cols = adapter.get_columns_in_relation(ref('s')) -%}
                 {%- set values = tools.numbers() -%}
                 select '{{ cols | map(attribute='name') | join(',') }}' as names,
                        '{{ cols | map(attribute='data_type') | join(',') }}' as types,
                        {{ execute }} as executed
                 from {{ ref('s') }} limit 1
             """}
    root = write_project(tmp_path / "p", {**PKG, **files})
    pds(root, "build")
    import duckdb

    with duckdb.connect(str(root / "proj.duckdb"), read_only=True) as con:
        # the seed's whole numbers are INTEGER, as dbt-duckdb makes them
        assert con.execute("select * from main.m").fetchall() == [("a,b", "INTEGER,character varying(256)", True)]


def test_hooks_and_snapshot_blocks_render_with_the_warehouse(tmp_path: Path) -> None:
    """Hooks and snapshot blocks get the same context as models, connected: package macros, run_query,
    adapter look-ups, `this`; on-run-end hooks (no node) resolve ref()."""
    count = "run_query('select count(*) as n from ' ~ this).columns[0].values()[0]"
    files = {"pds_project.yml": "name: proj\n"
                                "on-run-start: \"create table if not exists main.hook_log (what varchar, n integer)\"\n"
                                "on-run-end: \"insert into main.hook_log select '{{ tools.greet('end') }}', count(*) "
                                "from {{ ref('m') }}\"\n",
             "seeds/s.csv": "a,b\n1,x\n2,y\n",
             "models/m.sql": "{{ config(materialized='table', post_hook=\"{% set n = " + count + " %}"
                             "insert into main.hook_log values ('{{ tools.greet(this.identifier) }}', {{ n }})\") }}\n"
                             "select * from {{ ref('s') }}\n",
             "snapshots/snap.sql": """
                 {% snapshot snap %}
                 {{ config(unique_key='a', strategy='check', check_cols='all') }}
                 {%- set cols = adapter.get_columns_in_relation(ref('s')) -%}
                 select {{ cols | map(attribute='name') | join(', ') }}, {{ execute }} as executed from {{ ref('s') }}
                 {% endsnapshot %}
             """}
    root = write_project(tmp_path / "p", {**PKG, **files})
    pds(root, "build")
    import duckdb

    with duckdb.connect(str(root / "proj.duckdb"), read_only=True) as con:
        assert con.execute("select * from main.hook_log").fetchall() == [("quack m", 2), ("quack end", 2)]
        assert con.execute("select a, b, executed, dbt_valid_to from main.snap order by a").fetchall() == \
            [(1, "x", True, None), (2, "y", True, None)]


# ---- dbt's cross-database macros, rendered for each adapter ------------------------------------------
def macro_sql(adapter_type: str, template: str) -> str:
    renderer = Renderer("proj", {}, {"type": adapter_type, "name": "ci", "schema": "s"})
    for path in internal_macro_files(adapter_type):
        renderer.add_macros(path.read_text(), path.name, INTERNAL)
    return " ".join(renderer.render(template, "t.sql", lambda _c: False)[0].split())


@pytest.mark.parametrize(("adapter_type", "expected"), [
    ("duckdb", "TEXT timestamp float integer bigint numeric(28,6) boolean"),
    ("postgres", "TEXT timestamp float integer bigint numeric(28,6) boolean"),
    ("snowflake", "TEXT timestamp float integer bigint numeric(28,6) boolean"),
    ("bigquery", "string timestamp FLOAT64 INT64 bigint numeric boolean"),
    ("spark", "string timestamp float integer bigint decimal(28,6) boolean"),
])
def test_type_macros_name_each_adapter_s_types(adapter_type: str, expected: str) -> None:
    names = ["type_string", "type_timestamp", "type_float", "type_int", "type_bigint", "type_numeric", "type_boolean"]
    assert macro_sql(adapter_type, " ".join(f"{{{{ dbt.{n}() }}}}" for n in names)) == expected


@pytest.mark.parametrize(("adapter_type", "expected"), [
    ("duckdb", "(d + cast(3 as bigint) * interval 1 day)|(date_diff('month', a::timestamp, b::timestamp))"
               "|arbitrary(x)|string_split(s, '-')[ 2 ]|now()"),
    ("postgres", "d + ((interval '1 day') * (3))|((date_part('year', (b)::date) - date_part('year', (a)::date)) * 12"
                 " + date_part('month', (b)::date) - date_part('month', (a)::date))|min(x)|split_part(s, '-', 2)|now()"),
    ("snowflake", "dateadd(day, 3, d)|datediff(month, a, b)|any_value(x)|split_part(s, '-', 2)"
                  "|convert_timezone('UTC', current_timestamp())"),
    ("bigquery", "datetime_add(cast(d as datetime), interval 3 day)|datetime_diff(cast(b as datetime), "
                 "cast(a as datetime), month)|any_value(x)|split(s, '-')[safe_offset(1)]|current_timestamp()"),
    ("spark", None),
])
def test_cross_database_macros_per_adapter(adapter_type: str, expected: str | None) -> None:
    sql = macro_sql(adapter_type, "{{ dbt.dateadd('day', 3, 'd') }}|{{ dbt.datediff('a', 'b', 'month') }}|"
                                  "{{ dbt.any_value('x') }}|{{ dbt.split_part('s', \"'-'\", 2) }}|"
                                  "{{ dbt.current_timestamp() }}")
    if expected is not None:
        assert sql == expected
    else:  # Spark: dbt-spark's forms (date_add on the date part plus the clock, months_between, first, split)
        assert sql.startswith("to_timestamp(to_unix_timestamp(date_add(coalesce(date(d)")
        assert "months_between(date(coalesce(date(b)" in sql and "|first(x)|" in sql and sql.endswith("current_timestamp()")
