"""`charts:` on models (and seeds) in schema YAML, as nodes of the plan, and the column check that
runs before anything does.

Parsing reads each chart (publish/charts.py checks its keys, type, aggregate, formats and path
placeholders). Its fields (x, y, color, facet) are checked once the model's columns are known,
in plan(): the compiled projection of a SQL model, a seed's header, else the columns its schema
YAML declares (a Python model adds those it returned on its last build). A field that is not a
column is a project error with the file and line, before any node runs. A chart whose model's
columns are not known yet (a Python model never built, without columns: in YAML) is checked
against the rows when it renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.loader import Project
from pds_core.publish.charts import PLACEHOLDER, ChartSpec, parse_charts
from pds_core.publish.exports import PLACEHOLDERS

if TYPE_CHECKING:
    from pds_core.nodes import Manifest, Node

CHART_PLACEHOLDERS = (*[p for p in PLACEHOLDERS if p != "export"], "chart")


@dataclass
class ChartNode:
    """One chart of one model: rendered after the model's gating checks, like a file export."""

    unique_id: str  # chart.<project>.<model>.<chart>
    name: str
    node: str  # the model's (or seed's) unique id
    model: str
    spec: ChartSpec
    path: str  # the schema file
    line: int | None = None
    entry: Any = None  # the YAML as written, to check the fields once the columns are known
    columns: list[str] = field(default_factory=list)  # the columns read: the chart's fields
    where: str | None = None
    targets: list[str] = field(default_factory=list)
    resource_type: str = "chart"
    kind: str = "chart"

    def runs_on(self, target: str) -> bool:
        return True

    def to_manifest(self) -> dict[str, Any]:
        return {"unique_id": self.unique_id, "name": self.name, "node": self.node, "model": self.model,
                "path": self.path, "line": self.line, "spec": asdict(self.spec)}


def parse_model_charts(project: Project, manifest: Manifest) -> dict[str, ChartNode]:
    """Every chart of the project by unique id; all mistakes are reported together."""
    found: dict[str, ChartNode] = {}
    errors: list[ProjectError] = []
    schema = manifest.schema
    if schema is None:
        return found
    placeholders = (*CHART_PLACEHOLDERS, *project.vars)
    for props in [*schema.models.values(), *schema.seeds.values()]:
        entries = props.entry.get("charts")
        uid = manifest.by_name.get(props.entry["name"])
        node = manifest.nodes.get(uid) if uid else None
        if not entries or node is None:
            continue
        line = (props.entry.line_of("charts") if hasattr(props.entry, "line_of") else None) or props.line
        try:
            if node.materialized == "ephemeral":
                raise ProjectError(f"model {node.name!r} is ephemeral: it has no rows to chart", props.path, line,
                                   hint="materialize it as a table or view to chart it")
            specs = parse_charts(entries, node.name, None, props.path, line, placeholders)
            for index, spec in enumerate(specs):
                if spec.path and "://" in spec.path:
                    raise ProjectError(f"chart {spec.name!r} of {node.name}: charts are written to local files",
                                       props.path, spec.line, hint="use a path relative to the project")
                chart = ChartNode(f"chart.{project.name}.{node.name}.{spec.name}", spec.name, node.unique_id,
                                  node.name, spec, props.path, spec.line, entries[index], columns=spec.fields())
                found[chart.unique_id] = chart
        except ProjectErrors as exc:
            errors += exc.errors
        except ProjectError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    return found


def known_columns(node: Node, validation: Any, built_columns: dict[str, list[str]]) -> list[str] | None:
    """The model's columns as known before it runs (None: not known yet)."""
    analysis = validation.nodes.get(node.unique_id) if validation is not None else None
    if analysis is not None and analysis.columns is not None and node.language != "python":
        return list(analysis.columns)
    declared = [c.name for c in node.columns.values()]
    built = built_columns.get(node.unique_id)
    if built is not None:
        return list(dict.fromkeys([*built, *declared]))
    return declared or None


def check_columns(manifest: Manifest, known: Callable[[Node], list[str] | None]) -> None:
    """Each chart's fields and each served model's key must be columns of the model: a project error with
    the file and line otherwise (all of them together)."""
    errors: list[ProjectError] = []
    nodes = manifest.nodes
    for chart in getattr(manifest, "charts", {}).values():
        columns = known(nodes[chart.node])
        if columns is None:
            continue
        try:
            parse_charts([chart.entry], chart.model, columns, chart.path, chart.line, CHART_PLACEHOLDERS + (
                *_placeholders(chart.spec.path),))
        except ProjectErrors as exc:
            errors += exc.errors
        except ProjectError as exc:
            errors.append(exc)
    for served in getattr(manifest, "served", {}).values():
        columns = known(nodes[served.node])
        if columns is None:
            continue
        lowered = {c.lower() for c in columns}
        for column in served.key:
            if column.lower() not in lowered:
                errors.append(ProjectError(f"serve: key {column!r} is not a column of {served.model}", served.path,
                                           served.line, hint=did_you_mean(column, columns)
                                           or f"columns: {', '.join(columns)}"))
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)


def _placeholders(path: str | None) -> list[str]:
    """The placeholders a path uses (already checked when parsed): accepted again as they are."""
    return PLACEHOLDER.findall(path or "")
