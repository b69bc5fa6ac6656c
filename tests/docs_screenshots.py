"""Take the screenshots in docs/images/ from a real generated site: `python -m tests.docs_screenshots`.

Builds project_template (plus the probe model of the browser tests) once per probe value, runs
`pds docs generate`, and photographs the lineage, a model page and a metric chart in Chromium.
With --large, also the lineage of a generated 600-model project (bench/generate.py).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, run_pds
from tests.docs_browser import PROBE_METRIC, chromium, generate_site, history_project, open_page

IMAGES = ROOT / "docs" / "images"


def snap(browser: Any, url: str, path: Path, height: int, element: str | None = None) -> Any:
    """Open `url` 1280 pixels wide and save the page (or one element of it) as PNG; returns the page."""
    page = open_page(browser, url, 1280, height)
    page.wait_for_timeout(200)  # the graph fits itself on the next frame
    (page.locator(element).first if element else page).screenshot(path=str(path))
    return page


def shoot(out: Path, large: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        site = (generate_site(history_project(Path(tmp) / "shop")) / "index.html").as_uri()
        snap(browser, site, out / "docs-lineage.png", 640)
        page = snap(browser, site + "#/node/model.pds_template.customer_orders", out / "docs-model-page.png", 1000)
        page.locator("main").evaluate("m => m.scrollTop = document.getElementById('columns').offsetTop - 8")
        page.screenshot(path=str(out / "docs-model-columns.png"))
        snap(browser, site + "#/metric/" + PROBE_METRIC, out / "docs-metric-chart.png", 900, "figure.metric")
        snap(browser, site + "#/checks", out / "docs-check-history.png", 760)
        if large:
            big = Path(tmp) / "big"
            subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--n", "600", "--out", str(big)],
                           check=True, capture_output=True)
            done = run_pds("build", cwd=big, timeout=900)
            assert done.returncode == 0, done.stdout[-2000:]
            site = (generate_site(big) / "index.html").as_uri()
            snap(browser, site, out / "docs-lineage-600.png", 760)
            snap(browser, site + "#/node/model.bench.l05_m00250", out / "docs-lineage-600-node.png", 1000, "#lineage")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES)
    parser.add_argument("--large", action="store_true", help="also the lineage of a 600-model project")
    args = parser.parse_args()
    shoot(args.out, args.large)
    print(f"wrote screenshots to {args.out}")


if __name__ == "__main__":
    main()
