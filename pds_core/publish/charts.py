"""Charts of a model's rows, declared under `charts:` in schema YAML and rendered with Vega-Lite:

    models:
      - name: churn_scores
        charts:
          - name: churn_by_band
            type: bar                 # line | bar | area | scatter | histogram
            x: risk_band
            y: churn_probability
            aggregate: mean           # count | sum | mean | median | min | max | distinct
            color: segment            # optional: one series / colour per value
            facet: region             # optional: one small chart per value
            title: Mean churn probability by risk band
            path: "charts/{model}_{run_date}.html"
            formats: [html, svg, png]

Why it is built this way:
- A chart naming a column the model does not have is a ProjectError with the file and line, found
  when the project is parsed (the caller passes the model's known columns), not a blank chart later.
- The rows are aggregated, binned (histograms) or, as a last resort, sampled in pandas before they go
  into the spec, so a chart of a 1,000,000-row model is a small file; a sample is said in the subtitle.
- HTML is written from our own small template with the Vega, Vega-Lite and vega-embed JavaScript
  inlined (vl-convert's bundle): it opens offline and from file://. The spec goes in a
  <script type="application/json"> with <, > and & escaped, so a value such as '</script>' in the
  model's rows cannot inject markup. SVG and PNG come from vl-convert, which runs Vega in-process.
- Every file is written to a temporary name in its folder and renamed over the old one.
"""

from __future__ import annotations

import html
import json
import os
import re
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pds_core.config import check_keys
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean

if TYPE_CHECKING:  # parsing charts (pds ls, compile) must not load pandas
    import pandas as pd

TYPES = ("line", "bar", "area", "scatter", "histogram")
AGGREGATES = {"count": "count", "sum": "sum", "mean": "mean", "median": "median", "min": "min", "max": "max",
              "distinct": "nunique"}
SQL_NAMES = {"avg": "mean", "average": "mean", "total": "sum", "nunique": "distinct", "count_distinct": "distinct"}
FORMATS = ("html", "svg", "png")
FIELDS = ("x", "y", "color", "facet")
CHART_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "type": (str,), "x": (str,), "y": (str,), "color": (str,), "facet": (str,),
    "aggregate": (str,), "title": (str,), "bins": (int,), "width": (int,), "height": (int,), "max_rows": (int,),
    "path": (str,), "formats": (list, str), "description": (str,)}
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
TEMP_MARK = ".pds-tmp-"
EXAMPLE = "charts:\n  - name: churn_by_band\n    type: bar\n    x: risk_band\n    y: churn_probability\n    aggregate: mean"


class ChartError(ValueError):
    """A chart that cannot be drawn from the rows it got (a column missing or of the wrong kind)."""


@dataclass
class ChartSpec:
    """One chart of one model, as declared (validated; nothing rendered yet)."""

    name: str
    model: str
    type: str
    x: str
    y: str | None = None
    color: str | None = None
    facet: str | None = None
    aggregate: str | None = None
    title: str | None = None
    bins: int = 20  # histogram: the number of equal-width bins
    width: int = 480
    height: int = 300
    max_rows: int = 5000  # points drawn at most; more rows (unaggregated) are sampled, and the chart says so
    path: str | None = None  # where the chart is published, with {placeholders}; None: the docs site only
    formats: list[str] = field(default_factory=lambda: ["html", "svg"])
    description: str = ""
    yaml_path: str = ""
    line: int | None = None

    def fields(self) -> list[str]:
        return [value for key in FIELDS if (value := getattr(self, key))]


