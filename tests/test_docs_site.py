"""pds docs: the generated site for a real project after several builds, checked in its files, over HTTP
from `pds docs serve`, and in Debian's Chromium (file:// and served): lineage highlight, model page,
metric chart points, run and check history, keyboard use.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pds_core.docs_site.layout import X_GAP, Y_GAP, layered_layout
from tests.conftest import TEMPLATE, run_pds
from tests.docs_browser import (
    CHROMIUM,
    HAS_EXPORTS,
    PROBE_METRIC,
    PROBE_VALUES,
    chromium,
    generate_site,
    history_project,
    open_page,
    serving,
)

UID = "model.pds_template.{}".format


def needs_chromium(test: Any) -> Any:
    """A test that drives Chromium through Playwright: marked `browser`; skipped where it is missing."""
    missing = pytest.mark.skipif(not CHROMIUM.exists(),
                                 reason=f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)")
    return pytest.mark.browser(missing(test))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = history_project(tmp_path_factory.mktemp("docs") / "proj")
    generate_site(root)
    return root


@pytest.fixture(scope="module")
def site(project: Path) -> dict[str, Any]:
    text = (project / "target" / "docs" / "data.js").read_text(encoding="utf-8")
    assert text.startswith("window.PDS_DOCS = ")
    return json.loads(text[len("window.PDS_DOCS = "):].rstrip().rstrip(";"))


@pytest.fixture(scope="module")
def browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with chromium() as b:
        yield b


# ---- the generated files ------------------------------------------------------------------------------
@pytest.mark.slow
def test_site_is_self_contained(project: Path) -> None:
    folder = project / "target" / "docs"
    html = (folder / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert refs and all(not re.match(r"[a-z]+:|//", r) for r in refs), refs  # relative: no CDN, no network
    for ref in refs:
        assert (folder / ref).is_file(), ref
    for asset in (folder / "assets").iterdir():
        text = asset.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src=|href=|url\(|import\s|fetch\()\s*["']?(?:https?:)?//""", text), asset.name


@pytest.mark.slow
def test_site_data_from_manifest_and_history(site: dict[str, Any]) -> None:
    assert site["meta"]["project"] == "pds_template" and site["meta"]["history_problem"] is None
    assert len(site["runs"]) == len(PROBE_VALUES)
    assert {n["name"] for n in site["nodes"].values()} == {"customers", "orders", "stg_customers", "stg_orders",
                                                            "customer_orders", "daily_revenue", "churn_scores", "probe"}
    orders = site["nodes"][UID("customer_orders")]
    assert sorted(orders["parents"]) == [UID("stg_customers"), UID("stg_orders")]
    assert orders["children"] == [UID("churn_scores")]
    assert orders["x"] > site["nodes"][UID("stg_orders")]["x"]  # left to right
    columns = {c["name"]: c for c in orders["columns"]}
    assert columns["lifetime_value"]["upstream"] == [[UID("stg_orders"), "amount"]]
    assert columns["lifetime_value"]["description"] == "Sum of completed order amounts, in dollars."
    assert columns["customer_id"]["type"].upper() in ("BIGINT", "INTEGER")  # from the warehouse's catalog
    stg_orders = {c["name"]: c for c in site["nodes"][UID("stg_orders")]["columns"]}
    assert [UID("customer_orders"), "lifetime_value"] in stg_orders["amount"]["downstream"]
    series = [s for s in site["metric_series"] if s["unique_id"] == PROBE_METRIC]
    assert len(series) == 1
    assert [p["value"] for p in series[0]["points"]] == PROBE_VALUES
    assert [p["status"] for p in series[0]["points"]] == ["pass", "pass", "pass", "warn"]
    if HAS_EXPORTS:
        [export] = site["nodes"][UID("probe")]["exports"]
        assert export["name"] == "probe_csv" and export["destination"] == "exports/probe.csv (csv)"
        assert [h[1] for h in export["history"]] == ["success"] * len(PROBE_VALUES)
    bound = next(c for c in site["checks"] if c["name"] == "probe_value:max")
    assert sorted(v[0] for v in bound["results"].values()) == ["pass", "pass", "pass", "warn"]


def test_generate_without_history(tmp_path: Path) -> None:
    """A project never built: the site still renders the lineage, and says why there is no history."""
    dest = tmp_path / "fresh"
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    done = run_pds("docs", "generate", cwd=dest)
    assert done.returncode == 0, done.stderr
    assert "Note: no results tables" in done.stdout
    data = (dest / "target" / "docs" / "data.js").read_text(encoding="utf-8")
    assert '"runs":[]' in data and "run `pds build` to record runs" in data


