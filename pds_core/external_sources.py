"""Sources read straight from files, as dbt-duckdb reads them: `external_location` in a source's (or its
table's) `meta:` or `config:`.

    sources:
      - name: lake
        meta:
          external_location: "read_parquet('data/{name}.parquet')"
        tables:
          - name: orders        # source('lake', 'orders') reads data/orders.parquet

The location is a template filled as dbt-duckdb fills it: `{name}`, `{identifier}`, `{schema}`,
`{database}`, `{tags}` and every meta/config key (`formatter: newstyle` (the default) uses str.format,
`oldstyle` uses %-formatting, `template` uses $name). Config overrides meta, a table's own keys override
its source's. A location that is a table function (it has a `(`) is used as written; a plain path is
read as a file (`FROM '<path>'`). Relative paths are relative to the project folder (dbt-duckdb's are
relative to where dbt runs, which is usually the same place), so the compiled SQL names an absolute path.

Only a target that reads files (DuckDB) reads the location; on other targets the source is its table,
and a warning says so.
"""

from __future__ import annotations

import string
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from pds_core.errors import ProjectError
from pds_core.not_acted_on import ProjectWarning

CONFIG_KEYS = ("external_location", "formatter")  # the source config keys pds acts on
FORMATTERS = ("newstyle", "oldstyle", "template")


def external_location(source: Mapping[str, Any], table: Mapping[str, Any], root: Path, path: str,
                      line: int | None) -> str | None:
    """The FROM item (DuckDB SQL) a source table is read through, or None when it is a table."""
    values: dict[str, Any] = {}
    for level in (source.get("meta"), table.get("meta"), source.get("config"), table.get("config")):
        if isinstance(level, Mapping):
            values.update(level)
    template = values.get("external_location")
    if not template:
        return None
    fields = {"name": table["name"], "identifier": table.get("identifier") or table["name"],
              "schema": source.get("schema") or source["name"], "database": source.get("database"),
              "tags": [*(source.get("tags") or []), *(table.get("tags") or [])], **values}
    formatter = values.get("formatter") or "newstyle"
    try:
        if formatter == "newstyle":
            text = str(template).format_map(fields)
        elif formatter == "oldstyle":
            text = str(template) % fields
        elif formatter == "template":
            text = string.Template(str(template)).substitute(fields)
        else:
            raise ProjectError(f"formatter {formatter!r} of source {source['name']}.{table['name']} is not one of "
                               f"{', '.join(FORMATTERS)}", path, line)
    except (KeyError, ValueError, TypeError) as exc:
        raise ProjectError(f"external_location {template!r} of source {source['name']}.{table['name']} cannot be "
                           f"filled in: {exc!r}", path, line,
                           hint="placeholders: {name}, {identifier}, {schema}, {database} and meta keys") from None
    return from_item(text, root, path, line)


def from_item(text: str, root: Path, path: str | None = None, line: int | None = None) -> str:
    """The location as DuckDB SQL of a FROM item, with relative file paths made absolute (project folder)."""
    text = text.strip()
    if "(" not in text and not text.startswith("'"):
        return exp.Literal.string(_absolute(text, root)).sql("duckdb")
    try:
        tree = sqlglot.parse_one(f"SELECT * FROM {text}", read="duckdb")
    except SqlglotError as exc:
        raise ProjectError(f"external_location {text!r} is not valid DuckDB SQL: {str(exc).splitlines()[0]}", path,
                           line, hint="e.g. read_parquet('data/{name}.parquet'), or just the file's path") from None
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table):
        raise ProjectError(f"external_location {text!r} is not a file path or a table function", path, line)
    if isinstance(table.this, exp.Identifier) and table.this.quoted:  # '<path>' parses as a quoted name
        return exp.Literal.string(_absolute(table.this.name, root)).sql("duckdb")
    first = _first_argument(table.this)
    for literal in [first] if isinstance(first, exp.Literal) else list(first.expressions) \
            if isinstance(first, exp.Array) else []:
        if isinstance(literal, exp.Literal) and literal.is_string:
            literal.replace(exp.Literal.string(_absolute(literal.this, root)))
    return table.sql("duckdb")


def warn_unread(sources: Mapping[str, Any], reads_files: bool, target_type: str) -> None:
    """On a target that does not read files, each source with an external location warns once."""
    if reads_files:
        return
    for node in sources.values():
        if node.relation is not None and node.relation.external is not None:
            warnings.warn(ProjectWarning(
                f"source {node.name} has an external_location, which only DuckDB targets read; on {target_type} "
                f"it is read from the table {node.relation.schema}.{node.relation.identifier}",
                node.patch_path, node.patch_line), stacklevel=2)


def _first_argument(function: exp.Expression) -> exp.Expression | None:
    if function.args.get("this") is not None and not isinstance(function.this, str):
        return function.this
    return function.expressions[0] if function.expressions else None


def _absolute(location: str, root: Path) -> str:
    if "://" in location or Path(location).is_absolute() or location.startswith("~"):
        return location
    return str(root / location)
