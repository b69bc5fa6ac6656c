"""dbt-duckdb's `external` materialization: the model's rows written to Parquet, CSV or JSON files, and a
view over those files in the database.

    {{ config(materialized='external', location='out/orders.parquet', format='parquet',
              options={'partition_by': 'region'}) }}

As dbt-duckdb 1.11 decides them:

- location: `location`, else `<external_root>/<name>.<format>` (`<external_root>/<name>` when
  partitioned); external_root is the profile's (default: the project folder). A relative path is
  relative to the project folder, and the view reads the absolute path.
- format: `format`, else the location's extension (`.parquet`, `.csv`, `.json`, before a `.gz` or
  `.zst`), else csv when a `delimiter` is set, else parquet. CSV is written with a header.
- options: `options` (any COPY option: `partition_by`, `compression`, `per_thread_output`, ...) plus
  `format`, `delimiter` and a top-level `partition_by`. Partitioned output is a folder, read back with
  one `*` per partition column.
- an empty result is written as one all-NULL row, which the view filters out (so the files keep the
  column types).
- the view reads them with read_parquet / read_csv / read_json and `parquet_read_options`,
  `csv_read_options`, `json_read_options` (defaults: union_by_name false; auto_detect true).

Atomic where dbt-duckdb is not: the files are written to a hidden temporary path beside the location and
renamed into place only after the write succeeded; the old file (or folder) is kept aside until the view
is committed and put back if anything fails, so a failed build leaves the old files and view as they were.
Remote locations (s3://, ...) cannot be renamed and are written in place, as dbt-duckdb does.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlglot import exp

from pds_adapters import statements as st
from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.post_build import building

FORMATS = ("parquet", "csv", "json")
READERS = {"parquet": exp.ReadParquet, "csv": exp.ReadCSV, "json": None}
READ_DEFAULTS = {"parquet": {"union_by_name": False}, "csv": {"auto_detect": True}, "json": {"auto_detect": True}}
COMPRESSION = {".gz": "gzip", ".zst": "zstd"}


def location(node: Node, project_root: Path, external_root: str | None) -> str:
    """Where the model's files go (absolute for a local path)."""
    config = node.config
    options = config.get("options") or {}
    if config.get("location"):
        path = str(config["location"])
    else:
        root = str(external_root or ".")
        name = node.relation.identifier if node.relation is not None else node.name
        partitioned = options.get("partition_by") or config.get("partition_by")
        path = f"{root}/{name}" if partitioned else f"{root}/{name}.{config.get('format') or 'parquet'}"
    return path if _remote(path) else str((project_root / path).resolve())


def write_options(node: Node, path: str) -> dict[str, Any]:
    """The COPY options, as dbt-duckdb's external_write_options chooses them."""
    config = node.config
    options = dict(config.get("options") or {})
    if not isinstance(config.get("options") or {}, dict):
        raise ProjectError(f"options of {node.name} must be a mapping of COPY options", node.path)
    for key in ("format", "delimiter", "partition_by"):
        if config.get(key) is not None:
            options[key] = config[key]
    if "format" not in options:
        root, ext = os.path.splitext(path)
        compression = COMPRESSION.get(ext.lower())
        if compression:
            ext = os.path.splitext(root)[1]
            options.setdefault("compression", compression)
        ext = ext.lower().lstrip(".")
        options["format"] = ext if ext else ("csv" if "delimiter" in options else "parquet")
    elif COMPRESSION.get(os.path.splitext(path)[1].lower()):  # the temporary path has no such extension
        options.setdefault("compression", COMPRESSION[os.path.splitext(path)[1].lower()])
    options["format"] = str(options["format"]).lower()
    if options["format"] == "csv":
        options.setdefault("header", 1)
    if isinstance(options.get("partition_by"), list):
        options["partition_by"] = ",".join(map(str, options["partition_by"]))
    return options


def read_location(path: str, options: dict[str, Any]) -> str:
    """The glob the view reads: the file, or one `*` per partition level (and per thread) under the folder."""
    if not (options.get("partition_by") or options.get("per_thread_output")):
        return path
    levels = ["*"] * (len(str(options["partition_by"]).split(",")) if options.get("partition_by") else 0)
    return "/".join([path, "*", *levels]) + "." + str(options.get("format", "parquet"))


