"""Charts: `charts:` specs checked against the model's columns (file and line), rendered with Vega-Lite
into a self-contained HTML file that draws offline in Chromium, an SVG and a PNG, written atomically."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from pds_core.errors import ProjectError, ProjectErrors
from pds_core.publish.charts import (
    ChartError,
    ChartRenderer,
    chart_data,
    output_paths,
    parse_chart,
    parse_charts,
    vega_lite,
    write_chart,
)
from pds_core.yamlio import load_yaml_text
from tests.docs_browser import chromium

SVG_NS = "{http://www.w3.org/2000/svg}"
COLUMNS = ["customer_id", "churn_probability", "risk_band", "segment", "scored_on"]
YAML = """\
models:
  - name: churn_scores
    charts:
      - name: by_band
        type: bar
        x: risk_band
        y: churn_probabilty
        aggregate: mean
      - name: spread
        type: histogram
        x: churn_probability
        y: risk_band
      - name: trend
        type: pie
        x: scored_on
      - name: fine
        type: line
        x: SCORED_ON
        y: churn_probability
        color: segment
        path: "charts/{model}_{run_date}.html"
        formats: [html, png]
"""


@pytest.fixture(scope="module")
def renderer() -> ChartRenderer:
    return ChartRenderer()  # builds the inlined JavaScript bundle once for the module


def _scores(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    bands = np.array(["low", "medium", "high"])[np.arange(n) % 3]
    base = {"low": 0.1, "medium": 0.5, "high": 0.9}
    return pd.DataFrame({"customer_id": np.arange(n), "churn_probability": [base[b] + rng.normal(0, 0.02) for b in bands],
                         "risk_band": bands, "segment": np.where(np.arange(n) % 2, "retail", "business"),
                         "scored_on": pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n) % 30, "D")})


def test_fields_are_checked_against_the_model_columns_with_file_and_line():
    doc = load_yaml_text(YAML, "models/churn_scores.yml")
    entries = doc["models"][0]["charts"]
    with pytest.raises(ProjectErrors) as caught:
        parse_charts(entries, "churn_scores", COLUMNS, "models/churn_scores.yml", 3, placeholders={"run_date", "model"})
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 3, messages
    assert messages[0].startswith("models/churn_scores.yml:7: chart 'by_band' of churn_scores: y: 'churn_probabilty' "
                                  "is not a column of churn_scores")
    assert "did you mean 'churn_probability'" in messages[0]
    assert messages[1].startswith("models/churn_scores.yml:12: a histogram counts rows per bin of x: y: does not apply")
    assert messages[2].startswith("models/churn_scores.yml:14: chart 'trend' of churn_scores needs type: one of")
    fine = parse_chart(entries[3], "churn_scores", COLUMNS, "models/churn_scores.yml", 16, {"run_date", "model"})
    assert (fine.x, fine.color, fine.formats) == ("scored_on", "segment", ["html", "png"])  # the model's spelling


@pytest.mark.parametrize("entry, message", [
    ({"name": "c", "type": "bar", "x": "risk_band"}, "needs y: (a column), or aggregate: count"),
    ({"name": "c", "type": "bar", "x": "risk_band", "aggregate": "avg", "y": "churn_probability"}, "did you mean 'mean'"),
    ({"name": "c", "type": "line", "x": "scored_on", "y": "customer_id", "bins": 5}, "bins: applies to histograms"),
    ({"name": "c", "type": "line", "x": "scored_on", "y": "customer_id", "colour": "segment"}, "unknown key 'colour'"),
    ({"name": "c", "type": "histogram", "x": "churn_probability", "formats": ["pdf"]}, "unknown chart format 'pdf'"),
    ({"name": "c", "type": "histogram", "x": "churn_probability", "path": "c/{day}.html"}, "unknown placeholder {day}"),
])
def test_bad_chart_declarations(entry, message):
    with pytest.raises(ProjectError, match=re.escape(message)):
        parse_chart(entry, "churn_scores", COLUMNS, "models/x.yml", 4, {"run_date"})


def _svg_marks(svg: str, mark: str) -> list[ET.Element]:
    root = ET.fromstring(svg)  # a valid XML document, or this raises
    assert root.tag == f"{SVG_NS}svg"
    groups = [g for g in root.iter(f"{SVG_NS}g") if f"mark-{mark}" in (g.get("class") or "")]
    return [p for g in groups for p in g if p.tag == f"{SVG_NS}path"]


def test_bar_chart_as_html_svg_and_png_with_the_data_in_them(tmp_path, renderer):
    frame = _scores()
    chart = parse_chart({"name": "by_band", "type": "bar", "x": "risk_band", "y": "churn_probability",
                         "aggregate": "mean", "title": "Mean churn by band", "formats": ["html", "svg", "png"]},
                        "churn_scores", COLUMNS, "models/x.yml", 4)
    paths = write_chart(chart, frame, tmp_path / "charts" / "by_band.html", renderer)
    assert paths == output_paths(tmp_path / "charts" / "by_band", ["html", "svg", "png"])
    svg = paths["svg"].read_text()
    assert len(_svg_marks(svg, "rect")) == 3
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG_NS}text")]
    assert {"low", "medium", "high", "Mean churn by band", "mean of churn_probability"} <= set(texts)
    png = paths["png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 400 and height > 300
    page = paths["html"].read_text()
    assert "<script src" not in page and "vegaEmbed" in page and len(page) > 500_000  # Vega inlined
    spec = json.loads(page.split('id="pds-chart-spec">')[1].split("</script>")[0])
    means = frame.groupby("risk_band").churn_probability.mean()
    assert {r["risk_band"]: r["churn_probability"] for r in spec["data"]["values"]} == pytest.approx(means.to_dict())
    assert not list(tmp_path.glob("charts/.*pds-tmp*"))


@pytest.mark.browser
def test_html_draws_offline_in_chromium_and_data_cannot_inject_markup(tmp_path, renderer):
    frame = _scores(90)
    frame.loc[0, "segment"] = "</script><script>document.title='pwned'</script>"
    chart = parse_chart({"name": "trend", "type": "line", "x": "scored_on", "y": "churn_probability",
                         "aggregate": "max", "color": "segment", "formats": ["html"]}, "churn_scores", COLUMNS, "m.yml", 1)
    page = write_chart(chart, frame, tmp_path / "trend.html", renderer)["html"]
    requests: list[str] = []
    with chromium() as browser:
        tab = browser.new_page()
        tab.on("request", lambda r: requests.append(r.url))
        tab.route("http*://**", lambda route: route.abort())  # offline: any network request fails
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(page.as_uri())
        tab.wait_for_selector("#chart svg g.mark-line path", state="attached", timeout=30_000)
        lines = tab.locator("#chart svg g.mark-line path").count()
        title = tab.title()
        legend = tab.locator("#chart svg g.role-legend text").all_text_contents()
    assert lines == 3 and not errors  # business, retail and the odd segment: one line each
    assert title == "churn_scores: trend" and any("</script>" in t for t in legend)
    assert [u for u in requests if not u.startswith("file://")] == []


def test_large_models_are_aggregated_binned_or_sampled_and_say_so(renderer):
    n = 200_000  # forty times max_rows; kept modest so the test run's memory stays small
    frame = pd.DataFrame({"churn_probability": np.random.default_rng(1).beta(2, 5, n),
                          "customer_id": np.arange(n)})
    hist = parse_chart({"name": "h", "type": "histogram", "x": "churn_probability", "bins": 25}, "m", COLUMNS, "m.yml", 1)
    data, names, note = chart_data(hist, frame)
    assert len(data) == 25 and data[names["y"]].sum() == n and note is None
    scatter = parse_chart({"name": "s", "type": "scatter", "x": "customer_id", "y": "churn_probability"},
                          "m", COLUMNS, "m.yml", 1)
    spec = vega_lite(scatter, frame)
    assert len(spec["data"]["values"]) == 5000
    assert spec["title"]["subtitle"] == ["a sample of 5,000 of 200,000 rows"]
    assert len(_svg_marks(renderer.svg(vega_lite(hist, frame)), "rect")) == 25


def test_a_chart_that_cannot_be_drawn_leaves_the_old_files(tmp_path, renderer):
    good = parse_chart({"name": "h", "type": "histogram", "x": "churn_probability", "formats": ["html", "svg"]},
                       "m", None, "m.yml", 1)  # columns unknown before the run: checked against the rows
    paths = write_chart(good, _scores(), tmp_path / "h.svg", renderer)
    before = {fmt: p.read_bytes() for fmt, p in paths.items()}
    with pytest.raises(ChartError, match="has no column 'churn_probability'"):
        write_chart(good, _scores().drop(columns="churn_probability"), tmp_path / "h.svg", renderer)
    text_x = parse_chart({"name": "h", "type": "histogram", "x": "risk_band"}, "m", None, "m.yml", 1)
    with pytest.raises(ChartError, match="needs a numeric x"):
        write_chart(text_x, _scores(), tmp_path / "h.svg", renderer)
    assert {fmt: p.read_bytes() for fmt, p in paths.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.html", "h.svg"]