def parse_charts(entries: Any, model: str, columns: Collection[str] | None, path: str, line: int | None,
                 placeholders: Collection[str] = ()) -> list[ChartSpec]:
    """The `charts:` list of one model. `columns` are the model's known columns (None when not known
    before it runs: the fields are then checked against the rows when rendering); `placeholders` the
    names a path may use. All mistakes are reported together, each with its line."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ProjectError(f"charts: of {model} must be a list", path, line, hint=EXAMPLE)
    charts: list[ChartSpec] = []
    errors: list[ProjectError] = []
    for index, entry in enumerate(entries):
        item_line = entries.line_of(index) if hasattr(entries, "line_of") else line
        try:
            chart = parse_chart(entry, model, columns, path, item_line, placeholders)
            if any(c.name == chart.name for c in charts):
                raise ProjectError(f"two charts of {model} are named {chart.name!r}", path, item_line)
            charts.append(chart)
        except ProjectErrors as exc:
            errors += exc.errors
        except ProjectError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    return charts


def parse_chart(entry: Any, model: str, columns: Collection[str] | None, path: str, line: int | None,
                placeholders: Collection[str] = ()) -> ChartSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ProjectError("each chart needs a 'name:'", path, line, hint=EXAMPLE)
    check_keys(entry, CHART_KEYS, path, f"chart {entry['name']!r}")
    line_of = getattr(entry, "line_of", lambda _k: None)
    name, where = entry["name"], f"chart {entry['name']!r} of {model}"
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ProjectError(f"chart name {name!r} must be letters, digits and _", path, line)
    kind = str(entry.get("type") or "")
    if kind not in TYPES:
        raise ProjectError(f"{where} needs type: one of {', '.join(TYPES)}" + (f" (got {kind!r})" if kind else ""),
                           path, line_of("type") or line, hint=did_you_mean(kind, TYPES) if kind else None)
    if not entry.get("x"):
        raise ProjectError(f"{where} needs x: (a column)", path, line, hint=EXAMPLE)
    aggregate = entry.get("aggregate")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ProjectError(f"unknown aggregate {aggregate!r} in {where}", path, line_of("aggregate") or line,
                           hint=(f"did you mean {SQL_NAMES[aggregate]!r}?" if aggregate in SQL_NAMES else None)
                           or did_you_mean(str(aggregate), AGGREGATES) or f"use one of {', '.join(AGGREGATES)}")
    if kind == "histogram":
        for key in ("y", "aggregate"):
            if entry.get(key) is not None:
                raise ProjectError(f"a histogram counts rows per bin of x: {key}: does not apply ({where})", path,
                                   line_of(key) or line, hint="remove it, or use type: bar with aggregate:")
    elif not entry.get("y") and aggregate != "count":
        raise ProjectError(f"{where} needs y: (a column), or aggregate: count", path, line, hint=EXAMPLE)
    if "bins" in entry and kind != "histogram":
        raise ProjectError(f"bins: applies to histograms ({where})", path, line_of("bins") or line)
    for key, low, high in (("bins", 2, 500), ("width", 50, 4000), ("height", 50, 4000), ("max_rows", 10, 1_000_000)):
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not low <= value <= high):
            raise ProjectError(f"{key} of {where} must be a whole number from {low} to {high}", path,
                               line_of(key) or line)
    resolved = {key: str(entry[key]) for key in FIELDS if entry.get(key) is not None}
    if columns is not None:  # warehouses differ in case: match ignoring it, keep the model's spelling
        known = {str(c).lower(): str(c) for c in columns}
        for key, value in resolved.items():
            if value.lower() not in known:
                raise ProjectError(f"{where}: {key}: {value!r} is not a column of {model}", path, line_of(key) or line,
                                   hint=did_you_mean(value, known.values())
                                   or f"columns: {', '.join(sorted(known.values())) or '(none known)'}")
            resolved[key] = known[value.lower()]
    formats = entry.get("formats") or ["html", "svg"]
    formats = [formats] if isinstance(formats, str) else [str(f).lower() for f in formats]
    for fmt in formats:
        if fmt not in FORMATS:
            raise ProjectError(f"unknown chart format {fmt!r} in {where}", path, line_of("formats") or line,
                               hint=did_you_mean(fmt, FORMATS) or f"formats: {', '.join(FORMATS)}")
    target = entry.get("path")
    if target is not None:
        for placeholder in PLACEHOLDER.findall(target):
            if placeholder not in placeholders:
                raise ProjectError(f"unknown placeholder {{{placeholder}}} in the path of {where}", path,
                                   line_of("path") or line, hint=did_you_mean(placeholder, placeholders))
    settings = {k: entry[k] for k in ("bins", "width", "height", "max_rows") if entry.get(k) is not None}
    return ChartSpec(name=name, model=model, type=kind, x=resolved["x"], y=resolved.get("y"),
                     color=resolved.get("color"), facet=resolved.get("facet"), aggregate=aggregate,
                     title=entry.get("title"), path=target,
                     formats=list(dict.fromkeys(formats)), description=str(entry.get("description") or ""),
                     yaml_path=path, line=line, **settings)


# ---- data and spec ---------------------------------------------------------------------------------
def _kind(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "nominal"
    if pd.api.types.is_numeric_dtype(series):
        return "quantitative"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "temporal"
    return "nominal"


def _free(name: str, taken: Collection[str]) -> str:
    while name in taken:
        name = f"{name}_"
    return name


def chart_data(chart: ChartSpec, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str], str | None]:
    """The rows the chart draws (aggregated, binned or sampled), the field names in them for x, y
    (and x2 for histograms), and a note when the rows are a sample."""
    missing = [f for f in chart.fields() if f not in frame.columns]
    if missing:
        raise ChartError(f"chart {chart.name}: {chart.model} has no column {missing[0]!r}")
    keys = list(dict.fromkeys(f for f in (chart.x, chart.color, chart.facet) if f))
    if chart.type == "histogram":
        return _histogram(chart, frame, keys)
    if chart.aggregate:
        out = _free(chart.y or "rows", keys)
        grouped = frame.groupby(keys, dropna=False, sort=True)
        if chart.aggregate == "count":
            data = (grouped[chart.y].count() if chart.y else grouped.size()).rename(out).reset_index()
        else:
            data = grouped[str(chart.y)].agg(AGGREGATES[chart.aggregate]).rename(out).reset_index()
        return data, {"x": chart.x, "y": out}, None
    data, note = frame[list(dict.fromkeys([*keys, str(chart.y)]))], None
    if len(data) > chart.max_rows:
        note = f"a sample of {chart.max_rows:,} of {len(data):,} rows"
        data = data.sample(n=chart.max_rows, random_state=0)
    if chart.type in ("line", "area"):
        data = data.sort_values(chart.x, kind="stable")
    return data, {"x": chart.x, "y": str(chart.y)}, note


def _histogram(chart: ChartSpec, frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, dict[str, str], None]:
    import numpy as np
    import pandas as pd

    values = frame[chart.x]
    if _kind(values) != "quantitative":
        raise ChartError(f"chart {chart.name}: a histogram needs a numeric x; {chart.x!r} is not "
                         "(use type: bar with aggregate: count)")
    edges = np.histogram_bin_edges(values.dropna().to_numpy(dtype="float64"), bins=chart.bins) \
        if values.notna().any() else np.array([0.0, 1.0])
    start, end, count = _free("bin_start", keys), _free("bin_end", keys), _free("rows", keys)
    groups = [k for k in keys if k != chart.x]
    parts = frame.groupby(groups, dropna=False, sort=True) if groups else [((), frame)]
    rows = []
    for key, part in parts:
        counts, _ = np.histogram(part[chart.x].dropna().to_numpy(dtype="float64"), bins=edges)
        labels = dict(zip(groups, key if isinstance(key, tuple) else (key,), strict=True))
        rows += [{**labels, start: float(lo), end: float(hi), count: int(n)}
                 for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)]
    return pd.DataFrame(rows), {"x": start, "x2": end, "y": count}, None


def _field(name: str) -> str:
    """A column name as a Vega-Lite field: dots and brackets would otherwise mean nested access."""
    return re.sub(r"([.\[\]\\])", r"\\\1", name)


def vega_lite(chart: ChartSpec, frame: pd.DataFrame) -> dict[str, Any]:
    """The chart's Vega-Lite spec (a dict), built and validated with Altair, the rows inlined."""
    import altair as alt

    data, names, note = chart_data(chart, frame)
    title = chart.title or f"{chart.model}: {chart.name.replace('_', ' ')}"
    mark = {"line": "line", "bar": "bar", "area": "area", "scatter": "point", "histogram": "bar"}[chart.type]
    x_kind = _kind(frame[chart.x])
    if chart.type == "bar" and x_kind == "quantitative":
        x_kind = "ordinal"  # one bar per value
    y_title = f"{chart.aggregate} of {chart.y}" if chart.aggregate and chart.y else \
        ("rows" if chart.aggregate or chart.type == "histogram" else str(chart.y))
    encoding: dict[str, Any] = {
        "x": alt.X(field=_field(names["x"]), type="quantitative" if "x2" in names else x_kind, title=chart.x,
                   **({"bin": "binned"} if "x2" in names else {})),
        "y": alt.Y(field=_field(names["y"]), type="quantitative", title=y_title)}
    if "x2" in names:
        encoding["x2"] = alt.X2(field=_field(names["x2"]))
    if chart.color:
        encoding["color"] = alt.Color(field=_field(chart.color), type=_kind(frame[chart.color]), title=chart.color)
    if chart.facet:
        encoding["facet"] = alt.Facet(field=_field(chart.facet), type="nominal", columns=3, title=chart.facet)
    encoding["tooltip"] = [alt.Tooltip(field=_field(c), type=_kind(data[c])) for c in data.columns]
    spec = alt.Chart().mark_point(filled=True) if mark == "point" else getattr(alt.Chart(), f"mark_{mark}")()
    spec = spec.encode(**encoding).properties(
        title=alt.TitleParams(title, subtitle=[note]) if note else title, width=chart.width, height=chart.height)
    result = spec.to_dict()
    result["data"] = {"values": json.loads(data.to_json(orient="records", date_format="iso", double_precision=15))}
    if chart.description:
        result["description"] = chart.description
    return result


