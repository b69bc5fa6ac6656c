"""`--fail-fast` (-x), as dbt's: the first error or failing test ends the run; what runs is cancelled, nothing
more starts, and every node left is recorded as skipped. Without it the other branches still build."""

from __future__ import annotations

import json
from pathlib import Path

from tests.projects import output, pds, relations, write_project

FILES = {
    "seeds/people.csv": "id,name\n1,ann\n2,bob\n",
    "models/a_broken.sql": "{{ config(materialized='table') }}\nselect cast(name as integer) as n from {{ ref('people') }}\n",
    "models/b_fine.sql": "{{ config(materialized='table') }}\nselect id from {{ ref('people') }}\n",
    "models/c_fine.sql": "{{ config(materialized='table') }}\nselect name from {{ ref('people') }}\n",
    "models/schema.yml": "models:\n  - name: b_fine\n    columns:\n      - name: id\n        data_tests: [unique]\n",
}


def statuses(project: Path) -> dict[str, tuple[str, str]]:
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2 if r["unique_id"].startswith("test.") else -1]: (r["status"], r["message"] or "")
            for r in results}


def test_the_first_error_stops_the_run_and_the_rest_is_skipped(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    text = output(pds(project, "build", "--fail-fast", "--threads", "1", expect=1))
    got = statuses(project)
    assert got["people"][0] == "success" and got["a_broken"][0] == "error"
    for name in ("b_fine", "c_fine", "unique_b_fine_id"):
        assert got[name] == ("skipped", "skipped: --fail-fast stopped the run when a_broken failed"), got
    assert "b_fine" not in relations(project) and "c_fine" not in relations(project)
    assert "Traceback" not in text

    # without it, the branches that do not read the broken model are built and tested
    pds(project, "build", "--threads", "1", expect=1)
    got = statuses(project)
    assert got["b_fine"][0] == got["c_fine"][0] == got["unique_b_fine_id"][0] == "success"


def test_a_failing_test_stops_the_run_too(tmp_path):
    files = {**FILES, "models/a_broken.sql": "select 1 as n union all select 1\n",
             "models/schema.yml": "models:\n  - name: a_broken\n    columns:\n      - name: n\n"
                                  "        data_tests: [unique]\n"}
    project = write_project(tmp_path / "p", files)
    pds(project, "build", "-x", "--threads", "1", expect=1)
    got = statuses(project)
    assert got["unique_a_broken_n"][0] == "fail"
    assert got["b_fine"][0] == got["c_fine"][0] == "skipped"
    # DBT_FAIL_FAST in the environment is the same switch, as in dbt
    pds(project, "build", "--threads", "1", env={"DBT_FAIL_FAST": "true"}, expect=1)
    assert statuses(project)["c_fine"][0] == "skipped"


def test_a_running_query_is_cancelled(tmp_path):
    """Two threads: the long query running beside the broken model is cancelled, not waited for."""
    files = {**FILES, "models/b_fine.sql": "{{ config(materialized='table') }}\n"
                                           "select count(*) as n from range(100000000000) a\n"}
    project = write_project(tmp_path / "p", files)
    pds(project, "seed")
    pds(project, "run", "--fail-fast", "--threads", "2", "-s", "a_broken", "b_fine", expect=1)
    got = statuses(project)
    assert got["a_broken"][0] == "error"
    assert got["b_fine"] == ("skipped", "skipped: --fail-fast stopped the run when a_broken failed"), got
    assert "b_fine" not in relations(project)
