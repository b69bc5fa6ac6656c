"""Publish a served model: after its gating checks passed, its rows become a new snapshot in
target/serve/ (pds_core/serve/store.py: written whole, then the CURRENT pointer switches), which a
running `pds serve` picks up. A node held back or failing leaves CURRENT, and what clients get, as it
was; a key that is missing, NULL or not unique is refused before anything is written.

For a model served with `score`, the node also records its parents' column types
(target/serve/<model>/scoring.json): POST /score/<model> checks posted rows against them, and loads
them into the in-memory DuckDB the model's code then reads, with the types the build gave it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from pds_core.errors import ProjectError
from pds_core.publish.charts import atomic_write
from pds_core.publish.runner import ExportRunner
from pds_core.publish.serving import ServeNode
from pds_core.results import SUCCESS, NodeResult
from pds_core.runners.base import NodeFailed

if TYPE_CHECKING:  # imported where a served model is published: a build without `serve` never loads pyarrow
    import pyarrow as pa

SERVE_DIR = "serve"  # under target/
SCORING_FILE = "scoring.json"
SAMPLE_ROWS = 200  # rows of each parent read to learn the types of columns that pandas holds as objects


def scoring_path(target_dir: Path, model: str) -> Path:
    return target_dir / SERVE_DIR / model / SCORING_FILE


class ServeRunner(ExportRunner):
    """The "serve" entry of the runner registry."""

    def result(self, served: ServeNode, status: str = SUCCESS, message: str = "") -> NodeResult:
        return NodeResult(unique_id=served.unique_id, name=served.name, resource_type="serve", status=status,
                          message=message, path=served.path,
                          extra={"attached_to": served.node, "model": served.model, "destination_type": "serve"})

    def run(self, served: ServeNode, result: NodeResult) -> None:
        if self.held_back(served, result):
            return
        import pyarrow as pa

        from pds_core.serve.store import SnapshotError, SnapshotStore

        folder = self.plan.project.target_dir / SERVE_DIR
        result.extra["destination"] = f"{self._shown(folder)}/{served.model}"
        said = []
        if served.score:
            parents = self._parent_schemas(served)
            atomic_write(scoring_path(self.plan.project.target_dir, served.model), json.dumps({
                "model": served.model, "run_id": self.publish.run_id,
                "columns": {p: {f.name: str(f.type) for f in fields} for p, fields in parents.items()},
                "arrow_schemas": {p: base64.b64encode(pa.schema(fields).serialize().to_pybytes()).decode("ascii")
                                  for p, fields in parents.items()}}, indent=1).encode("utf-8"))
            said.append(f"scoring on {', '.join(parents) or 'no parents'}")
        if served.rows:
            try:
                info = SnapshotStore(folder).publish(served.model, self._chunks(served), served.key,
                                                     run_id=self.publish.run_id)
            except SnapshotError as exc:
                raise NodeFailed(f"{served.path}:{served.line or 1}: serve {served.model}: {exc}; the served "
                                 "snapshot stays as it was") from None
            result.rows_affected = info.rows
            said.insert(0, f"snapshot {info.id}")
        result.message = f"serve {served.model} ({'; '.join(said)})"

    def _parent_schemas(self, served: ServeNode) -> dict[str, list[pa.Field]]:
        """Each parent the model reads (by the name it passes to ctx.ref / ctx.source), with its columns
        as Arrow types, from a few of its rows in the warehouse."""
        node = self.nodes[served.node]
        nodes = self.plan.manifest.all_nodes()
        out: dict[str, list[pa.Field]] = {}
        for uid in node.depends_on:
            parent = nodes[uid]
            if parent.materialized == "ephemeral":
                compiled = self.plan.compiled.get(uid)
                if compiled is None:
                    raise ProjectError(f"serve {served.model}: its ephemeral parent {parent.name} is not compiled")
                source: exp.Expression = compiled.ast.copy().subquery("pds_parent")
            else:
                assert parent.relation is not None
                source = self.publish.adapter.table(parent.relation)
            frame = self.publish.adapter.query_dataframe(exp.select("*").from_(source).limit(SAMPLE_ROWS))
            out[parent.name] = arrow_fields(frame)
        return out

    def _shown(self, path: Path) -> str:
        root = self.plan.project.root
        return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def arrow_fields(frame: Any) -> list[pa.Field]:
    """A DataFrame's columns as Arrow fields; a text column with no value in the sample is text."""
    import pyarrow as pa

    fields = []
    for name in frame.columns:
        try:
            kind = pa.Array.from_pandas(frame[name]).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            kind = pa.string()
        if pa.types.is_null(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        fields.append(pa.field(str(name), kind))
    return fields
