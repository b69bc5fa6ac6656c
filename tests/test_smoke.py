"""The README's main job: build project_template on DuckDB and check what it produced."""

from __future__ import annotations

import duckdb

from tests.conftest import run_pds


def test_template_builds_and_persists(template_project):
    result = run_pds("build", "--project-dir", str(template_project))
    assert result.returncode == 0, result.stdout + result.stderr
    db = template_project / "pds.duckdb"
    assert db.exists()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select count(*) from main.customers").fetchone()[0] == 60
        n, lo, hi = con.execute("select count(*), min(churn_probability), max(churn_probability) "
                                "from main.churn_scores").fetchone()
        assert n == 60 and 0 <= lo <= hi <= 1
        completed = con.execute("select sum(amount_cents) / 100.0 from main.orders where status = 'completed'").fetchone()[0]
        revenue = con.execute("select sum(revenue) from main.daily_revenue").fetchone()[0]
        assert abs(completed - revenue) < 0.01
    finally:
        con.close()
