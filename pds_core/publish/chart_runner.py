"""Render a chart node: read the fields it draws from the model's relation, build its Vega-Lite spec, and
write its files atomically, all formats rendered before any file is replaced (publish/charts.py).

- With `path:`, the chart's formats go there (placeholders as in file exports, plus {chart}).
- Always, the SVG goes to target/charts/<model>.<chart>.svg with a small JSON beside it: that is what
  the docs site shows on the model's page (pds docs generate embeds it). A chart held back by its
  checks leaves the previous files, so the docs site keeps showing the last published chart.

One ChartRenderer per run (it builds vl-convert's JavaScript bundle once); renders are serialized
under a lock, the rest (reading the rows, aggregating) runs in the node's own thread.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sqlglot import exp

from pds_core.artifacts import now_iso
from pds_core.publish.chart_nodes import ChartNode
from pds_core.publish.charts import ChartError, ChartRenderer, atomic_write, output_paths, vega_lite
from pds_core.publish.exports import PLACEHOLDER
from pds_core.publish.runner import ExportRunner
from pds_core.results import SUCCESS, NodeResult
from pds_core.runners.base import NodeFailed

DOCS_CHARTS = "charts"  # under target/: the docs site's copy of each chart


def docs_chart_path(target_dir: Path, model: str, chart: str) -> Path:
    return target_dir / DOCS_CHARTS / f"{model}.{chart}.svg"


class ChartRunner(ExportRunner):
    """The "chart" entry of the runner registry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._renderer: ChartRenderer | None = None
        self._lock = threading.Lock()

    def result(self, chart: ChartNode, status: str = SUCCESS, message: str = "") -> NodeResult:
        return NodeResult(unique_id=chart.unique_id, name=chart.name, resource_type="chart", status=status,
                          message=message, path=chart.path,
                          extra={"attached_to": chart.node, "model": chart.model, "destination_type": "chart"})

    def run(self, chart: ChartNode, result: NodeResult) -> None:
        if self.held_back(chart, result):
            return
        spec = chart.spec
        target = self._target(chart) if spec.path else None
        result.extra["destination"] = str(target) if target else f"docs site ({DOCS_CHARTS}/)"
        frame = self._frame(chart)
        try:
            lite = vega_lite(spec, frame)
        except ChartError as exc:
            raise NodeFailed(f"{chart.path}:{chart.line or 1}: {exc}") from None
        with self._lock:
            renderer = self._renderer = self._renderer or ChartRenderer()
            wanted = list(dict.fromkeys([*(spec.formats if target else []), "svg"]))
            rendered = {"html": lambda: renderer.html(lite).encode("utf-8"),
                        "svg": lambda: renderer.svg(lite).encode("utf-8"), "png": lambda: renderer.png(lite)}
            contents = {fmt: rendered[fmt]() for fmt in wanted}  # all of them before any file is replaced
        written: list[str] = []
        if target is not None:
            for fmt, path in output_paths(target, spec.formats).items():
                atomic_write(path, contents[fmt])
                written.append(self._shown(path))
        docs = docs_chart_path(self.plan.project.target_dir, chart.model, chart.name)
        atomic_write(docs, contents["svg"])
        title = lite.get("title")
        atomic_write(docs.with_suffix(".json"), json.dumps({
            "unique_id": chart.unique_id, "name": chart.name, "model": chart.model, "type": spec.type,
            "title": title.get("text") if isinstance(title, dict) else title, "description": spec.description,
            "files": written, "rendered_at": now_iso(), "run_id": self.publish.run_id, "rows": len(frame)},
            indent=1).encode("utf-8"))
        result.rows_affected = len(frame)
        result.extra["destination"] = ", ".join(written) or result.extra["destination"]
        result.message = f"chart {chart.model}.{chart.name} to {result.extra['destination']}"

    def _frame(self, chart: ChartNode) -> Any:
        """The chart's fields from the model's relation, named as the chart spells them (warehouses differ
        in the case they give back)."""
        node = self.nodes[chart.node]
        assert node.relation is not None
        fields = list(dict.fromkeys(chart.spec.fields()))
        query = exp.select(*[exp.column(exp.to_identifier(f)) for f in fields]).from_(
            self.publish.adapter.table(node.relation))
        frame = self.publish.adapter.query_dataframe(query)
        by_lower = {f.lower(): f for f in fields}
        return frame.rename(columns={c: by_lower.get(str(c).lower(), c) for c in frame.columns})

    def _target(self, chart: ChartNode) -> Path:
        ctx, started = self.publish, self.publish.started
        values = {"run_date": started.strftime("%Y-%m-%d"), "run_time": started.strftime("%Y%m%dT%H%M%SZ"),
                  "run_id": ctx.run_id, "target": ctx.project.target.name, "model": chart.model,
                  "chart": chart.name, **{k: str(v) for k, v in ctx.project.vars.items()}}
        text = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), ctx.render(str(chart.spec.path),
                                                                                       chart.path))
        path = Path(text)
        return path if path.is_absolute() else ctx.project.root / path

    def _shown(self, path: Path) -> str:
        root = self.plan.project.root
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
