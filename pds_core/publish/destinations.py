"""Where exports go: one small class per destination kind, each writing atomically.

- file: the rows go to a temporary name in the same folder, which is renamed over the old file
  only once complete (os.replace locally; fsspec's mv for URLs), so a reader or a killed run
  never sees half a file;
- table: the rows replace the table in one transaction (the adapter's write_dataframe), or are
  staged and appended / merged in one transaction (its incremental_dataframe);
- http: the rows are POSTed in batches, each retried with backoff; a batch that still fails
  stops the export and is reported with what was and was not sent.

Settings are rendered (env_var()) only here, when the export runs. What a destination shows
(describe) and every error text (redact) never carry a secret: header values, URL credentials,
query strings and env_var() values are left out or masked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pds_core.errors import ProjectError
from pds_core.loader import Project
from pds_core.nodes import Relation
from pds_core.publish.exports import PLACEHOLDER, Export, FileSpec, HttpSpec, TableSpec
from pds_core.publish.http import HttpFailed, post_json
from pds_core.publish.secrets import Secrets, env_values, shown_url
from pds_core.publish.targets import TargetPool
from pds_core.render import Renderer

TEMP_MARK = ".pds-tmp-"


class ExportFailed(Exception):
    """An export that stopped part way; says how far it got (already redacted)."""

    def __init__(self, message: str, rows: int = 0, batches: int = 0) -> None:
        super().__init__(message)
        self.rows = rows
        self.batches = batches


@dataclass
class Written:
    rows: int
    batches: int = 1
    notes: list[str] = field(default_factory=list)


@dataclass
class PublishContext:
    """What exports need from the run, passed explicitly."""

    project: Project
    adapter: Any  # the warehouse the models are built in
    run_id: str
    started: dt.datetime  # UTC
    targets: TargetPool
    on_retry: Any = None  # (export, attempt, reason, delay) -> None: reported as an event

    def __post_init__(self) -> None:
        target = self.project.target
        self.renderer = Renderer(self.project.name, self.project.vars,
                                 {"name": target.name, "type": target.type, "schema": target.schema})

    def render(self, text: str, path: str) -> str:
        return self.renderer.render_string(text, path) if "{{" in text or "{%" in text else text


class Destination:
    kind: ClassVar[str] = ""

    def __init__(self, export: Export, ctx: PublishContext) -> None:
        self.export = export
        self.ctx = ctx
        self.secrets = Secrets()

    def prepare(self) -> None:
        """Render the settings (env_var()) and check them; may raise ProjectError."""

    def describe(self) -> str:
        raise NotImplementedError

    def redact(self, text: str) -> str:
        return self.secrets.redact(text)

    def write(self, chunks: Iterator[Any]) -> Written:
        raise NotImplementedError


class FileDestination(Destination):
    kind = "file"

    def __init__(self, export: Export, ctx: PublishContext) -> None:
        super().__init__(export, ctx)
        self.spec: FileSpec = export.spec  # type: ignore[assignment]
        self.target = self.spec.path  # until prepare() renders it; a path is no secret (credentials go
        # in storage_options, which are), so env_var() values in it are shown

    def prepare(self) -> None:
        self.target = self._resolve()
        parts = urlsplit(self.target) if self.is_url() else None
        if parts is not None:
            self.secrets.add(parts.password)

    def _resolve(self) -> str:
        ctx, export = self.ctx, self.export
        started = ctx.started
        values = {"run_date": started.strftime("%Y-%m-%d"), "run_time": started.strftime("%Y%m%dT%H%M%SZ"),
                  "run_id": ctx.run_id, "target": ctx.project.target.name, "model": export.model,
                  "export": export.name, **{k: str(v) for k, v in ctx.project.vars.items()}}
        text = ctx.render(self.spec.path, export.path)
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def is_url(self) -> bool:
        return "://" in self.target

    def describe(self) -> str:
        if self.is_url():
            return self.redact(shown_url(self.target))
        path = Path(self.target)
        return self.redact(str(path if path.is_absolute() else Path(self.target).as_posix()))

    def write(self, chunks: Iterator[Any]) -> Written:
        sheet = self.spec.sheet or self.export.model
        return Written(self.write_with(lambda handle: write_frames(handle, chunks, self.spec.format, sheet)))

    def write_with(self, writer: Callable[[Any], int]) -> int:
        """Call writer(handle) on a temporary file beside the target and rename it over the target once
        complete; returns what the writer returned (the rows)."""
        if self.is_url():
            return self._write_fsspec(writer)
        final = Path(self.target) if Path(self.target).is_absolute() else self.ctx.project.root / self.target
        final.parent.mkdir(parents=True, exist_ok=True)
        for stale in final.parent.glob(f".{final.name}{TEMP_MARK}*"):  # left by a killed run
            stale.unlink(missing_ok=True)
        temp = final.parent / f".{final.name}{TEMP_MARK}{uuid.uuid4().hex[:8]}"
        try:
            with open(temp, "wb") as handle:
                rows = writer(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        return rows

    def _write_fsspec(self, writer: Callable[[Any], int]) -> int:
        try:
            import fsspec
        except ImportError:  # pragma: no cover - fsspec is a dependency
            raise ProjectError("file exports to URLs need fsspec", hint="pip install fsspec") from None
        options = {k: self.ctx.render(str(v), self.export.path) if isinstance(v, str) else v
                   for k, v in self.spec.storage_options.items()}
        self.secrets.add(*[v for v in options.values() if isinstance(v, str)])
        try:
            fs, final = fsspec.core.url_to_fs(self.target, **options)
        except ImportError as exc:
            protocol = self.target.split("://", 1)[0]
            raise ProjectError(f"writing to {protocol}:// needs a package that is not installed: {exc}",
                               self.export.path, self.export.line,
                               hint=f"install the fsspec implementation for {protocol} (e.g. s3fs, gcsfs, adlfs)"
                               ) from None
        parent, _, name = final.rpartition("/")
        temp = f"{parent}/.{name}{TEMP_MARK}{uuid.uuid4().hex[:8]}" if parent else f".{name}{TEMP_MARK}"
        if parent:
            with contextlib.suppress(Exception):  # object stores have no folders
                fs.makedirs(parent, exist_ok=True)
        try:
            with fs.open(temp, "wb") as handle:
                rows = writer(handle)
            fs.mv(temp, final)
        finally:
            with contextlib.suppress(Exception):  # best effort; the export's own error matters more
                if fs.exists(temp):
                    fs.rm(temp)
        return rows


def write_frames(handle: Any, chunks: Iterator[Any], fmt: str, sheet: str = "Sheet1") -> int:
    """Write DataFrame chunks to an open binary file in one format; returns the rows written."""
    if fmt == "xlsx":  # one sheet; several models' exports to one path are one workbook (workbooks.py)
        from pds_core.publish.xlsx import Sheet, write_xlsx

        return sum(s.rows for s in write_xlsx(handle, [Sheet(sheet, chunks)]))
    if fmt not in ("csv", "jsonl", "parquet"):
        raise ValueError(f"unknown file format {fmt!r}")
    rows = 0
    writer: Any = None
    for index, chunk in enumerate(chunks):
        rows += len(chunk)
        if fmt == "csv":
            handle.write(chunk.to_csv(index=False, header=index == 0, lineterminator="\n").encode("utf-8"))
        elif fmt == "jsonl":
            if len(chunk):
                text = _numbers(chunk).to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
                handle.write((text if text.endswith("\n") else text + "\n").encode("utf-8"))
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(handle, table.schema)
            writer.write_table(table.cast(writer.schema))
    if writer is not None:
        writer.close()
    return rows


class TableDestination(Destination):
    kind = "table"

    def __init__(self, export: Export, ctx: PublishContext) -> None:
        super().__init__(export, ctx)
        self.spec: TableSpec = export.spec  # type: ignore[assignment]
        self.adapter: Any = None

    def relation(self) -> Relation:
        schema = self.spec.schema or (self.adapter.target.schema if self.adapter else "<target schema>")
        return Relation(schema, self.spec.name or self.export.model)

    def describe(self) -> str:
        rel = self.relation()
        return f"{self.spec.target}:{rel.schema}.{rel.identifier} ({self.spec.mode})"

    def redact(self, text: str) -> str:
        text = super().redact(text)
        return self.adapter.redact(text) if self.adapter is not None else text

    def prepare(self) -> None:
        self.adapter = self.ctx.targets.get(self.spec.target)

    def write(self, chunks: Iterator[Any]) -> Written:
        import pandas as pd

        frames = list(chunks)
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        relation = self.relation()
        adapter = self.adapter
        self.ctx.targets.ensure_schema(self.spec.target, relation.schema)
        exists = adapter.list_relations([relation.schema]).get(relation.key())
        if self.spec.mode == "replace" or exists is None:
            adapter.write_dataframe(relation, df)  # one transaction: the old table stays until the new one is whole
        else:
            strategy = "append" if self.spec.mode == "append" else "merge"
            adapter.incremental_dataframe(relation, df, strategy, self.spec.unique_key)
        return Written(len(df))


class HttpDestination(Destination):
    kind = "http"

    def __init__(self, export: Export, ctx: PublishContext) -> None:
        super().__init__(export, ctx)
        self.spec: HttpSpec = export.spec  # type: ignore[assignment]
        spec = self.spec
        self.secrets.add(*env_values(spec.url), *[v for t in spec.headers.values() for v in env_values(t)])
        self.url = ""
        self.headers: dict[str, str] = {}

    def prepare(self) -> None:
        spec, export = self.spec, self.export
        self.url = self.ctx.render(spec.url, export.path)
        self.headers = {k: self.ctx.render(v, export.path) for k, v in spec.headers.items()}
        parts = urlsplit(self.url)
        self.secrets.add(*self.headers.values(), parts.password, parts.username, parts.query, self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ProjectError(f"export {export.name}: the url is not an http(s) URL", export.path, export.line,
                               hint="check the url (or the environment variable it reads)")

    def describe(self) -> str:
        return f"{self.spec.method} {shown_url(self.spec.url)}"

    def write(self, chunks: Iterator[Any]) -> Written:
        spec, export = self.spec, self.export
        sent_rows = sent = retries = 0
        batches = _batches(chunks, spec.batch_size)
        current = next(batches, None)
        while current is not None:
            following = next(batches, None)
            rows = _records(current)
            body: Any = rows if spec.payload == "rows" else {
                "run_id": self.ctx.run_id, "export": export.name, "model": export.model, "batch": sent + 1,
                "last": following is None, "rows": rows}
            headers = {**self.headers, "X-PDS-Run-Id": self.ctx.run_id, "X-PDS-Batch": str(sent + 1)}

            def retried(attempt: int, reason: str, delay: float) -> None:
                if self.ctx.on_retry is not None:
                    self.ctx.on_retry(export, attempt, self.redact(reason), delay)

            try:
                outcome = post_json(self.url, body, headers, spec.method, spec.timeout, spec.retries, spec.backoff,
                                    on_retry=retried)
            except HttpFailed as exc:
                left = "" if following is None else " and every batch after it"
                raise ExportFailed(self.redact(
                    f"batch {sent + 1} ({_rows(len(rows))}) was not accepted: {exc}; {sent} batch"
                    f"{'es' if sent != 1 else ''} ({_rows(sent_rows)}) {'was' if sent == 1 else 'were'} sent "
                    f"before it, this one{left} not sent"), sent_rows, sent) from None
            retries += outcome.attempts - 1
            sent += 1
            sent_rows += len(rows)
            current = following
        notes = [f"{retries} retr{'ies' if retries != 1 else 'y'}"] if retries else []
        return Written(sent_rows, sent, notes)


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"


def _batches(chunks: Iterator[Any], size: int) -> Iterator[Any]:
    """Re-cut DataFrame chunks into batches of `size` rows (an empty export sends no batch)."""
    import pandas as pd

    pending: list[Any] = []
    count = 0
    for chunk in chunks:
        pending.append(chunk)
        count += len(chunk)
        while count >= size:
            frame = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            yield frame.iloc[:size]
            rest = frame.iloc[size:]
            pending, count = [rest], len(rest)
    if count:
        yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]


def _records(frame: Any) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: timestamps in ISO 8601, NaN and NaT as null, decimals as numbers."""
    import json

    return json.loads(_numbers(frame).to_json(orient="records", date_format="iso", force_ascii=False))


def _numbers(frame: Any) -> Any:
    """Decimal columns (DECIMAL/NUMERIC in the warehouse) as floats: JSON would write them as strings."""
    import decimal

    decimals = [c for c in frame.columns if frame[c].dtype == object
                and any(isinstance(v, decimal.Decimal) for v in frame[c].head(100))]
    if not decimals:
        return frame
    return frame.assign(**{c: frame[c].map(lambda v: None if v is None else float(v)) for c in decimals})


DESTINATIONS: dict[str, type[Destination]] = {"file": FileDestination, "table": TableDestination,
                                              "http": HttpDestination}


def destination_for(export: Export, ctx: PublishContext) -> Destination:
    return DESTINATIONS[export.kind](export, ctx)