def test_serve_needs_a_generated_site(tmp_path: Path) -> None:
    (tmp_path / "pds_project.yml").write_text("name: empty\nprofile: empty\n", encoding="utf-8")
    done = run_pds("docs", "serve", "--port", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "no docs site" in done.stderr and "pds docs generate" in done.stderr


def test_serve_a_dbt_project_without_its_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dbt project (no pds_project.yml) serves its site from its target-path, rendered as dbt renders it;
    the profile is not needed to serve, so the site can be served where the warehouse is out of reach."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1 as id\n", encoding="utf-8")
    (tmp_path / "dbt_project.yml").write_text(
        "name: shop\nversion: '1.0'\nprofile: shop\ntarget-path: \"{{ env_var('SHOP_OUT', 'out') }}/target\"\n",
        encoding="utf-8")
    (tmp_path / "profiles.yml").write_text("shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: s.duckdb}\n",
                                           encoding="utf-8")
    monkeypatch.setenv("SHOP_OUT", "site")
    assert run_pds("docs", "generate", cwd=tmp_path).returncode == 0
    (tmp_path / "profiles.yml").unlink()
    with serving(tmp_path) as url, urllib.request.urlopen(url + "data.js", timeout=10) as response:
        assert b'"a"' in response.read()
    assert (tmp_path / "site" / "target" / "docs" / "index.html").is_file()


@pytest.mark.slow
def test_serve_over_http(project: Path) -> None:
    with serving(project) as url:
        for path, expected in (("", b"<title>pds docs</title>"), ("data.js", b"window.PDS_DOCS"),
                               ("assets/graph.js", b"P.Graph")):
            with urllib.request.urlopen(url + path, timeout=10) as response:
                assert response.status == 200 and expected in response.read()


# ---- the layout ---------------------------------------------------------------------------------------
def test_layout_crossing_reduction_and_spacing() -> None:
    # b feeds y and a feeds z: alphabetical order crosses the two edges; the sweeps uncross them
    small = layered_layout(["a", "b", "y", "z"], [("a", "z"), ("b", "y")])
    assert small.crossings == 0
    rng = random.Random(7)
    nodes = [f"n{i:04d}" for i in range(700)]
    edges = [(nodes[rng.randrange(max(0, i - 150), i)], nodes[i]) for i in range(30, 700) for _ in range(2)]
    layout = layered_layout(nodes, edges)
    for parent, child in edges:
        assert layout.positions[parent][0] < layout.positions[child][0]
    by_x: dict[float, list[float]] = {}
    for x, y in layout.positions.values():
        by_x.setdefault(x, []).append(y)
        assert x % X_GAP == 0 and y >= 0
    for ys in by_x.values():
        ys.sort()
        assert all(b - a >= Y_GAP - 1e-6 for a, b in zip(ys, ys[1:], strict=False))


# ---- in the browser -----------------------------------------------------------------------------------
@pytest.mark.slow
@needs_chromium
def test_lineage_and_model_page_from_file(project: Path, browser: Any) -> None:
    index = (project / "target" / "docs" / "index.html").as_uri()
    page = open_page(browser, index)
    assert page.locator("svg.graph g.node").count() == 8
    assert page.locator(f'g.node[data-uid="{UID("customer_orders")}"]').get_attribute("class").count("status-") == 1
    assert "status-success" in page.locator(f'g.node[data-uid="{UID("stg_orders")}"]').get_attribute("class")
    assert "status-warn" in page.locator(f'g.node[data-uid="{UID("probe")}"]').get_attribute("class")  # its metric warned

    def check_highlight(scope: str) -> None:
        def classes(uid: str) -> str:
            return page.locator(f'{scope} g.node[data-uid="{uid}"]').get_attribute("class")

        assert "selected" in classes(UID("customer_orders"))
        for uid in (UID("stg_orders"), UID("stg_customers"), "seed.pds_template.customers", "seed.pds_template.orders"):
            assert "upstream" in classes(uid) and "downstream" not in classes(uid), uid
        assert "downstream" in classes(UID("churn_scores")) and "upstream" not in classes(UID("churn_scores"))
        assert page.locator(f"{scope} path.edge.active").count() == 5

    node = page.locator(f'g.node[data-uid="{UID("customer_orders")}"]')
    node.hover()  # the project's lineage: hovering shows the node's upstream and downstream
    check_highlight("main")
    assert "dimmed" in page.locator(f'g.node[data-uid="{UID("daily_revenue")}"]').get_attribute("class")
    node.click()
    page.wait_for_selector("main[data-route='node']")
    assert page.evaluate("location.hash") == "#/node/" + UID("customer_orders")
    assert page.locator("main h1").inner_text().startswith("customer_orders")
    check_highlight("#lineage")  # the page draws the node's own lineage, highlighted
    assert page.locator("#lineage g.node").count() == 6  # daily_revenue and probe are not in it
    row = page.locator('table.columns tr[data-column="lifetime_value"]')
    assert "stg_orders.amount" in row.locator("td.lineage-up").inner_text()
    assert "Sum of completed order amounts" in row.inner_text()
    assert "INTEGER" in page.locator('table.columns tr[data-column="customer_id"]').inner_text().upper()
    assert page.locator("table.tests tr[data-test]").count() == 2
    assert "{{ ref('stg_orders') }}" in page.locator("pre.code code").first.inner_text()
    page.get_by_role("tab", name="Compiled SQL").click()
    assert "main.stg_orders" in page.locator("pre.code code").first.inner_text()
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert page.errors == []


