"""Published snapshots of served models on disk, and the switch from one to the next.

    target/serve/<model>/<snapshot id>/rows.arrow   the rows, sorted by the key (Arrow IPC file)
    target/serve/<model>/<snapshot id>/meta.json    key, columns, row count, when, which run
    target/serve/<model>/CURRENT                    the id of the snapshot being served

Publishing a model (after its checks passed) writes a whole new snapshot folder under a temporary
name, renames it into place, and only then replaces CURRENT (os.replace: atomic). A build that fails
its checks never publishes, so CURRENT, and what `pds serve` answers, stay as they were; a publish
killed half way leaves a temporary folder that the next publish removes, never a half snapshot.

Arrow IPC rather than Parquet: the server memory-maps the file, so opening a 1,000,000-row snapshot
costs no decoding and the pages are shared between server processes. The key is checked (present,
no NULL, unique) before anything is written: a key lookup must name at most one row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

ROWS_FILE = "rows.arrow"
META_FILE = "meta.json"
POINTER = "CURRENT"
TEMP_MARK = ".pds-tmp-"
MODEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SnapshotError(ValueError):
    """Rows that cannot be published as a snapshot (no such key column, NULL or duplicate keys)."""


@dataclass(frozen=True)
class SnapshotInfo:
    """What meta.json says about one snapshot."""

    model: str
    id: str
    rows: int
    key: tuple[str, ...]
    columns: dict[str, str] = field(default_factory=dict)  # name -> Arrow type, in order
    published_at: str = ""
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = list(self.key)
        return data


def as_table(data: Any) -> pa.Table:
    """A pyarrow Table from a Table, a DataFrame, or an iterable of DataFrame / RecordBatch chunks."""
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "to_arrow") and not hasattr(data, "columns"):
        return data.to_arrow()
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    tables = [as_table(chunk) if not isinstance(chunk, pa.RecordBatch) else pa.Table.from_batches([chunk])
              for chunk in data]
    if not tables:
        raise SnapshotError("no rows and no columns to publish")
    return pa.concat_tables(tables, promote_options="default")


class SnapshotStore:
    """The snapshots of every served model under one folder (target/serve)."""

    def __init__(self, root: Path | str, keep: int = 3) -> None:
        self.root = Path(root)
        self.keep = max(1, keep)  # snapshots kept per model: a server may still be reading the previous one

    def folder(self, model: str) -> Path:
        if not MODEL_NAME.fullmatch(model):
            raise SnapshotError(f"{model!r} is not a model name")
        return self.root / model

    def models(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / POINTER).is_file())

    def current_id(self, model: str) -> str | None:
        try:
            return (self.folder(model) / POINTER).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def info(self, model: str, snapshot: str) -> SnapshotInfo:
        data = json.loads((self.folder(model) / snapshot / META_FILE).read_text(encoding="utf-8"))
        data["key"] = tuple(data["key"])
        return SnapshotInfo(**data)

    def rows_path(self, model: str, snapshot: str) -> Path:
        return self.folder(model) / snapshot / ROWS_FILE

    def publish(self, model: str, data: Any, key: Iterable[str], run_id: str | None = None) -> SnapshotInfo:
        """Write the rows as a new snapshot and make it the current one (see the module docstring)."""
        table = as_table(data)
        key = tuple(key)
        _check_key(model, table, key)
        if key:
            table = table.sort_by([(k, "ascending") for k in key])
        folder = self.folder(model)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(f"{TEMP_MARK}*"):  # left by a killed publish
            shutil.rmtree(stale, ignore_errors=True)
        now = dt.datetime.now(dt.UTC)
        snapshot = f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
        info = SnapshotInfo(model=model, id=snapshot, rows=table.num_rows, key=key,
                            columns={f.name: str(f.type) for f in table.schema},
                            published_at=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"), run_id=run_id)
        temp = folder / f"{TEMP_MARK}{snapshot}"
        temp.mkdir()
        try:
            with pa.OSFile(str(temp / ROWS_FILE), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table.combine_chunks(), max_chunksize=max(1, table.num_rows))
            _write_synced(temp / META_FILE, json.dumps(info.to_json(), indent=1).encode("utf-8"))
            _fsync_path(temp / ROWS_FILE)
            os.replace(temp, folder / snapshot)
        finally:
            if temp.exists():
                shutil.rmtree(temp, ignore_errors=True)
        pointer_temp = folder / f"{TEMP_MARK}{POINTER}-{uuid.uuid4().hex[:8]}"
        _write_synced(pointer_temp, snapshot.encode("utf-8"))
        os.replace(pointer_temp, folder / POINTER)  # the switch: readers see the old id or the new one
        self._prune(model, snapshot)
        return info

    def _prune(self, model: str, current: str) -> None:
        """Keep the newest `keep` snapshots; an older one a server still maps stays readable (POSIX keeps
        a removed file's pages until they are unmapped)."""
        folder = self.folder(model)
        snapshots = sorted((p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                           reverse=True)
        for name in snapshots[self.keep:]:
            if name != current:
                shutil.rmtree(folder / name, ignore_errors=True)


def _check_key(model: str, table: pa.Table, key: tuple[str, ...]) -> None:
    import pyarrow.compute as pc

    for column in key:
        if column not in table.column_names:
            raise SnapshotError(f"{model}: the key column {column!r} is not among the rows' columns "
                                f"({', '.join(table.column_names)})")
        if table[column].null_count:
            raise SnapshotError(f"{model}: the key column {column!r} has {table[column].null_count} NULL values")
    if not key or not table.num_rows:
        return
    if len(key) == 1:
        distinct = pc.count_distinct(table[key[0]]).as_py()
    else:
        distinct = table.group_by(list(key)).aggregate([]).num_rows
    if distinct != table.num_rows:
        raise SnapshotError(f"{model}: the key ({', '.join(key)}) is not unique: {table.num_rows - distinct} "
                            "duplicate rows; a key lookup must name one row")


def _write_synced(path: Path, content: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
