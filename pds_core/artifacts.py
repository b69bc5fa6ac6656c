"""Record: target/manifest.json and target/run_results.json, versioned, with no secrets in them."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pds_core import __version__
from pds_core.compiler import CompiledNode
from pds_core.loader import Project
from pds_core.nodes import Node
from pds_core.parser import Manifest
from pds_core.results import RunResult

MANIFEST_SCHEMA = "pds/manifest/v1"
RUN_RESULTS_SCHEMA = "pds/run_results/v1"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _metadata(project: Project, schema: str, invocation_id: str) -> dict[str, Any]:
    return {
        "schema_version": schema,
        "pds_version": __version__,
        "generated_at": now_iso(),
        "invocation_id": invocation_id,
        "project_name": project.name,
        "target": {"name": project.target.name, "type": project.target.type},
    }


def node_dict(node: Node, compiled: CompiledNode | None, compiled_path: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "unique_id": node.unique_id,
        "name": node.name,
        "resource_type": node.resource_type,
        "path": node.path,
        "language": node.language,
        "checksum": node.checksum,
        "fqn": node.fqn,
        "config": node.config,
        "tags": node.tags,
        "depends_on": node.depends_on,
        "relation": str(node.relation) if node.relation else None,
        "description": node.description,
        "columns": {name: asdict(col) for name, col in node.columns.items()},
        "patch_path": node.patch_path,
    }
    if node.resource_type == "model":
        data["raw_code"] = node.raw_code
    if node.resource_type == "source":
        data["source"] = node.source_meta
    if compiled is not None:
        data["compiled_code"] = compiled.sql
        data["compiled_path"] = compiled_path
        data["column_lineage"] = compiled.column_lineage  # column -> [{node, column}] it is computed from
    return data


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temporary file beside the target and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, separators=(",", ":"), default=str))  # the C encoder: fast on big manifests
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_compiled(project: Project, manifest: Manifest, compiled: dict[str, CompiledNode]) -> dict[str, str]:
    """target/compiled/<project>/<path>.sql for every compiled model; returns uid -> relative path.

    A file whose content is already right is left alone, so an unchanged project writes nothing.
    """
    paths: dict[str, str] = {}
    base = os.path.join(project.config.target_path, "compiled", project.name)
    root = str(project.root)
    made: set[str] = set()
    for uid, comp in compiled.items():
        rel = f"{base}/{manifest.nodes[uid].path}"
        paths[uid] = rel
        out = os.path.join(root, rel)
        text = comp.sql + "\n"
        try:
            with open(out, encoding="utf-8") as fh:
                if fh.read() == text:
                    continue
        except OSError:
            folder = os.path.dirname(out)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return paths


def write_manifest(project: Project, manifest: Manifest, compiled: dict[str, CompiledNode],
                   invocation_id: str, compiled_paths: dict[str, str] | None = None,
                   fingerprints: dict[str, Any] | None = None) -> Path:
    compiled_paths, fingerprints = compiled_paths or {}, fingerprints or {}

    def entry(uid: str, node: Node) -> dict[str, Any]:
        data = node_dict(node, compiled.get(uid), compiled_paths.get(uid))
        if uid in fingerprints:
            data["fingerprint"] = asdict(fingerprints[uid])
        return data

    data = {
        "metadata": _metadata(project, MANIFEST_SCHEMA, invocation_id),
        "nodes": {uid: entry(uid, n) for uid, n in manifest.nodes.items()},
        "sources": {uid: entry(uid, n) for uid, n in manifest.sources.items()},
        "macros": manifest.macros,
        "parent_map": {uid: n.depends_on for uid, n in manifest.nodes.items()},
    }
    if manifest.quality is not None:  # tests, metrics and unit tests, with what each depends on
        data.update(manifest.quality.to_manifest())
        data["parent_map"].update({uid: q.depends_on for uid, q in manifest.quality.runnable().items()})
    if getattr(manifest, "exports", None):  # settings as written in YAML, header values and storage options left out
        data["exports"] = {uid: e.to_manifest() for uid, e in manifest.exports.items()}
        data["parent_map"].update({uid: [e.node] for uid, e in manifest.exports.items()})
    path = project.target_dir / "manifest.json"
    write_json_atomic(path, data)
    return path


def write_run_results(project: Project, run: RunResult, args: dict[str, Any]) -> Path:
    data = {
        "metadata": _metadata(project, RUN_RESULTS_SCHEMA, run.invocation_id),
        "command": run.command,
        "args": args,
        "started_at": run.started_at,
        "elapsed_time": round(run.elapsed, 4),
        "success": run.success,
        "results": [r.to_dict() for r in run.results],
    }
    path = project.target_dir / "run_results.json"
    write_json_atomic(path, data)
    return path


def write_state(folder: Path, fingerprints: dict[str, Any], invocation_id: str) -> Path:
    """target/state/manifest.json: the fingerprint each node had when it was last built successfully."""
    data = {"metadata": {"schema_version": MANIFEST_SCHEMA, "pds_version": __version__, "generated_at": now_iso(),
                         "invocation_id": invocation_id, "kind": "state"},
            "nodes": {uid: {"fingerprint": asdict(fp)} for uid, fp in sorted(fingerprints.items())}}
    path = folder / "manifest.json"
    write_json_atomic(path, data)
    return path


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
