"""docs/project-reference.md's example of dbt's Python model form runs: written into a copy of
project_template, built, then built again incrementally after a new customer's order arrives."""

from __future__ import annotations

import re

import duckdb

from tests.conftest import ROOT, run_pds

DOC = ROOT / "docs" / "project-reference.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)


def test_dbt_python_model_example_runs_on_the_template(template_project):
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### dbt's form"):text.index("## Schema YAML")]
    [(path, body)] = CAPTIONED.findall(section)
    (template_project / path).write_text(body, encoding="utf-8")
    done = run_pds("build", "--project-dir", str(template_project))
    assert done.returncode == 0, done.stdout + done.stderr
    db = template_project / "pds.duckdb"
    query = ("select customer_id, sum(amount) from main.stg_orders group by 1 order by 1")
    with duckdb.connect(str(db), read_only=True) as con:
        expected = con.execute(query).fetchall()
        assert con.execute("select * from main.customer_scores order by 1").fetchall() == expected

    with open(template_project / "seeds/customers.csv", "a") as fh:  # a new customer, a later id
        fh.write("9999,Ann Z.,GB,pro,2025-01-01\n")
    with open(template_project / "seeds/orders.csv", "a") as fh:
        fh.write("9001,9999,2025-01-01,1250,completed\n")
    done = run_pds("build", "--project-dir", str(template_project))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "merge into" in done.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("select * from main.customer_scores order by 1").fetchall()
    assert got[:-1] == expected and got[-1][0] == 9999 and float(got[-1][1]) == 12.5