# ---- rendering ----------------------------------------------------------------------------------------
HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="generator" content="pds (Vega-Lite {version}, inlined)">
<style>body{{font-family:system-ui,sans-serif;margin:24px}}</style>
<script>{bundle}</script></head>
<body><div id="chart"></div>
<script type="application/json" id="pds-chart-spec">{spec}</script>
<script>
vegaEmbed("#chart", JSON.parse(document.getElementById("pds-chart-spec").textContent),
          {{renderer: "svg", actions: {{export: true, source: false, compiled: false, editor: false}}}})
  .catch(function (e) {{ document.getElementById("chart").textContent = "The chart could not be drawn: " + e; }});
</script></body></html>
"""


class ChartRenderer:
    """Renders Vega-Lite specs offline with vl-convert. Holds the JavaScript bundle once built (it takes
    seconds), so one renderer per publish run serves every chart."""

    def __init__(self) -> None:
        import altair as alt
        import vl_convert as vlc

        self._vlc = vlc
        wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
        self.version = wanted if wanted in vlc.get_vegalite_versions() else None  # None: vl-convert's latest
        self._bundle: str | None = None

    def html(self, spec: dict[str, Any]) -> str:
        if self._bundle is None:
            self._bundle = self._vlc.javascript_bundle(vl_version=self.version)
        text = json.dumps(spec, allow_nan=False)
        safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        title = spec.get("title")
        shown = title.get("text") if isinstance(title, dict) else title
        return HTML.format(title=html.escape(str(shown or "chart")), version=self.version or "latest",
                           bundle=self._bundle, spec=safe)

    def svg(self, spec: dict[str, Any]) -> str:
        return self._vlc.vegalite_to_svg(spec, vl_version=self.version, allowed_base_urls=[])

    def png(self, spec: dict[str, Any], scale: float = 2.0) -> bytes:
        return self._vlc.vegalite_to_png(spec, vl_version=self.version, scale=scale, allowed_base_urls=[])


def output_paths(target: Path, formats: list[str]) -> dict[str, Path]:
    """One file per format beside each other: charts/x.html with [html, png] -> charts/x.html, charts/x.png."""
    stem = target.with_suffix("") if target.suffix.lower().lstrip(".") in FORMATS else target
    return {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in formats}


def write_chart(chart: ChartSpec, frame: pd.DataFrame, target: Path, renderer: ChartRenderer) -> dict[str, Path]:
    """Render the chart in each of its formats and write them atomically; returns the paths by format."""
    spec = vega_lite(chart, frame)
    rendered = {"html": lambda: renderer.html(spec).encode("utf-8"), "svg": lambda: renderer.svg(spec).encode("utf-8"),
                "png": lambda: renderer.png(spec)}
    paths = output_paths(target, chart.formats)
    contents = {fmt: rendered[fmt]() for fmt in paths}  # render all before replacing any
    for fmt, path in paths.items():
        atomic_write(path, contents[fmt])
    return paths


def atomic_write(path: Path, content: bytes) -> None:
    """Write to a temporary name in the same folder, then rename over the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}{TEMP_MARK}{uuid.uuid4().hex[:8]}"
    try:
        with open(temp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
