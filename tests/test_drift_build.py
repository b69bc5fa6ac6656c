"""Drift metrics through the real CLI: psi, ks, js_divergence and null_rate_change against the last
successful run and against a baseline model, per group; a shifted distribution trips an error bound and
holds back the export; the values' history and the kept profiles in the results tables."""

from __future__ import annotations

import json

import duckdb
import pytest

from pds_core.quality import drift
from tests.conftest import run_pds
from tests.quality_projects import query, write_project

N = 6000
# deterministic scores in [0, 1); --vars shift moves segment b only, nulls adds missing scores
SCORES_SQL = f"""
    select i as id, case when i % 2 = 0 then 'a' else 'b' end as segment,
           case when {{{{ var('nulls') }}}} > 0 and i % 10 = 0 then null
                else ((i * 7919) % 1000) / 1000.0 + case when i % 2 = 1 then {{{{ var('shift') }}}} else 0 end
           end as score
    from range({N}) t(i)
"""
BASELINE_SQL = f"select i as id, ((i * 7919) % 1000) / 1000.0 as score from range({N}) t(i)"
SCHEMA = """
    models:
      - name: scores
        config: {materialized: table}
        columns:
          - name: score
            metrics:
              - {type: psi, bounds: {max: 0.2, severity: error}}
              - {type: js_divergence, group_by: [segment], bounds: {max: 0.05, severity: warn}}
              - {type: null_rate_change, bounds: {max: 0.05}}
              - {name: ks_vs_baseline, type: ks, reference: baseline, bounds: {max: 0.1, severity: warn}}
        exports:
          - name: scores_csv
            file: {path: exports/scores.csv}
      - name: baseline
        config: {materialized: table}
"""


def _frame(shift: float = 0.0, nulls: int = 0):
    sql = SCORES_SQL.replace("{{ var('shift') }}", str(shift)).replace("{{ var('nulls') }}", str(nulls))
    return duckdb.sql(sql).df()


def _values(root, metric: str) -> list[tuple]:
    return query(root, "select group_key, value, status from pds_results.pds_metric_values where metric = ? "
                       "order by measured_at, group_key", [metric])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("drift") / "shop", {
        "pds_project.yml": "name: shop\nprofile: shop\nvars: {shift: 0, nulls: 0, bad_rows: 0, scale: 1}\n",
        "models/scores.sql": SCORES_SQL, "models/baseline.sql": BASELINE_SQL, "models/scores.yml": SCHEMA})
    outputs = []
    for shift, nulls in ((0, 0), (0, 0), (0.35, 0), (0, 0), (0, 1)):
        done = run_pds("build", "--project-dir", str(root), "-s", "scores", "-s", "baseline", "--vars",
                       f"{{shift: {shift}, nulls: {nulls}}}")
        outputs.append(done)
    return root, outputs


def test_first_run_keeps_a_reference_and_a_stable_run_passes(built):
    root, outputs = built
    assert outputs[0].returncode == 0, outputs[0].stdout
    assert "metric psi_score: no reference yet" in outputs[0].stdout
    assert outputs[1].returncode == 0, outputs[1].stdout
    psi = _values(root, "psi_score")
    assert psi[0] == ("", pytest.approx(0.0, abs=1e-4), "pass")  # the same rows (their 2,001 quantiles)
    ks = _values(root, "ks_vs_baseline")  # a baseline needs no history: measured from the first run
    assert ks[0][1] == pytest.approx(drift.ks(_frame().score, duckdb.sql(BASELINE_SQL).df().score))


def test_a_shift_trips_the_error_bound_and_holds_back_the_export(built):
    root, outputs = built
    shifted = outputs[2]
    assert shifted.returncode == 1, shifted.stdout
    assert "FAIL psi_score: metric psi_score = " in shifted.stdout and "> max 0.2" in shifted.stdout
    assert "SKIP  export scores_csv: skipped: metric psi_score is out of bounds (error)" in shifted.stdout
    psi = _values(root, "psi_score")[1]
    exact = drift.psi(_frame(0.35).score, _frame().score)  # against every value of the run before
    assert psi[2] == "fail" and psi[1] == pytest.approx(exact, rel=0.02)  # the kept quantiles stand for them
    js = [v for v in _values(root, "js_divergence_score") if v[0]][2:4]  # this run's two groups
    assert [(json.loads(g)["segment"], s) for g, _v, s in js] == [("a", "pass"), ("b", "warn")]
    assert js[0][1] == pytest.approx(0.0, abs=1e-3) and js[1][1] > 0.05
    # the failed run did not become the reference: the next run, back to normal, compares with run 2
    assert outputs[3].returncode == 0, outputs[3].stdout
    assert _values(root, "psi_score")[2][1] == pytest.approx(0.0, abs=1e-4)


def test_null_rate_change_and_the_kept_profiles(built):
    root, outputs = built
    assert outputs[4].returncode == 1
    assert _values(root, "null_rate_change_score")[-1] == ("", pytest.approx(0.1), "fail")
    kept = query(root, "select unique_id, count(distinct run_id) from pds_results.pds_drift_profiles "
                       "group by unique_id order by unique_id")
    # each metric keeps the runs it did not fail: psi all but the shifted run 3, null_rate_change all but
    # the last; a baseline's metric keeps none (its reference is the baseline)
    assert kept == [("metric.shop.scores.js_divergence_score", 5), ("metric.shop.scores.null_rate_change_score", 4),
                    ("metric.shop.scores.psi_score", 4)]
    kind, rows, nulls, profile = query(root, "select value_kind, row_count, null_count, profile from "
                                             "pds_results.pds_drift_profiles where unique_id = "
                                             "'metric.shop.scores.psi_score' order by measured_at limit 1")[0]
    points = json.loads(profile)
    assert (kind, rows, nulls, len(points)) == ("numeric", N, 0, 2001) and points == sorted(points)
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert "drift_profiles" not in json.dumps(results)  # kept in the warehouse, not in the artifact
    history = run_pds("metrics", "psi_score", "--project-dir", str(root))
    assert history.returncode == 0 and "scores.psi_score" in history.stdout, history.stdout