@pytest.mark.slow
@needs_chromium
def test_probe_page_exports_metric_and_runs(project: Path, browser: Any) -> None:
    page = open_page(browser, (project / "target" / "docs" / "index.html").as_uri() + "#/node/" + UID("probe"))
    if HAS_EXPORTS:
        export = page.locator('table.exports tr[data-export="export.pds_template.probe_csv"]')
        assert "success" in export.inner_text() and "exports/probe.csv" in export.inner_text()
        assert export.locator(".cell.st-success").count() == len(PROBE_VALUES)
    metric = page.locator(f'table.tests tr[data-metric="{PROBE_METRIC}"]')
    assert "warning" in metric.inner_text()  # the last value broke its warn bound
    assert metric.locator(".cell").evaluate_all("els => els.map(e => e.className)")[-1] == "cell st-warn"
    assert page.locator("#runs circle.spark-dot").count() == len(PROBE_VALUES)
    assert page.locator("#runs table.node-runs tbody tr").count() == len(PROBE_VALUES)
    assert page.errors == []


@pytest.mark.slow
@needs_chromium
def test_metric_chart_points_and_bounds(project: Path, browser: Any) -> None:
    page = open_page(browser, (project / "target" / "docs" / "index.html").as_uri() + "#/metrics")
    chart = page.locator(f'figure.metric[data-metric="{PROBE_METRIC}"]')
    assert chart.locator("circle.point").count() == len(PROBE_VALUES)
    assert [float(v) for v in chart.locator("circle.point").evaluate_all(
        "els => els.map(e => e.getAttribute('data-value'))")] == PROBE_VALUES
    out = chart.locator("circle.point.oob")
    assert out.count() == 1 and out.get_attribute("data-value") == "12"
    assert chart.locator("line.bound-min").get_attribute("data-value") == "0"
    assert chart.locator("line.bound-max").get_attribute("data-value") == "10"
    ys = {float(chart.locator(f"line.bound-{k}").get_attribute("y1")) for k in ("min", "max")}
    assert len(ys) == 2
    chart.locator("figcaption a").click()
    page.wait_for_selector("main[data-route='metric']")
    assert page.locator("figure.metric circle.point").count() == len(PROBE_VALUES)
    assert page.errors == []


@pytest.mark.slow
@needs_chromium
def test_run_and_check_history(project: Path, browser: Any) -> None:
    page = open_page(browser, (project / "target" / "docs" / "index.html").as_uri() + "#/runs")
    rows = page.locator("table.runs tr.run-row")
    assert rows.count() == len(PROBE_VALUES)
    assert all("success" in rows.nth(i).inner_text() for i in range(rows.count()))
    assert page.locator("svg.run-bars rect.bar").count() == len(PROBE_VALUES)
    probe = page.locator(f'table.durations tr[data-node="{UID("probe")}"]')
    assert probe.locator("circle.spark-dot").count() == len(PROBE_VALUES)
    rows.first.locator("a").click()
    page.wait_for_selector("main[data-route='run']")
    assert page.locator("table.run-nodes tbody tr").count() >= 30
    page.goto((project / "target" / "docs" / "index.html").as_uri() + "#/checks")
    page.wait_for_selector("table.checks")
    bound = page.locator("tr.check-row", has_text="probe_value:max")
    cells = bound.locator(".cell").evaluate_all("els => els.map(e => e.className)")
    assert cells == ["cell st-pass", "cell st-pass", "cell st-pass", "cell st-warn"]
    page.locator("#only-failing").check()
    names = page.locator("tr.check-row th").all_inner_texts()
    assert "probe_value:max" in names and not any(n.startswith("not_null") for n in names)
    assert page.errors == []


