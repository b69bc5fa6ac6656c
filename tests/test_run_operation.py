"""`pds run-operation`: a macro called connected, as dbt's run-operation calls it; and `log(..., info=True)`."""

from __future__ import annotations

import json
import uuid

import yaml

from tests import engine_postgres
from tests.projects import needs_postgres, output, pds, query, write_project

MACROS = """
{% macro make_audit(days=1, label='daily') %}
  {% do run_query("create table audit_" ~ label ~ " as select " ~ days ~ " as days") %}
  {{ log("made audit_" ~ label ~ " for " ~ days ~ " days", info=true) }}
  drop table keep_me
{% endmacro %}

{% macro broken() %}
  {% do run_query("select * from no_such_table") %}
{% endmacro %}
"""

FILES = {
    "models/keep_me.sql": "{{ config(materialized='table') }}\n{{ log('parsed keep_me', info=true) }}\nselect 1 as id\n",
    "macros/ops.sql": MACROS,
}


def run_results(project):
    return json.loads((project / "target" / "run_results.json").read_text())


def test_a_macro_runs_with_its_arguments_and_its_rendered_text_is_not_run(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    pds(project, "build")
    text = output(pds(project, "run-operation", "make_audit", "--args", "{days: 7, label: weekly}"))
    assert "made audit_weekly for 7 days" in text  # log(..., info=True) is shown
    assert query(project, "select days from audit_weekly") == [(7,)]
    assert query(project, "select id from keep_me") == [(1,)]  # what the macro renders is dropped, as in dbt
    results = run_results(project)
    assert results["command"] == "run-operation"
    [result] = results["results"]
    assert (result["unique_id"], result["resource_type"], result["status"]) == \
        ("macro.proj.make_audit", "operation", "success")
    # the defaults of the macro's arguments apply; the project's own name reaches it as a package too
    pds(project, "run-operation", "proj.make_audit")
    assert query(project, "select days from audit_daily") == [(1,)]


def test_a_failing_macro_fails_the_run_and_a_wrong_name_is_a_project_error(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    text = output(pds(project, "run-operation", "broken", expect=1))
    assert "no_such_table" in text and "macros/ops.sql" in text and "Traceback" not in text
    [result] = run_results(project)["results"]
    assert (result["unique_id"], result["status"]) == ("macro.proj.broken", "error")

    text = output(pds(project, "run-operation", "make_audt", expect=2))
    assert "no macro named 'make_audt' in the project or its packages" in text and "did you mean 'make_audit'" in text
    text = output(pds(project, "run-operation", "make_audit; drop table keep_me", expect=2))
    assert "is not a macro name" in text
    text = output(pds(project, "run-operation", "make_audit", "--args", "[1, 2]", expect=2))
    assert "--args" in text


def test_log_info_is_shown_when_parsing_and_running(tmp_path):
    files = {**FILES, "models/b.sql": "{% if execute %}{{ log('running b', info=true) }}{% endif %}\nselect 2 as id\n"}
    project = write_project(tmp_path / "p", files)
    text = output(pds(project, "build"))
    assert "parsed keep_me" in text and "running b" in text


@needs_postgres
def test_run_query_with_ddl_in_an_operation_on_postgres(tmp_path):
    """A statement that returns no rows (CREATE TABLE AS) through run_query: no rows, as dbt gives, not an error."""
    schema = f"pds_op_{uuid.uuid4().hex[:8]}"
    with engine_postgres.target(schema) as settings:
        macros = MACROS.replace('"create table audit_"', '"create table " ~ target.schema ~ ".audit_"')
        profile = {"proj": {"target": "pg", "outputs": {"pg": settings}}}
        project = write_project(tmp_path / "p", {**FILES, "macros/ops.sql": macros,
                                                 "profiles.yml": yaml.safe_dump(profile)})
        pds(project, "build")
        pds(project, "run-operation", "make_audit", "--args", "{days: 3, label: pg}")
        with engine_postgres.connect() as con:
            assert con.execute(f"select days from {schema}.audit_pg").fetchall() == [(3,)]
            assert con.execute(f"select id from {schema}.keep_me").fetchall() == [(1,)]
