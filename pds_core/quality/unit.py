"""Unit tests of models: fixed rows for each ref()/source() in, the expected rows out.

They run in an in-memory DuckDB, never on the target: each input becomes a table under the
relation name the model reads, the model runs (its SQL compiled to DuckDB, or its Python
function called with those tables as DataFrames), and its rows are compared with the
expected ones on the expected columns, ignoring order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from pds_adapters import statements as st
from pds_core.config import check_keys
from pds_core.errors import ProjectError
from pds_core.nodes import Node, identifier
from pds_core.quality.generic import relation_argument
from pds_core.quality.pyexec import PythonFiles, call
from pds_core.quality.spec import Found, GivenInput, UnitTestNode

if TYPE_CHECKING:
    from pds_core.loader import Project
    from pds_core.nodes import Manifest

UNIT_KEYS: dict[str, tuple[type, ...]] = {"name": (str,), "model": (str,), "given": (list,), "expect": (dict,),
                                          "overrides": (dict,), "description": (str,), "config": (dict,)}


class UnitTestFailed(Exception):
    """The model ran but returned other rows than expected."""


# ---- parse ---------------------------------------------------------------------------------------
def yaml_unit_tests(manifest: Manifest) -> Found:
    found = Found()
    for props in (manifest.schema.unit_tests if manifest.schema else []):
        try:
            found.items.append(_from_yaml(props.entry, props.path, props.line, manifest))
        except ProjectError as exc:
            found.errors.append(exc)
    return found


def _from_yaml(entry: dict[str, Any], path: str, line: int | None, manifest: Manifest) -> UnitTestNode:
    check_keys(entry, UNIT_KEYS, path, f"unit test {entry['name']!r}")
    uid = manifest.by_name.get(str(entry.get("model") or ""))
    if uid is None or manifest.nodes[uid].resource_type != "model":
        from pds_core.errors import did_you_mean

        raise ProjectError(f"unit test {entry['name']!r}: model {entry.get('model')!r} does not exist", path, line,
                           hint=did_you_mean(str(entry.get("model")), manifest.by_name) or "set model: <model name>")
    given = []
    for item in entry.get("given") or []:
        if not isinstance(item, dict) or "input" not in item:
            raise ProjectError("each given: item needs input: ref('model') and rows:", path,
                               getattr(item, "line", line))
        kind, name = parse_input(str(item["input"]), path, getattr(item, "line", line))
        rows = item.get("rows")
        if rows is not None and not (isinstance(rows, list) and all(isinstance(r, dict) for r in rows)):
            raise ProjectError("rows: must be a list of mappings (one per row)", path, getattr(item, "line", line))
        given.append(GivenInput(kind, name, list(rows or [])))
    expect = entry.get("expect")
    if not isinstance(expect, dict) or not isinstance(expect.get("rows"), list):
        raise ProjectError(f"unit test {entry['name']!r} needs expect: {{rows: [...]}}", path, line)
    overrides = entry.get("overrides") or {}
    model = manifest.nodes[uid]
    return UnitTestNode(unique_id=f"unit_test.{manifest.project_name}.{model.name}.{entry['name']}",
                        name=entry["name"], model=uid, path=path, line=line, given=given,
                        expect=[dict(r) for r in expect["rows"]], vars=dict(overrides.get("vars") or {}),
                        description=str(entry.get("description") or ""))


def parse_input(text: str, path: str | None = None, line: int | None = None) -> tuple[str, str]:
    """ref('x') -> ('ref', 'x'); source('a', 'b') or 'a.b' -> ('source', 'a.b'); a bare name is a ref."""
    if re.fullmatch(r"\s*[A-Za-z_]\w*\.[A-Za-z_]\w*\s*", text):
        return "source", text.strip()
    marker, _refs, _sources = relation_argument(text, str(path or "<fixture>"), line)
    return marker.kind, marker.name


# ---- run -----------------------------------------------------------------------------------------
def run_unit_test(test: UnitTestNode, project: Project, manifest: Manifest, graph: Any, files: PythonFiles,
                  reparse: Callable[[Project], Manifest] | None = None) -> str:
    """Run one unit test; returns a description on success, raises UnitTestFailed or ProjectError.

    `reparse` parses the project again under the test's `overrides: vars:` (given by the command, so
    that quality does not reach back into parsing).
    """
    import duckdb

    given, expect = test.given, test.expect
    if test.function:
        given, expect = _fixture(call(files.function(test.path, test.function), test.path), test)
    if test.vars and reparse is not None:
        manifest = reparse(dataclasses.replace(project, vars={**project.vars, **test.vars}))
    node = manifest.nodes[test.model]
    con = duckdb.connect(":memory:")
    try:
        tables = _load_inputs(con, test, node, manifest, given)
        if node.language == "python":
            actual = _run_python(con, node, manifest, tables, {**project.vars, **test.vars})
        else:
            actual = _run_sql(con, node, manifest, graph, project.config.dialect)
    finally:
        con.close()
    return compare(actual, expect or [], test.name)


def _fixture(result: Any, test: UnitTestNode) -> tuple[list[GivenInput], list[dict[str, Any]]]:
    if isinstance(result, dict) and "given" in result:
        result = (result["given"], result.get("expect"))
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], dict)):
        raise ProjectError(f"{test.path}: {test.function}() must return (given, expect): a dict of input name -> rows,"
                           " and the expected rows", test.path, test.line)
    given = [GivenInput(*parse_input(str(name)), rows=_records(rows)) for name, rows in result[0].items()]
    return given, _records(result[1])


def _records(rows: Any) -> list[dict[str, Any]]:
    if hasattr(rows, "to_dict"):
        return list(rows.to_dict(orient="records"))
    return [dict(r) for r in rows or []]


def _input_node(kind: str, name: str, manifest: Manifest) -> Node | None:
    if kind == "source":
        return next((n for n in manifest.sources.values() if n.name == name), None)
    return manifest.ref(name)


def _needed(node: Node, manifest: Manifest) -> dict[str, Node]:
    """The relations the model reads: its parents, looking through ephemeral ones to theirs."""
    needed: dict[str, Node] = {}
    for uid in node.depends_on:
        parent = manifest.all_nodes()[uid]
        if parent.materialized == "ephemeral":
            needed.update(_needed(parent, manifest))
        else:
            needed[uid] = parent
    return needed


def _load_inputs(con: Any, test: UnitTestNode, node: Node, manifest: Manifest,
                 given: list[GivenInput]) -> dict[str, exp.Table]:
    """Create a table per given input under the relation name the model reads; returns uid -> table."""
    import pandas as pd

    needed = _needed(node, manifest)
    tables: dict[str, exp.Table] = {}
    for item in given:
        parent = _input_node(item.kind, item.name, manifest)
        if parent is None or parent.unique_id not in needed:
            inputs = ", ".join(_call(n) for n in needed.values()) or "none"
            raise ProjectError(f"unit test {test.name!r}: {item.kind}('{item.name}') is not an input of {node.name}",
                               test.path, test.line, hint=f"its inputs: {inputs}")
        assert parent.relation is not None
        table = exp.Table(this=identifier(parent.relation.identifier), db=identifier(parent.relation.schema))
        con.execute(st.create_schema(identifier(parent.relation.schema)).sql("duckdb"))
        frame = pd.DataFrame.from_records(item.rows or [])
        if frame.empty and not len(frame.columns):
            frame = pd.DataFrame({c: pd.Series(dtype="object") for c in parent.columns})
        if not len(frame.columns):
            raise ProjectError(f"unit test {test.name!r}: give at least one row for {_call(parent)}",
                               test.path, test.line, hint="or declare the input's columns in schema YAML")
        con.register("pds_unit_input", frame)
        select = exp.select(*[_typed(c, parent) for c in frame.columns]).from_("pds_unit_input")
        con.execute(exp.Create(this=table, kind="TABLE", expression=select).sql("duckdb"))
        con.unregister("pds_unit_input")
        tables[parent.unique_id] = table
    missing = [n for uid, n in needed.items() if uid not in tables]
    if missing:
        raise ProjectError(f"unit test {test.name!r} gives no rows for {_call(missing[0])}", test.path, test.line,
                           hint="add it under given: with input: and rows:")
    return tables


def _typed(column: str, parent: Node) -> exp.Expression:
    """A given column, cast to the data_type its schema YAML declares (so dates are dates)."""
    col = exp.column(identifier(str(column)))
    declared = parent.columns.get(str(column))
    if declared is None or not declared.data_type:
        return col
    return exp.cast(col, exp.DataType.build(declared.data_type, dialect="duckdb")).as_(identifier(str(column)))


def _call(node: Node) -> str:
    if node.resource_type == "source":
        return "source('{}', '{}')".format(*node.name.split(".", 1))
    return f"ref('{node.name}')"


def _run_sql(con: Any, node: Node, manifest: Manifest, graph: Any, dialect: str) -> Any:
    from pds_core.compiler import Compiler

    tree = Compiler(manifest, graph, dialect, "duckdb").compile([node.unique_id])[node.unique_id].ast.copy()
    for table in tree.find_all(exp.Table):
        table.set("catalog", None)  # the in-memory database has the schemas, not the target's database
    return con.execute(tree.sql("duckdb")).df()


def run_python_on(node: Node, manifest: Manifest, frames: dict[str, Any], vars: dict[str, Any]) -> Any:
    """Run a Python model's model(ctx) on given rows of its parents (uid -> DataFrame or Arrow table), each
    loaded as a typed table of an in-memory DuckDB and read back as the build reads a parent: what a unit
    test does, and what `pds serve` does for POST /score (the same code on the posted rows)."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        tables: dict[str, exp.Table] = {}
        for uid, data in frames.items():
            parent = manifest.all_nodes()[uid]
            assert parent.relation is not None
            table = exp.Table(this=identifier(parent.relation.identifier), db=identifier(parent.relation.schema))
            con.execute(st.create_schema(identifier(parent.relation.schema)).sql("duckdb"))
            con.register("pds_given", data)
            con.execute(exp.Create(this=table, kind="TABLE", expression=exp.select("*").from_("pds_given"))
                        .sql("duckdb"))
            con.unregister("pds_given")
            tables[uid] = table
        return _run_python(con, node, manifest, tables, vars)
    finally:
        con.close()


def _run_python(con: Any, node: Node, manifest: Manifest, tables: dict[str, exp.Table],
                vars: dict[str, Any]) -> Any:
    from pds_core.pymodels import ModelContext, run_python_model

    def read(kind: str, name: str) -> Any:
        parent = _input_node(kind, name, manifest)
        if parent is None or parent.unique_id not in tables:
            raise ProjectError(f"{node.path}: the unit test gives no rows for {kind}('{name}')")
        return con.execute(exp.select("*").from_(tables[parent.unique_id].copy()).sql("duckdb")).df()

    return run_python_model(node.raw_code, node.path, ModelContext(read, node.config, vars, str(node.relation), False))


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