@pytest.mark.slow
@needs_chromium
def test_keyboard_navigation(project: Path, browser: Any) -> None:
    page = open_page(browser, (project / "target" / "docs" / "index.html").as_uri())
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("stg_ord")
    assert page.locator("#sidebar li:not([hidden]) a").all_inner_texts() == ["stg_orders"]
    assert page.locator("g.node.match").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_selector("main[data-route='node']")
    assert page.locator("main h1").inner_text().startswith("stg_orders")
    page.keyboard.press("/")
    page.keyboard.press("Escape")
    assert page.input_value("#search") == ""
    assert page.locator("#sidebar li:not([hidden])").count() == 8
    page.keyboard.press("ArrowDown")  # from the search box into the node list
    assert page.evaluate("document.activeElement.textContent") == "churn_scores"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function("location.hash.endsWith('customer_orders')")
    page.goto((project / "target" / "docs" / "index.html").as_uri() + "#/")
    page.wait_for_selector("main[data-route='lineage'] g.node")
    page.locator(f'g.node[data-uid="{UID("daily_revenue")}"]').focus()
    page.keyboard.press("Tab")  # graph nodes are in the tab order
    assert page.evaluate("document.activeElement.getAttribute('data-uid')") is not None
    page.locator(f'g.node[data-uid="{UID("daily_revenue")}"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("main[data-route='node']")
    assert page.locator("main h1").inner_text().startswith("daily_revenue")
    page.go_back()
    page.wait_for_selector("main[data-route='lineage'] g.node")
    zoom = float(page.locator("svg.graph").get_attribute("data-zoom"))
    page.locator(f'g.node[data-uid="{UID("probe")}"]').focus()
    page.keyboard.press("+")
    assert float(page.locator("svg.graph").get_attribute("data-zoom")) > zoom
    assert page.errors == []


@pytest.mark.slow
@needs_chromium
def test_served_site_in_browser(project: Path, browser: Any) -> None:
    with serving(project) as url:
        page = open_page(browser, url)
        assert page.locator("svg.graph g.node").count() == 8
        page.locator("nav a", has_text="Metrics").click()
        page.wait_for_selector(f'figure.metric[data-metric="{PROBE_METRIC}"]')
        assert page.locator(f'figure.metric[data-metric="{PROBE_METRIC}"] circle.point').count() == len(PROBE_VALUES)
        assert all(u.startswith(url) for u in page.requests), page.requests
        assert page.errors == []


@pytest.mark.slow
@needs_chromium
def test_chart_serving_and_drift_of_the_churn_scores(project: Path, browser: Any) -> None:
    """The template's chart, rendered by the last build, on its model's page; its drift metric's plot."""
    import base64

    page = open_page(browser, (project / "target" / "docs" / "index.html").as_uri() + "#/node/" + UID("churn_scores"))
    figure = page.locator('figure.chart[data-chart="chart.pds_template.churn_scores.churn_by_band"]')
    assert "Mean churn probability by risk band" in figure.inner_text()
    assert "exports/charts/churn_by_band.svg" in figure.inner_text()
    image = figure.locator("img")
    assert image.evaluate("img => img.complete && img.naturalWidth > 200 && img.naturalHeight > 100")
    svg = base64.b64decode(image.get_attribute("src").split(",", 1)[1]).decode()
    assert svg == (project / "exports" / "charts" / "churn_by_band.svg").read_text()  # the published chart
    assert svg.count('aria-roledescription="bar"') == 3  # low, medium, high
    assert "rows by customer_id" in page.locator("dl.facts").inner_text()
    assert "online scoring" in page.locator("dl.facts").inner_text()
    drift = "metric.pds_template.churn_scores.psi_churn_probability"
    page = open_page(browser, (project / "target" / "docs" / "index.html").as_uri() + "#/metrics")
    # the first build had no reference yet; every later one measured against the one before
    assert page.locator(f'figure.metric[data-metric="{drift}"] circle.point').count() == len(PROBE_VALUES) - 1
    assert all(url.startswith(("file://", "data:")) for url in page.requests), page.requests
    assert page.errors == []
