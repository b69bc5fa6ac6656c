"""Small shared helpers of the artifacts record.py writes: timestamps, atomic JSON files, schema versions."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST_SCHEMA = "pds/manifest/v1"
RUN_RESULTS_SCHEMA = "pds/run_results/v1"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """dataclasses.asdict for JSON, without its per-value deepcopy and per-call fields(): dataclasses become
    dicts, lists and tuples lists, dicts new dicts; leaves are kept as they are. A build writes one per node
    into manifest.json and run_results.json, where asdict cost more than a small model's SQL."""
    cls = type(value)
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    if cls is dict:
        return {k: plain(v) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [plain(v) for v in value]
    names = _field_names(cls)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


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


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
