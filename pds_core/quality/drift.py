"""Prediction drift: how far a column's distribution moved from a reference (the last successful run's
values, or a baseline table). Pure functions over arrays and DataFrames, so the metric runner, the
tests and a notebook all compute the same number; reading the reference is the runner's job.

Binning (psi, js_divergence), chosen so a score column with ties and a fresh run with values outside
the reference's range both behave:

- numeric columns: the edges are the reference's inner quantiles q1..q_{k-1} at 1/bins, ...,
  (bins-1)/bins (linear interpolation), duplicates dropped, so a column with many ties (a 0/1 flag,
  a constant) gets fewer bins rather than empty ones. Bins are closed on the right and the outer ones
  open: (-inf, q1], (q1, q2], ..., (q_{k-1}, +inf), so a current value below the reference's minimum
  or above its maximum still lands in a bin. Dates and timestamps are
  binned as numbers (nanoseconds); booleans as categories.
- other columns (strings, categories, booleans): one bin per value seen in the reference plus one for
  values the reference never had.
- nulls are left out of all three distribution measures; null_rate_change is the measure for them.
- psi clips each bin's proportion to at least `epsilon` (1e-4 by default) before the logarithm, so a
  bin empty on one side gives a large but finite contribution instead of infinity.

ks is the two-sample Kolmogorov-Smirnov statistic D = max |F_current(x) - F_reference(x)| (numeric
columns only), computed with numpy; it equals scipy.stats.ks_2samp's statistic. js_divergence is the
Jensen-Shannon divergence in bits (base 2), so it lies in [0, 1] — the square of scipy's
jensenshannon distance. An empty side gives None (no value), which a min/max bound reports as such.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pds_core.quality.metrics import group_key
from pds_core.quality.spec import MetricNode

if TYPE_CHECKING:  # numpy and pandas load when a drift metric is measured, not when a project is parsed
    import numpy as np
    import pandas as pd

EPSILON = 1e-4
DEFAULT_BINS = 10
LAST_RUN = "last_run"


def _numeric(values: pd.Series) -> bool:
    import pandas as pd

    return (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)) \
        or pd.api.types.is_datetime64_any_dtype(values)


def _as_float(values: pd.Series) -> np.ndarray:
    """Non-null values as float64 (timestamps as nanoseconds since the epoch)."""
    import pandas as pd

    values = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("int64").to_numpy(dtype="float64")
    return values.to_numpy(dtype="float64")


def _series(values: Any) -> pd.Series:
    import pandas as pd

    return values if isinstance(values, pd.Series) else pd.Series(values)


def quantile_edges(reference: Any, bins: int = DEFAULT_BINS) -> np.ndarray:
    """The inner bin edges q1..q_{k-1} from the reference's quantiles (see the module docstring)."""
    import numpy as np

    if bins < 2:
        raise ValueError("bins must be at least 2")
    ref = _as_float(_series(reference))
    if ref.size == 0:
        return np.array([])
    return np.unique(np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))  # outer bins open to +-inf


def proportions(current: Any, reference: Any, bins: int = DEFAULT_BINS) -> tuple[np.ndarray, np.ndarray] | None:
    """The share of non-null current and reference values in each bin; None when a side has none."""
    import numpy as np
    import pandas as pd

    cur, ref = _series(current), _series(reference)
    if cur.dropna().empty or ref.dropna().empty:
        return None
    if _numeric(ref) and _numeric(cur):
        edges = quantile_edges(ref, bins)
        counts = [np.bincount(np.searchsorted(edges, _as_float(side), side="left"), minlength=edges.size + 1)
                  for side in (cur, ref)]
    else:
        categories = pd.Index(ref.dropna().astype(str).unique())
        counts = []
        for side in (cur, ref):
            codes = categories.get_indexer(side.dropna().astype(str))
            counts.append(np.bincount(np.where(codes < 0, categories.size, codes), minlength=categories.size + 1))
    cur_counts, ref_counts = (c.astype("float64") for c in counts)
    return cur_counts / cur_counts.sum(), ref_counts / ref_counts.sum()


