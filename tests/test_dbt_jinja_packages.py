"""What real dbt packages rely on beyond the context itself: their `{% test %}` blocks named with the
package (`tools.at_least`), undefined names printing as nothing inside their macros (dbt's Undefined;
the project's own templates stay strict), and models that render to nothing (or use empty answers)
while parsing because they ask the warehouse, as dbt_utils.union_relations and
get_query_results_as_dict do."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.projects import pds, write_project

PKG = {
    "dbt_packages/tools/dbt_project.yml": "name: tools\nversion: '1'\nconfig-version: 2\n",
    "dbt_packages/tools/macros/tests.sql": """
        {% test at_least(model, column_name, value) %}
          {{ return(adapter.dispatch('test_at_least', 'tools')(model, column_name, value)) }}
        {% endtest %}
        {% macro default__test_at_least(model, column_name, value) %}
          {% if group_by %}{{ group_by }}{% endif %}
          select * from {{ model }} where {{ column_name }} < {{ value }}{{ not_set_anywhere }}
        {% endmacro %}
        {% test counted(model) %}
          {{ config(fail_calc='sum(n)') }} select count(*) as n from {{ model }}
        {% endtest %}
    """,
    "dbt_packages/tools/macros/relations.sql": """
        {% macro union_of(relations) %}
          {%- if not execute -%}{{ return('') }}{%- endif -%}
          {%- for r in relations %}
          select '{{ r.identifier }}' as came_from, a from {{ r }}{% if not loop.last %} union all{% endif %}
          {%- endfor %}
        {% endmacro %}
        {% macro as_dict(sql) %}
          {%- call statement('as_dict', fetch_result=True) -%}{{ sql }}{%- endcall -%}
          {%- if execute -%}
            {{ return({'a': load_result('as_dict').table.columns['a'].values()}) }}
          {%- endif -%}
          {{ return({}) }}
        {% endmacro %}
    """,
}
FILES = {
    "seeds/s1.csv": "a\n1\n2\n",
    "seeds/s2.csv": "a\n3\n",
    "models/unioned.sql": "{{ tools.union_of([ref('s1'), ref('s2')]) }}",
    "models/total.sql": """
        {%- set d = tools.as_dict('select a from ' ~ ref('s1')) -%}
        select {{ d['a'] | sum }} as total, {{ d['a'][0] }} as first_a from {{ ref('unioned') }} limit 1
    """,
    "models/schema.yml": """
        version: 2
        models:
          - name: unioned
            columns:
              - name: a
                data_tests:
                  - tools.at_least: {arguments: {value: 1}}
                  - tools.at_least: {arguments: {value: 2}, config: {severity: warn}}
    """,
}


def test_package_tests_undefined_names_and_models_known_only_at_run_time(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {**PKG, **FILES})
    result = pds(root, "build")
    assert "1 warn" in result.stdout, result.stdout  # a = 1 is below 2: the package's test found it
    with duckdb.connect(str(root / "proj.duckdb"), read_only=True) as con:
        assert sorted(con.execute("select * from main.unioned").fetchall()) == [("s1", 1), ("s1", 2), ("s2", 3)]
        assert con.execute("select * from main.total").fetchall() == [(3, 1)]


def test_the_project_s_own_templates_stay_strict(tmp_path: Path) -> None:
    files = {**FILES, "models/typo.sql": "select 1 as a{{ not_set_anywhere }}"}
    result = pds(write_project(tmp_path / "p", {**PKG, **files}), "compile", expect=2)
    assert "models/typo.sql:1: undefined in template: 'not_set_anywhere' is undefined" in result.stderr


def test_a_test_counted_with_fail_calc_counts_its_calc_not_its_rows(tmp_path: Path) -> None:
    """`counted` returns one row (n = 3): counted by rows it would fail with 1; its fail_calc sum(n) says 3."""
    yml = "version: 2\nmodels:\n  - name: unioned\n    data_tests: [tools.counted]\n"
    result = pds(write_project(tmp_path / "p", {**PKG, **FILES, "models/schema.yml": yml}), "build", expect=1)
    assert "3 failures (fail_calc sum(n))" in result.stdout, result.stdout
