"""`pds docs generate` and `pds docs serve`: write target/docs/ and serve it on localhost.

The site is static: index.html, the scripts and stylesheet shipped in this package (static/,
no CDN, no build step) and data.js holding every fact as one JSON value, so the folder can
be opened from file://, copied anywhere, or served by `pds docs serve`. A new site is
written beside the old one and swapped in, so a running `serve` never shows half of one.
"""

from __future__ import annotations

import functools
import json
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from pds_core.errors import ProjectError
from pds_core.loader import Project

DOCS_DIR = "docs"
ASSETS = ("common.js", "charts.js", "graph.js", "node_page.js", "history_pages.js", "app.js", "style.css",
          "favicon.svg")
DEFAULT_RUNS = 30


def generate(project: Project, runs: int = DEFAULT_RUNS, warehouse: bool = True, reporter: Any = None) -> Path:
    """Compile the project (fresh manifest.json), read the warehouse's history, write target/docs/."""
    from pds_core.artifacts import read_json
    from pds_core.commands import compile_project
    from pds_core.docs_site.published import add_publishing
    from pds_core.docs_site.sitedata import site_data
    from pds_core.docs_site.warehouse import WarehouseData, read_warehouse

    compile_project(project, reporter=reporter)
    manifest = read_json(project.target_dir / "manifest.json")
    results_path = project.target_dir / "run_results.json"
    run_results = read_json(results_path) if results_path.is_file() else None
    if warehouse:
        relations = [n["relation"] for group in ("nodes", "sources") for n in manifest.get(group, {}).values()
                     if n.get("relation") and (n.get("config") or {}).get("materialized") != "ephemeral"]
        data = read_warehouse(project.target, project.config.results_schema, project.name, relations, runs)
    else:
        data = WarehouseData(problem="history not read (--no-warehouse): showing the last run only")
    if warehouse and data.column_types:  # dbt's catalog.json, for the tools that read dbt's artifacts
        from pds_core.artifacts import write_json_atomic
        from pds_core.dbt_artifacts import catalog_v1

        invocation = (manifest.get("metadata") or {}).get("invocation_id", "")
        write_json_atomic(project.target_dir / "catalog.json", catalog_v1(manifest, data.column_types, invocation))
    site = site_data(manifest, data, run_results, project.root)
    add_publishing(site, manifest, project.target_dir)  # charts (last rendered) and serving, per model
    out = write_site(project.target_dir / DOCS_DIR, site)
    if reporter is not None and data.problem:
        reporter.info(f"Note: {data.problem}")
    return out


def write_site(folder: Path, site: dict[str, Any]) -> Path:
    """index.html + assets/ + data.js, written to a new folder and swapped in for the old one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".docs-", dir=folder.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the site is meant to be read
        static = resources.files("pds_core.docs_site") / "static"
        (staging / "assets").mkdir()
        for name in ASSETS:
            (staging / "assets" / name).write_bytes((static / name).read_bytes())
        (staging / "index.html").write_bytes((static / "index.html").read_bytes())
        (staging / "data.js").write_text("window.PDS_DOCS = " + _script_json(site) + ";\n", encoding="utf-8")
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _script_json(value: Any) -> str:
    """JSON that is safe inside a script: no `</script>`, no line separators JavaScript rejects."""
    text = json.dumps(value, separators=(",", ":"), default=str, allow_nan=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def docs_folder(project_dir: str | Path) -> Path:
    """target/docs of the project in (or above) project_dir. Needs only the project file
    (pds_project.yml or dbt_project.yml, its target-path rendered as dbt renders it), not a profile:
    the site can be served where the warehouse is out of reach."""
    from pds_core.config import ProjectConfig
    from pds_core.dbt_project import has_jinja, read_project_file, render_project
    from pds_core.loader import find_project

    root, file = find_project(Path(project_dir))
    data, overlay = read_project_file(root, file)
    if has_jinja(data.get("target-path")):
        render_project(data, {}, {}, file)
    config = ProjectConfig.from_dict(data, root, file, overlay)
    folder = root / config.target_path / DOCS_DIR
    if not (folder / "index.html").is_file():
        raise ProjectError(f"no docs site in {folder}", hint="run `pds docs generate` first")
    return folder


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the site's folder; logs only errors, and never caches (a regenerated site shows at once)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        if len(args) == 3 and str(args[1])[:1] in ("4", "5"):  # a request that failed
            super().log_message(format, *args)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server for `folder` (port 0: any free port; see server.server_address)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ProjectError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                           hint="choose another port with --port (0 picks a free one)") from None


def serve(folder: Path, host: str = "127.0.0.1", port: int = 8080,
          announce: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C (or SIGTERM, in the main thread); returns quietly then."""
    server = make_server(folder, host, port)
    bound_host, bound_port = server.server_address[:2]
    announce(f"Serving {folder} at http://{bound_host}:{bound_port}/  (Ctrl-C to stop)")
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        announce("Stopped.")
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        server.server_close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
