"""What the docs site shows of a model's publishing: its charts, as the last build that passed their
checks rendered them (target/charts/, written by publish/chart_runner.py), and how it is served.

The SVG goes into the page as a data: URI in an <img>, so the model's values in it are an image,
never markup the page runs; the site stays one folder that opens from file://.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

DOCS_CHARTS = "charts"  # publish/chart_runner.py writes <model>.<chart>.svg and .json there


def add_publishing(site: dict[str, Any], manifest: dict[str, Any], target_dir: Path) -> None:
    """Each node of the site gains `charts` (declared, with the last rendered image) and `serving`."""
    nodes = site.get("nodes", {})
    for node in nodes.values():
        node.setdefault("charts", [])
    for chart in (manifest.get("charts") or {}).values():
        node = nodes.get(chart.get("node"))
        if node is None:
            continue
        spec = chart.get("spec") or {}
        entry = {"unique_id": chart.get("unique_id"), "name": chart.get("name"), "type": spec.get("type"),
                 "title": spec.get("title"), "description": spec.get("description") or "", "image": None,
                 "rendered_at": None, "run_id": None, "files": []}
        svg = target_dir / DOCS_CHARTS / f"{chart.get('model')}.{chart.get('name')}.svg"
        if svg.is_file():
            entry["image"] = "data:image/svg+xml;base64," + base64.b64encode(svg.read_bytes()).decode("ascii")
            try:
                about = json.loads(svg.with_suffix(".json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                about = {}
            entry.update({k: about.get(k) for k in ("rendered_at", "run_id", "rows")},
                         files=about.get("files") or [], title=about.get("title") or entry["title"])
        node["charts"].append(entry)
    for served in (manifest.get("served") or {}).values():
        node = nodes.get(served.get("node"))
        if node is not None:
            node["serving"] = {k: served.get(k) for k in ("key", "rows", "score", "token_env")}
