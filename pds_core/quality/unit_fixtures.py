"""The rows of a unit test's `given:` and `expect:` items, in dbt's three formats.

- `format: dict` (the default): `rows:` is a list of mappings; a seed given without rows takes the
  seed file's rows, as dbt does;
- `format: csv`: `rows:` is CSV text with a header line, or `fixture: name` names
  `<test-path>/fixtures/**/name.csv`; an empty cell is NULL, every other cell a string that is cast
  to the column's type like a YAML string;
- `format: sql`: `rows:` is a SELECT (in the project's dialect) giving every column, or `fixture:`
  names a `.sql` file under the fixtures folder.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pds_core.config import check_keys
from pds_core.errors import ProjectError

FORMATS = ("dict", "csv", "sql")
GIVEN_KEYS: dict[str, tuple[type, ...]] = {"input": (str,), "rows": (list, str), "format": (str,), "fixture": (str,)}
EXPECT_KEYS: dict[str, tuple[type, ...]] = {"rows": (list, str), "format": (str,), "fixture": (str,)}
OVERRIDE_KEYS: dict[str, tuple[type, ...]] = {"macros": (dict,), "vars": (dict,), "env_vars": (dict,)}


class FixtureFiles:
    """The files under each test path's `fixtures/` folder, by name (the file name without extension)."""

    def __init__(self, root: Path, test_paths: list[str]) -> None:
        self.root = root
        self.found: dict[tuple[str, str], Path] = {}
        for folder in test_paths:
            base = root / folder / "fixtures"
            if base.is_dir():
                for path in sorted(base.rglob("*")):
                    if path.suffix in (".csv", ".sql") and path.is_file():
                        self.found.setdefault((path.stem, path.suffix[1:]), path)

    def read(self, name: str, fmt: str, where: str, line: int | None) -> str:
        path = self.found.get((name, fmt))
        if path is None:
            known = sorted(n for n, f in self.found if f == fmt)
            raise ProjectError(f"no fixture file {name}.{fmt}", where, line,
                               hint=f"put it under tests/fixtures/ (known {fmt} fixtures: {', '.join(known) or 'none'})")
        return path.read_text(encoding="utf-8")


def read_rows(item: dict[str, Any], what: str, path: str, line: int | None, fixtures: FixtureFiles,
              seed_file: Path | None = None) -> tuple[list[dict[str, Any]] | None, str | None, str]:
    """(rows, sql, format) of one given: or expect: item; exactly one of rows and sql is set."""
    check_keys(item, GIVEN_KEYS if what != "expect" else EXPECT_KEYS, path, what)
    fmt = str(item.get("format") or "dict").lower()
    if fmt not in FORMATS:
        raise ProjectError(f"{what}: unknown format {fmt!r}", path, line, hint="format: dict, csv or sql")
    rows, fixture = item.get("rows"), item.get("fixture")
    if fixture is not None and fmt == "dict":
        raise ProjectError(f"{what}: fixture: files need format: csv or format: sql", path, line)
    if fixture is not None and rows is not None:
        raise ProjectError(f"{what}: give rows: or fixture:, not both", path, line)
    if fmt == "dict":
        if rows is None and seed_file is not None:
            return _csv_rows(seed_file.read_text(encoding="utf-8")), None, fmt
        if rows is None:
            rows = []
        if not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
            raise ProjectError(f"{what}: rows: must be a list of mappings (one per row) with format: dict", path, line,
                               hint="or set format: csv / format: sql for rows written as text")
        return [dict(r) for r in rows], None, fmt
    if not isinstance(rows, str) and not isinstance(fixture, str):
        raise ProjectError(f"{what}: format: {fmt} needs rows: as text or fixture: <file name>", path, line)
    text = fixtures.read(fixture, fmt, path, line) if isinstance(fixture, str) else str(rows)
    if fmt == "csv":
        return _csv_rows(text), None, fmt
    if not text.strip():
        raise ProjectError(f"{what}: the SQL fixture is empty", path, line)
    return None, text.strip().rstrip(";"), fmt


def _csv_rows(text: str) -> list[dict[str, Any]]:
    """CSV with a header line -> rows of strings; an empty cell is NULL (dbt's csv fixtures)."""
    reader = csv.DictReader(io.StringIO(text.strip("\n")))
    return [{str(k).strip(): (v if v != "" else None) for k, v in row.items() if k is not None} for row in reader]