def build(node: Node, ctx: Any, query: exp.Expression) -> int:
    """Write the files atomically and create the view over them; returns the rows written."""
    adapter = ctx.adapter
    if not getattr(adapter, "writes_external_files", False):
        raise ProjectError(f"{node.name} is materialized as external, which writes files with DuckDB; the "
                           f"target is {adapter.type}", node.path,
                           hint="use materialized='table' on this target (dbt-duckdb's external is DuckDB's)")
    path = location(node, ctx.project_root, adapter.target.settings.get("external_root"))
    options = write_options(node, path)
    fmt = str(node.config.get("format") or options["format"]).lower()
    fmt = fmt if fmt in FORMATS else "parquet"
    swap = FileSwap(path)
    temp = exp.to_identifier(f"__pds_external_{uuid.uuid4().hex[:8]}", quoted=True)
    try:
        with building(node, ctx, "view"):
            adapter.execute(exp.Create(this=exp.Table(this=temp), kind="TABLE", expression=query.copy(),
                                       properties=exp.Properties(expressions=[exp.TemporaryProperty()])))
            columns = adapter.fetch(exp.select("*").from_(exp.Table(this=temp.copy())).limit(0))[0]
            rows = int(adapter.fetch(exp.select(exp.Count(this=exp.Star())).from_(exp.Table(this=temp.copy())))[1][0][0])
            if rows == 0:  # a row of NULLs keeps the column types in the files; the view filters it out
                adapter.execute(exp.insert(exp.values([tuple(exp.null() for _ in columns)]),
                                           exp.Table(this=temp.copy())))
            adapter.execute(copy_statement(temp, swap.write_path, options))
            adapter.execute(st.drop(exp.Table(this=temp.copy())))
            swap.commit_files()
            adapter.create_view(node.relation, view_query(read_location(path, options), fmt, node, options,
                                                          columns if rows == 0 else []))
    except BaseException:
        swap.roll_back()
        raise
    swap.done()
    return rows


def copy_statement(table: exp.Identifier, path: str, options: dict[str, Any]) -> exp.Copy:
    params = [exp.CopyParameter(this=exp.Var(this=_option_name(k).upper()), expression=_option_value(k, v))
              for k, v in options.items()]
    return exp.Copy(this=exp.Table(this=table.copy()), kind=False, files=[exp.Literal.string(path)], params=params)


def view_query(glob: str, fmt: str, node: Node, options: dict[str, Any], nulls: list[str]) -> exp.Select:
    """SELECT * FROM read_<format>('<glob>', <read options>) [WHERE every column IS NOT NULL]."""
    read = dict(READ_DEFAULTS[fmt])
    read.update(node.config.get(f"{fmt}_read_options") or {})
    if fmt in ("csv", "json") and options.get("compression") and "compression" not in read:
        read["compression"] = options["compression"]
    args: list[exp.Expression] = [exp.Literal.string(glob)]
    args += [exp.EQ(this=exp.column(_option_name(k)), expression=_literal(v)) for k, v in read.items()]
    reader = READERS[fmt]
    source = exp.Anonymous(this="read_json", expressions=args) if reader is None else \
        reader(this=args[0], expressions=args[1:]) if reader is exp.ReadCSV else reader(expressions=args)
    query = exp.select("*").from_(exp.Table(this=source))
    for column in nulls:
        query = query.where(exp.column(exp.to_identifier(column, quoted=True)).is_(exp.null()).not_())
    return query


class FileSwap:
    """The files written beside the location, then put in its place keeping the old ones until done()."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.remote = _remote(path)
        target = Path(path)
        tag = uuid.uuid4().hex[:8]
        self.write_path = path if self.remote else str(target.parent / f".{target.name}.pds-tmp-{tag}")
        self.backup = None if self.remote else target.parent / f".{target.name}.pds-old-{tag}"
        self.moved = False
        if not self.remote:
            target.parent.mkdir(parents=True, exist_ok=True)

    def commit_files(self) -> None:
        """The new files in place; the old ones set aside (renames, so a reader sees old or new whole)."""
        if self.remote:
            return
        target, new = Path(self.path), Path(self.write_path)
        if target.is_dir() or (new.is_dir() and target.exists()):
            target.rename(self.backup)  # a folder cannot be replaced in one rename: set it aside first
        elif target.exists():
            try:
                os.link(target, self.backup)  # keep the old file; the replace below is then atomic
            except OSError:
                shutil.copy2(target, self.backup)
        self.moved = True
        os.replace(new, target)

    def roll_back(self) -> None:
        """After a failure: the old files back in place, the new ones removed."""
        if self.remote:
            return
        target = Path(self.path)
        if self.moved:
            if self.backup is not None and self.backup.exists():
                if target.is_dir():
                    _remove(target)
                os.replace(self.backup, target)
            elif not Path(self.write_path).exists():
                _remove(target)  # there was nothing before: the new files go
        _remove(Path(self.write_path))

    def done(self) -> None:
        if self.backup is not None:
            _remove(self.backup)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _remote(path: str) -> bool:
    return "://" in path


def _option_name(key: str) -> str:
    if not str(key).replace("_", "").isalnum():
        raise ProjectError(f"{key!r} is not an option name", hint="options are COPY options such as partition_by")
    return str(key)


def _option_value(key: str, value: Any) -> exp.Expression:
    if key == "format":
        return exp.Var(this=str(value).upper())
    if key == "partition_by":
        names = [n.strip() for n in str(value).strip("()").split(",") if n.strip()]
        return exp.Tuple(expressions=[exp.column(exp.to_identifier(n, quoted=True)) for n in names])
    return _literal(value)


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))
