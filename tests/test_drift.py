"""Prediction drift: psi, ks, js_divergence and null_rate_change against a reference, per group, judged by
the same bounds as every metric; and the drift metric kinds as declared in schema YAML."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.quality import drift
from pds_core.quality.metric_defs import metric_from_yaml
from pds_core.quality.metrics import group_key, judge
from pds_core.quality.spec import Bound
from pds_core.yamlio import load_yaml_text
from tests.conftest import run_pds
from tests.quality_projects import write_project

RNG = np.random.default_rng(16)
REFERENCE = pd.Series(RNG.beta(2, 5, 20_000))  # churn probabilities
SAME = pd.Series(RNG.beta(2, 5, 15_000))  # a fresh sample of the same distribution
SHIFTED = pd.Series(RNG.beta(3, 4, 15_000))  # the model now scores everyone higher


def _never(_group: str, _n: int) -> list[float]:
    return []


@pytest.mark.parametrize("kind, limit", [("psi", 0.1), ("ks", 0.05), ("js_divergence", 0.02)])
def test_a_bound_trips_on_a_shifted_distribution_and_not_on_an_equal_one(kind, limit):
    bound = Bound("max", limit, "error")
    same, shifted = drift.measure(kind, SAME, REFERENCE), drift.measure(kind, SHIFTED, REFERENCE)
    assert same is not None and shifted is not None
    assert judge(same, bound, "", _never).status == "pass", (kind, same)
    assert judge(shifted, bound, "", _never).status == "fail", (kind, shifted)
    assert judge(shifted, Bound("max", limit, "warn"), "", _never).status == "warn"
    assert shifted > 5 * same


def test_ks_and_js_equal_scipy():
    assert drift.ks(SHIFTED, REFERENCE) == pytest.approx(stats.ks_2samp(SHIFTED, REFERENCE).statistic, abs=1e-12)
    cur, ref = drift.proportions(SHIFTED, REFERENCE, bins=10)
    assert drift.js_divergence(SHIFTED, REFERENCE) == pytest.approx(jensenshannon(cur, ref, base=2) ** 2, abs=1e-12)


def test_psi_binning_is_reference_quantiles_with_open_outer_bins_and_epsilon():
    reference = pd.Series(np.arange(1000, dtype=float))
    edges = drift.quantile_edges(reference, bins=4)
    assert edges.tolist() == pytest.approx([249.75, 499.5, 749.25])
    cur, ref = drift.proportions(pd.Series([-50.0, 2000.0]), reference, bins=4)  # outside the reference's range
    assert cur.tolist() == [0.5, 0, 0, 0.5] and ref.tolist() == pytest.approx([0.25] * 4)
    expected = 2 * (0.5 - 0.25) * np.log(0.5 / 0.25) + 2 * (1e-4 - 0.25) * np.log(1e-4 / 0.25)
    assert drift.psi(pd.Series([-50.0, 2000.0]), reference, bins=4) == pytest.approx(expected)
    assert drift.psi(reference, reference) == 0.0
    flags = pd.Series([0] * 70 + [1] * 30)  # ties: fewer bins, never an empty reference bin
    assert drift.psi(flags, flags) == 0.0 and drift.psi(pd.Series([1] * 100), flags) > 1


def test_categories_nulls_and_empty_sides():
    ref = pd.Series(["low", "medium", "high"] * 100)
    assert drift.psi(ref.sample(frac=1, random_state=1), ref) == pytest.approx(0.0)
    moved = pd.Series(["high"] * 200 + ["unknown"] * 100)  # a value the reference never had gets its own bin
    assert drift.psi(moved, ref) > 1 and drift.js_divergence(moved, ref) > 0.5
    with pytest.raises(ValueError, match="numeric"):
        drift.ks(moved, ref)
    with_nulls = pd.Series([0.1, None, 0.3, None])
    assert drift.null_rate_change(with_nulls, pd.Series([0.1, 0.2, 0.3, None])) == pytest.approx(0.25)
    assert drift.null_rate_change(pd.Series([0.1, 0.2]), with_nulls) == pytest.approx(-0.5)
    assert drift.psi(pd.Series([None, None], dtype=float), REFERENCE) is None
    assert drift.ks(pd.Series([], dtype=float), REFERENCE) is None
    days = pd.Series(pd.date_range("2025-01-01", periods=100, freq="D"))
    assert drift.psi(days + pd.Timedelta(days=200), days) > 5  # timestamps bin as numbers


def test_per_group_keys_match_metric_groups_and_missing_groups_have_no_value():
    current = pd.DataFrame({"segment": ["a"] * 3000 + ["b"] * 3000 + ["new"] * 10,
                            "score": np.concatenate([SAME[:3000], SHIFTED[:3000], SAME[:10]])})
    reference = pd.DataFrame({"segment": ["a"] * 5000 + ["b"] * 5000 + ["gone"] * 10,
                              "score": np.concatenate([REFERENCE[:5000], REFERENCE[5000:10000], REFERENCE[:10]])})
    values = drift.per_group("psi", current, reference, "score", ["segment"])
    key = {name: group_key(["segment"], (name,)) for name in ("a", "b", "new", "gone")}
    assert set(values) == set(key.values())
    assert values[key["a"]] < 0.05 < 0.1 < values[key["b"]]
    assert values[key["new"]] is None and values[key["gone"]] is None
    assert drift.per_group("ks", current, reference, "score", []) == {"": drift.ks(current.score, reference.score)}


def _node() -> Node:
    return Node(unique_id="model.shop.scores", name="scores", resource_type="model", path="models/scores.sql")


def _parse(text: str) -> drift.DriftMetricNode:
    entry = load_yaml_text(text, "models/schema.yml")
    return metric_from_yaml(entry, _node(), None, "models/schema.yml", 3, "shop", "duckdb")


def test_drift_kinds_parse_with_reference_bins_bounds_and_groups():
    metric = _parse("{type: psi, column: score, bins: 20, group_by: segment, bounds: {max: 0.2, severity: warn}}")
    assert isinstance(metric, drift.DriftMetricNode)
    assert (metric.kind, metric.column, metric.bins, metric.group_by) == ("psi", "score", 20, ["segment"])
    assert metric.reference == drift.Reference("last_run") and metric.name == "psi_score"
    assert [(b.kind, b.value, b.severity) for b in metric.bounds] == [("max", 0.2, "warn")]
    baseline = _parse("{name: score_ks, type: ks, column: score, reference: baseline_scores}")
    assert baseline.reference == drift.Reference("relation", "baseline_scores") and baseline.bins == 10
    assert baseline.to_dict()["reference"] == {"kind": "relation", "name": "baseline_scores", "unique_id": None}


@pytest.mark.parametrize("text, message", [
    ("{type: ks, column: score, bins: 5}", "bins: applies to psi and js_divergence"),
    ("{type: psi, column: score, bins: 1}", "bins must be a whole number from 2 to 1000"),
    ("{type: psi}", "needs a column"),
    ("{type: mean, column: score, reference: last_run}", "reference: applies to drift metrics"),
    ("{type: psi, column: score, refrence: last_run}", "unknown key 'refrence'"),
])
def test_bad_drift_declarations_point_at_the_file(text, message):
    with pytest.raises(ProjectError, match=message) as caught:
        _parse(text)
    assert str(caught.value.location.path) == "models/schema.yml"


def test_in_a_project_an_unknown_baseline_is_an_error_and_a_valid_one_a_dependency(tmp_path):
    """A baseline that is not in the project stops before anything runs, with the file and line; a valid
    one compiles, and the metric depends on it (so the DAG builds it first)."""
    bad = write_project(tmp_path / "bad", {"models/schema.yml": """
        models:
          - name: customer_scores
            columns:
              - name: score
                metrics:
                  - {type: psi, reference: customer_scorez, bounds: {max: 0.2}}
    """})
    result = run_pds("compile", "--project-dir", str(bad))
    assert result.returncode == 2, result.stderr
    assert "models/schema.yml:6" in result.stderr and "customer_scorez" in result.stderr
    assert "did you mean 'customer_scores'" in result.stderr and "Traceback" not in result.stderr
    good = write_project(tmp_path / "good", {"models/schema.yml": """
        models:
          - name: customer_scores
            columns:
              - name: score
                metrics:
                  - {type: js_divergence, reference: raw_orders, bounds: {max: 0.2}}
    """})
    result = run_pds("compile", "--project-dir", str(good))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((good / "target" / "manifest.json").read_text())
    assert manifest["parent_map"]["metric.shop.customer_scores.js_divergence_score"] == [
        "model.shop.customer_scores", "seed.shop.raw_orders"]
