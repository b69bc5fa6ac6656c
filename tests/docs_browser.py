"""Helpers for the docs-site browser tests and the docs screenshots: a project with several builds of
history, a `pds docs serve` process, and Debian's Chromium driven by Playwright.

Playwright's own browser download does not work here, so Chromium is /usr/bin/chromium
(`apt-get install chromium`; .ci/run installs it).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import TEMPLATE, run_pds, stop_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROBE_VALUES = [3, 7, 5, 12]  # one value per build; the last, 12, breaks the probe metric's max bound of 10
PROBE_METRIC = "metric.pds_template.probe.probe_value"
PROBE_SQL = "select {{ var('probe', 5) }} as v\n"
PROBE_YML = """version: 2
models:
  - name: probe
    description: A value set with --vars on each build, measured by a metric.
    columns:
      - name: v
        description: The probe value.
    metrics:
      - name: probe_value
        description: The probe value, bounded to 0..10.
        expression: max(v)
        bounds: {min: 0, max: 10, severity: warn}
"""
HAS_EXPORTS = importlib.util.find_spec("pds_core.publish") is not None  # exports (issue 7) in this tree
PROBE_EXPORT_YML = """    exports:
      - name: probe_csv
        file:
          path: exports/probe.csv
"""


def history_project(dest: Path) -> Path:
    """project_template plus a probe model whose metric changes per build, built once per PROBE_VALUES."""
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    (dest / "models" / "probe.sql").write_text(PROBE_SQL, encoding="utf-8")
    (dest / "models" / "probe.yml").write_text(PROBE_YML + (PROBE_EXPORT_YML if HAS_EXPORTS else ""), encoding="utf-8")
    for value in PROBE_VALUES:
        done = run_pds("build", "--vars", f"{{probe: {value}}}", cwd=dest)
        assert done.returncode == 0, done.stdout + done.stderr
    return dest


def generate_site(project: Path) -> Path:
    done = run_pds("docs", "generate", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    return project / "target" / "docs"


@contextmanager
def serving(project: Path) -> Iterator[str]:
    """`pds docs serve --port 0` in the background; yields its URL, then stops it as Ctrl-C would."""
    proc = subprocess.Popen([sys.executable, "-m", "pds_core.cli", "docs", "serve", "--port", "0"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, f"no URL announced by pds docs serve: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        yield match.group(0)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends: the server stops cleanly
        out, _err = proc.communicate(timeout=15)
        assert proc.returncode == 0 and "Stopped." in out, (proc.returncode, out, _err)
    finally:
        if proc.poll() is None:
            stop_process(proc)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser; a clear failure (never a silent skip) when it cannot start."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        except Error as exc:
            raise RuntimeError(f"Chromium at {CHROMIUM} is installed but did not start: {exc}") from exc
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, width: int = 1400, height: int = 860) -> Any:
    """A page at `url` once the site has rendered; JavaScript errors are collected in page.errors."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.errors = []
    page.requests = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']", timeout=15_000)
    return page