def psi(current: Any, reference: Any, bins: int = DEFAULT_BINS, epsilon: float = EPSILON) -> float | None:
    """Population stability index: sum over bins of (cur - ref) * ln(cur / ref). Rule of thumb:
    < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift."""
    import numpy as np

    shares = proportions(current, reference, bins)
    if shares is None:
        return None
    cur, ref = (np.clip(s, epsilon, None) for s in shares)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def js_divergence(current: Any, reference: Any, bins: int = DEFAULT_BINS) -> float | None:
    """Jensen-Shannon divergence in bits over the same bins as psi: 0 for equal distributions, 1 for
    disjoint ones; symmetric and finite without an epsilon (0 * log 0 counts as 0)."""
    import numpy as np

    shares = proportions(current, reference, bins)
    if shares is None:
        return None
    cur, ref = shares
    mid = (cur + ref) / 2

    def kl(p: np.ndarray) -> float:
        used = p > 0
        return float(np.sum(p[used] * np.log2(p[used] / mid[used])))

    return max(0.0, (kl(cur) + kl(ref)) / 2)


def ks(current: Any, reference: Any) -> float | None:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs."""
    import numpy as np

    cur_s, ref_s = _series(current), _series(reference)
    if not (_numeric(cur_s) or cur_s.dropna().empty) or not (_numeric(ref_s) or ref_s.dropna().empty):
        raise ValueError("ks needs a numeric column; use psi or js_divergence for categories")
    cur, ref = np.sort(_as_float(cur_s)), np.sort(_as_float(ref_s))
    if cur.size == 0 or ref.size == 0:
        return None
    points = np.concatenate([cur, ref])
    gap = np.searchsorted(cur, points, side="right") / cur.size - np.searchsorted(ref, points, side="right") / ref.size
    return float(np.max(np.abs(gap)))


def null_rate_change(current: Any, reference: Any) -> float | None:
    """Current null rate minus the reference's, as a fraction (0.05 = five points more nulls); signed,
    so `max: 0.05` catches a rise and `min: -0.05` a fall."""
    cur, ref = _series(current), _series(reference)
    if cur.empty or ref.empty:
        return None
    return float(cur.isna().mean() - ref.isna().mean())


MEASURES: dict[str, Callable[..., float | None]] = {
    "psi": psi, "ks": ks, "js_divergence": js_divergence, "null_rate_change": null_rate_change}
BINNED = ("psi", "js_divergence")


def measure(kind: str, current: Any, reference: Any, bins: int = DEFAULT_BINS) -> float | None:
    """One drift measure by its metric type name."""
    if kind in BINNED:
        return MEASURES[kind](current, reference, bins=bins)
    return MEASURES[kind](current, reference)


def per_group(kind: str, current: pd.DataFrame, reference: pd.DataFrame, column: str, group_by: list[str],
              bins: int = DEFAULT_BINS) -> dict[str, float | None]:
    """The measure for each group of `group_by` columns, keyed like every metric's groups
    (metrics.group_key); ungrouped gives the single key ''. A group the reference lacks gets None
    (nothing to compare with), and so does a reference group absent from the current rows."""
    if not group_by:
        return {"": measure(kind, current[column], reference[column], bins)}
    cur_groups = {_key(k): frame for k, frame in current.groupby(group_by, dropna=False, sort=True)}
    ref_groups = {_key(k): frame for k, frame in reference.groupby(group_by, dropna=False, sort=True)}
    values: dict[str, float | None] = {}
    for key in sorted(set(cur_groups) | set(ref_groups), key=str):
        cur, ref = cur_groups.get(key), ref_groups.get(key)
        value = None if cur is None or ref is None else measure(kind, cur[column], ref[column], bins)
        values[group_key(group_by, key)] = value
    return dict(sorted(values.items()))


def _key(key: Any) -> tuple[Any, ...]:
    import pandas as pd

    values = key if isinstance(key, tuple) else (key,)
    return tuple(None if pd.isna(v) else v for v in values)


@dataclass
class Reference:
    """What a drift metric compares with: the values of the last successful run (kept by the runner),
    or a baseline relation of the project (a model or seed name, or 'source_name.table')."""

    kind: str  # last_run | relation
    name: str | None = None  # the relation's name as written
    unique_id: str | None = None  # resolved against the manifest once parsed


@dataclass
class DriftMetricNode(MetricNode):
    """A ready-made drift metric (psi, ks, js_divergence, null_rate_change) on one column. A MetricNode,
    so bounds, severities, history and results tables work unchanged; the extra fields say where the
    reference comes from and how to bin."""

    reference: Reference = field(default_factory=lambda: Reference(LAST_RUN))
    bins: int = DEFAULT_BINS
