"""Seeds are checked when the project is parsed, before anything runs: a CSV that a warehouse would
reject or silently misread (not UTF-8, ragged rows, an unclosed quote, a blank or repeated header
name) is a ProjectError pointing at its line, the same on every engine."""

from __future__ import annotations

import csv
import io
from typing import Any

from pds_core.errors import ProjectError


def check_seed(raw: bytes, path: str, delimiter: str = ",") -> None:
    """Raise a ProjectError for the first problem in the CSV (the parser caches files found good)."""
    if len(delimiter) != 1:
        raise ProjectError(f"the seed delimiter must be one character, got {delimiter!r}", path,
                           hint="set delimiter: ';' (or another single character) in the seed's config")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProjectError("seed file is not valid UTF-8", path, raw[: exc.start].count(b"\n") + 1,
                           hint="save the file as UTF-8") from None
    if not text.strip():
        raise ProjectError("seed file is empty", path, 1, hint="a seed starts with a header row naming its columns")
    _check_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), path, delimiter)


def _check_rows(reader: Any, path: str, delimiter: str) -> None:
    start, header = 1, None
    try:
        while True:
            start = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                return
            if not row:
                continue  # a blank line: the loaders skip it too
            if header is None:
                header = row
                _check_header(header, path)
            elif len(row) != len(header):
                raise ProjectError(
                    f"row has {len(row)} field{'s' if len(row) != 1 else ''}, the header has {len(header)}",
                    path, start, hint=f"every row needs {len(header)} values separated by {delimiter!r}; "
                    "quote values that contain the delimiter")
    except csv.Error as exc:
        raise ProjectError(f"malformed CSV ({exc}): an unclosed or stray quote in the row starting here", path,
                           start, hint='a quoted value must end with a closing quote; write "" for a quote inside it'
                           ) from None


def _check_header(header: list[str], path: str) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        if not name.strip():
            raise ProjectError(f"column {index} of the header has no name", path, 1,
                               hint="name every column in the first row")
        key = name.strip().lower()  # warehouses fold unquoted names: 'A' and 'a' collide
        if key in seen:
            raise ProjectError(f"column {name!r} appears twice in the header (columns {seen[key]} and {index})",
                               path, 1, hint="give every column a distinct name")
        seen[key] = index
