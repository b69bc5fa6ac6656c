"""Unit tests of models (dbt's `unit_tests:`): parsed from schema YAML here, run by unit_run.py.

Fixed rows for each ref()/source() (or `this`) in, the expected rows out; the rows may be written as
dict, csv or sql, inline or in fixture files (unit_fixtures.py); `overrides:` change vars, env vars
and macros for the test.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pds_core.config import check_keys
from pds_core.errors import ProjectError
from pds_core.not_acted_on import warn_not_acted_on
from pds_core.quality.generic import relation_argument
from pds_core.quality.spec import Found, GivenInput, UnitTestNode
from pds_core.quality.unit_fixtures import OVERRIDE_KEYS, FixtureFiles, read_rows

if TYPE_CHECKING:
    from pds_core.loader import Project
    from pds_core.nodes import Manifest

UNIT_KEYS: dict[str, tuple[type, ...]] = {"name": (str,), "model": (str,), "given": (list,), "expect": (dict,),
                                          "overrides": (dict,), "description": (str,), "config": (dict,),
                                          "versions": (dict,)}
CONFIG_KEYS: dict[str, tuple[type, ...]] = {"tags": (list, str), "meta": (dict,), "enabled": (bool,)}


class UnitTestFailed(Exception):
    """The model ran but returned other rows than expected."""


# ---- parse ---------------------------------------------------------------------------------------
def yaml_unit_tests(manifest: Manifest, project: Project | None = None) -> Found:
    found = Found()
    root = project.root if project is not None else None
    fixtures = FixtureFiles(root, project.config.test_paths) if project is not None else FixtureFiles(Path("."), [])
    for props in (manifest.schema.unit_tests if manifest.schema else []):
        try:
            test = _from_yaml(props.entry, props.path, props.line, manifest, fixtures, root)
        except ProjectError as exc:
            found.errors.append(exc)
            continue
        if test is not None:
            found.items.append(test)
    return found


def _from_yaml(entry: dict[str, Any], path: str, line: int | None, manifest: Manifest, fixtures: FixtureFiles,
               root: Path | None) -> UnitTestNode | None:
    name = entry["name"]
    check_keys(entry, UNIT_KEYS, path, f"unit test {name!r}")
    warn_not_acted_on(entry, path, f"unit test {name!r}", kind="unit test", line=line)
    config = dict(entry.get("config") or {})
    check_keys(config, CONFIG_KEYS, path, f"config of unit test {name!r}")
    if config.get("enabled") is False:
        return None
    uid = manifest.by_name.get(str(entry.get("model") or "").split()[0] if entry.get("model") else "")
    if uid is None or manifest.nodes[uid].resource_type != "model":
        from pds_core.errors import did_you_mean

        raise ProjectError(f"unit test {name!r}: model {entry.get('model')!r} does not exist", path, line,
                           hint=did_you_mean(str(entry.get("model")), manifest.by_name) or "set model: <model name>")
    given = []
    for item in entry.get("given") or []:
        where = getattr(item, "line", None) or line
        if not isinstance(item, dict) or "input" not in item:
            raise ProjectError("each given: item needs input: ref('model') (or source(...), or this) and rows:",
                               path, where)
        text = str(item["input"]).strip()
        kind, input_name = ("this", "") if text == "this" else parse_input(text, path, where)
        seed = manifest.ref(input_name) if kind == "ref" else None
        seed_file = root / seed.path if seed is not None and seed.resource_type == "seed" and root else None
        rows, sql, fmt = read_rows(item, f"given {text}", path, where, fixtures, seed_file)
        given.append(GivenInput(kind, input_name, rows, sql, fmt))
    expect = entry.get("expect")
    if not isinstance(expect, dict):
        raise ProjectError(f"unit test {name!r} needs expect: {{rows: [...]}}", path, line)
    expect_rows, expect_sql, _fmt = read_rows(expect, "expect", path, getattr(expect, "line", None) or line, fixtures)
    overrides = entry.get("overrides") or {}
    check_keys(overrides, OVERRIDE_KEYS, path, f"overrides of unit test {name!r}")
    model = manifest.nodes[uid]
    tags = config.get("tags") or []
    return UnitTestNode(unique_id=f"unit_test.{manifest.project_name}.{model.name}.{name}",
                        name=name, model=uid, path=path, line=line, given=given, expect=expect_rows,
                        expect_sql=expect_sql, vars=dict(overrides.get("vars") or {}),
                        macros=dict(overrides.get("macros") or {}),
                        env_vars={str(k): str(v) for k, v in (overrides.get("env_vars") or {}).items()},
                        description=str(entry.get("description") or ""), config=config,
                        tags=[tags] if isinstance(tags, str) else [str(t) for t in tags])


def parse_input(text: str, path: str | None = None, line: int | None = None) -> tuple[str, str]:
    """ref('x') -> ('ref', 'x'); source('a', 'b') or 'a.b' -> ('source', 'a.b'); a bare name is a ref."""
    if re.fullmatch(r"\s*[A-Za-z_]\w*\.[A-Za-z_]\w*\s*", text):
        return "source", text.strip()
    marker, _refs, _sources = relation_argument(text, str(path or "<fixture>"), line)
    return marker.kind, marker.ref_name  # the name as written (a source: "src.table")


# ---- compare -------------------------------------------------------------------------------------
def compare(actual: Any, expected: list[dict[str, Any]], name: str) -> str:
    """Compare as multisets of rows on the expected columns; raise UnitTestFailed with the difference."""
    columns = list(dict.fromkeys(k for row in expected for k in row))
    missing_cols = [c for c in columns if c not in actual.columns]
    if missing_cols:
        raise UnitTestFailed(f"the model returned no column {missing_cols[0]!r} (it returned: "
                             f"{', '.join(map(str, actual.columns))})")
    got = Counter(tuple(normalize(v) for v in row) for row in actual[columns].itertuples(index=False, name=None))
    want = Counter(tuple(normalize(row.get(c)) for c in columns) for row in expected)
    if got == want:
        return f"unit test {name} passed ({sum(want.values())} rows)"
    lines = []
    for label, rows in (("expected but missing", want - got), ("returned but not expected", got - want)):
        for row in list(rows.elements())[:5]:
            lines.append(f"  {label}: " + ", ".join(f"{c}={v!r}" for c, v in zip(columns, row, strict=True)))
    raise UnitTestFailed(f"{sum(got.values())} rows returned, {sum(want.values())} expected\n" + "\n".join(lines))


def normalize(value: Any) -> Any:
    """One comparable form for a cell: numbers rounded, dates as ISO text, nulls as None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item() if getattr(value, "ndim", 0) == 0 else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float):
        value = round(value, 6)
        return int(value) if value.is_integer() else value
    return value
