"""Running one unit test, with dbt's semantics, in an in-memory DuckDB.

Each input becomes a table under the relation name the model reads, holding the fixture rows with
EVERY column of the real relation: a column a row leaves out is NULL of that column's type, and each
value is cast to its column's type (unit_types.py says where the types come from). The model then
runs (SQL compiled to DuckDB, or the Python function), and its rows are compared with the expected
ones, cast to the types the model returned, on the columns the expected rows name, ignoring order.
`overrides:` re-render the model with other vars, env vars and macros (`is_incremental: true`
with `given: - input: this` tests an incremental model's incremental branch).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp, parse_one

from pds_core.errors import ProjectError
from pds_core.nodes import Manifest, Node, identifier
from pds_core.quality.pyexec import PythonFiles, call
from pds_core.quality.spec import GivenInput, UnitTestNode
from pds_core.quality.unit import UnitTestFailed, compare, parse_input
from pds_core.quality.unit_types import InputColumns, InputTypes, create_empty, needed_parents, table_of

if TYPE_CHECKING:
    from pds_core.loader import Project

ACTUAL = "pds_unit_actual"
EXPECTED = "pds_unit_expected"


@dataclass
class UnitEnv:
    """What the unit tests of one run share: the project as parsed, and where input types come from."""

    project: Project
    manifest: Manifest
    graph: Any
    files: PythonFiles
    types: InputTypes
    reparse: Callable[[Project], Manifest] | None = None  # the project parsed again under overrides: vars:


def run_unit_test(test: UnitTestNode, env: UnitEnv) -> tuple[str, dict[str, str]]:
    """Run one unit test; returns (a description, input -> where its types came from). Raises
    UnitTestFailed when the rows differ, ProjectError when the test itself is wrong."""
    import duckdb

    given, expect = test.given, test.expect
    if test.function:
        given, expect = _python_fixture(call(env.files.function(test.path, test.function), test.path), test)
    project, manifest = env.project, env.manifest
    if test.vars and env.reparse is not None:
        project = dataclasses.replace(project, vars={**project.vars, **test.vars})
        manifest = env.reparse(project)
    node = manifest.nodes[test.model]
    incremental = _incremental_override(test)
    con = duckdb.connect(":memory:")
    try:
        origins = _load_inputs(con, test, node, manifest, env.types, given or [], incremental,
                               project.config.dialect)
        if node.language == "python":
            _run_python(con, node, manifest, project, incremental)
        else:
            sql = _compiled_sql(test, node, manifest, env.graph, project, incremental)
            con.execute(exp.Create(this=exp.to_table(ACTUAL), kind="TABLE", expression=sql).sql("duckdb"))
        actual_types = dict(zip(*_describe(con, ACTUAL), strict=True))
        _load_expected(con, test, expect or [], actual_types, project.config.dialect)
        # dict and csv rows compare the columns they name; SQL rows every column, as dbt does
        columns = list(actual_types) if test.expect_sql is not None and not test.function \
            else [c for c in con.table(EXPECTED).columns]
        actual = con.execute(exp.select(*[identifier(c) for c in columns]).from_(ACTUAL).sql("duckdb")).df() \
            if columns else con.table(ACTUAL).df()
        expected_rows = con.table(EXPECTED).df().to_dict(orient="records")
    finally:
        con.close()
    return compare(actual, expected_rows, test.name), origins


def _incremental_override(test: UnitTestNode) -> bool:
    value = test.macros.get("is_incremental", False)
    return value is True or str(value).lower() == "true"


def _python_fixture(result: Any, test: UnitTestNode) -> tuple[list[GivenInput], list[dict[str, Any]]]:
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


def describe_input(node: Node) -> str:
    if node.resource_type == "source":
        return "source('{}', '{}')".format(*node.name.split(".", 1))
    return f"ref('{node.name}')"


# ---- inputs --------------------------------------------------------------------------------------
def _input_node(item: GivenInput, tested: Node, manifest: Manifest) -> Node | None:
    if item.kind == "this":
        return tested
    if item.kind == "source":
        return next((n for n in manifest.sources.values() if n.name == item.name), None)
    return manifest.ref(item.name)


def _load_inputs(con: Any, test: UnitTestNode, node: Node, manifest: Manifest, types: InputTypes,
                 given: list[GivenInput], incremental: bool, dialect: str) -> dict[str, str]:
    """A table per input under the name the model reads; returns input -> where its types came from."""
    needed = needed_parents(node, manifest)
    origins: dict[str, str] = {}
    done: set[str] = set()
    for item in given:
        parent = _input_node(item, node, manifest)
        if parent is None or (parent.unique_id not in needed and parent is not node):
            inputs = ", ".join(describe_input(n) for n in needed.values()) or "none"
            what = f"{item.kind}('{item.name}')" if item.kind != "this" else "this"
            raise ProjectError(f"unit test {test.name!r}: {what} is not an input of {node.name}", test.path,
                               test.line, hint=f"its inputs: {inputs}" + (", this" if incremental else ""))
        label = "this" if parent is node else describe_input(parent)
        cols = types.of(parent)
        origins[label] = cols.origin
        _create_input(con, test, parent, label, item, cols, dialect)
        done.add(parent.unique_id)
    missing = [n for uid, n in needed.items() if uid not in done]
    if missing:
        raise ProjectError(f"unit test {test.name!r} gives no rows for {describe_input(missing[0])}", test.path,
                           test.line, hint="add it under given: with input: and rows: (rows: [] for an empty input)")
    if incremental and node.unique_id not in done:  # is_incremental() without given this: an empty table
        cols = types.of(node)
        if cols.columns:
            create_empty(con, node, cols.columns)
    return origins


def _create_input(con: Any, test: UnitTestNode, parent: Node, label: str, item: GivenInput,
                  cols: InputColumns, dialect: str) -> None:
    from pds_adapters import statements as st

    con.execute(st.create_schema(identifier(parent.relation.schema)).sql("duckdb"))  # type: ignore[union-attr]
    if item.sql is not None:
        query: exp.Expression = _user_sql(item.sql, test, label, dialect)
    else:
        query = _rows_query(item.rows or [], cols, test, label)
    con.execute(exp.Create(this=table_of(parent), kind="TABLE", expression=query).sql("duckdb"))


def _user_sql(text: str, test: UnitTestNode, label: str, dialect: str = "duckdb") -> exp.Expression:
    try:
        return parse_one(text, read=dialect)
    except Exception as exc:
        raise ProjectError(f"unit test {test.name!r}: the SQL rows of {label} do not parse: {exc}", test.path,
                           test.line, hint="format: sql takes one SELECT giving every column") from None


def _rows_query(rows: list[dict[str, Any]], cols: InputColumns, test: UnitTestNode, label: str) -> exp.Expression:
    """SELECT ... UNION ALL SELECT ...: every known column in order, missing ones NULL of their type."""
    written = list(dict.fromkeys(str(k) for row in rows for k in row))
    unknown = [c for c in written if not cols.has(c)]
    if unknown and cols.complete:
        raise ProjectError(f"unit test {test.name!r}: invalid column name {unknown[0]!r} in the fixture for {label}",
                           test.path, test.line,
                           hint=f"accepted columns ({cols.origin}): {', '.join(c for c, _ in cols.columns)}")
    columns = [*cols.columns, *[(c, None) for c in unknown]]
    if not columns:
        raise ProjectError(f"unit test {test.name!r}: give at least one row for {label}", test.path, test.line,
                           hint="its columns are unknown: declare them in schema YAML, or build it first")
    return _typed_select(rows, columns)


def _typed_select(rows: list[dict[str, Any]], columns: list[tuple[str, str | None]]) -> exp.Expression:
    def row_select(row: dict[str, Any] | None) -> exp.Select:
        lowered = {str(k).lower(): v for k, v in (row or {}).items()}
        return exp.select(*[_cell(lowered.get(c.lower()), t).as_(identifier(c)) for c, t in columns])

    if not rows:
        return row_select(None).limit(0)
    query: exp.Expression = row_select(rows[0])
    for row in rows[1:]:
        query = exp.union(query, row_select(row), distinct=False)
    return query


def _cell(value: Any, kind: str | None) -> exp.Expression:
    literal = _literal(value)
    if kind is None:
        return literal
    return exp.cast(literal, exp.DataType.build(kind, dialect="duckdb"))


def _literal(value: Any) -> exp.Expression:
    if value is None or (isinstance(value, float) and value != value):
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return exp.Literal.string(value.isoformat())
    if isinstance(value, dict | list):
        return exp.Literal.string(json.dumps(value, default=str))
    return exp.Literal.string(str(value))


# ---- the model and the expected rows -------------------------------------------------------------
def _compiled_sql(test: UnitTestNode, node: Node, manifest: Manifest, graph: Any, project: Project,
                  incremental: bool) -> exp.Expression:
    from pds_core.compiler import Compiler

    if test.macros or test.env_vars:
        rendered = _render_with_overrides(test, node, project, incremental)
        node = dataclasses.replace(node, rendered=rendered)
        manifest = dataclasses.replace(manifest, nodes={**manifest.nodes, node.unique_id: node})
    tree = Compiler(manifest, graph, project.config.dialect, "duckdb").compile([node.unique_id])[node.unique_id].ast
    tree = tree.copy()
    for table in tree.find_all(exp.Table):
        table.set("catalog", None)  # the in-memory database has the schemas, not the target's database
    return tree


def _render_with_overrides(test: UnitTestNode, node: Node, project: Project, incremental: bool) -> str:
    """The model's SQL rendered again with the test's macro and env var overrides in its context."""
    from pds_core.parser import Parser

    parser = Parser(project, use_cache=False)
    parser.load_macros()
    globals_ = parser.renderer.namespace(parser.renderer.project_name)  # macros, packages, then the context
    extra: dict[str, Any] = {}
    for name, value in test.macros.items():
        if name == "is_incremental":
            continue  # given to the renderer below: it also records that the model reads it
        package, _, macro = name.rpartition(".")
        if package and package in globals_:
            extra[package] = _Overridden(globals_[package], {macro: value})
        else:
            extra[macro] = _returns(value)
    if test.env_vars:
        original = globals_["env_var"]
        extra["env_var"] = lambda key, default=None: test.env_vars[key] if key in test.env_vars \
            else original(key, default)
    rendered, _state = parser.renderer.render(node.raw_code, node.path, lambda _cfg: incremental, extra)
    return rendered


def _returns(value: Any) -> Callable[..., Any]:
    return lambda *_args, **_kwargs: value


class _Overridden:
    """A macro namespace (`dbt`, `dbt_utils`) with some macros replaced by constant values."""

    def __init__(self, inner: Any, values: dict[str, Any]) -> None:
        self._inner, self._values = inner, values

    def __getattr__(self, name: str) -> Any:
        if name in self._values:
            return _returns(self._values[name])
        return getattr(self._inner, name)


def _run_python(con: Any, node: Node, manifest: Manifest, project: Project, incremental: bool) -> None:
    from pds_core.pymodels import run_model_locally

    tables = {uid: table_of(n) for uid, n in needed_parents(node, manifest).items()}
    result = run_model_locally(con, node, manifest, tables, project.vars, incremental)
    con.register("pds_unit_result", result)
    con.execute(exp.Create(this=exp.to_table(ACTUAL), kind="TABLE",
                           expression=exp.select("*").from_("pds_unit_result")).sql("duckdb"))
    con.unregister("pds_unit_result")


def run_python_on(node: Node, manifest: Manifest, frames: dict[str, Any], vars: dict[str, Any]) -> Any:
    """Run a Python model on given rows of its parents (uid -> DataFrame or Arrow table), each loaded as a
    typed table of an in-memory DuckDB and read back as the build reads a parent: what a unit test does,
    and what `pds serve` does for POST /score (the same model() code on the posted rows)."""
    import duckdb

    from pds_adapters import statements as st
    from pds_core.pymodels import run_model_locally

    con = duckdb.connect(":memory:")
    try:
        tables: dict[str, exp.Table] = {}
        for uid, data in frames.items():
            parent = manifest.all_nodes()[uid]
            table = table_of(parent)
            con.execute(st.create_schema(table.args["db"]).sql("duckdb"))
            con.register("pds_given", data)
            con.execute(exp.Create(this=table, kind="TABLE", expression=exp.select("*").from_("pds_given"))
                        .sql("duckdb"))
            con.unregister("pds_given")
            tables[uid] = table
        return run_model_locally(con, node, manifest, tables, vars, False)
    finally:
        con.close()


def _load_expected(con: Any, test: UnitTestNode, rows: list[dict[str, Any]], actual: dict[str, str],
                   dialect: str) -> None:
    if test.expect_sql is not None and not test.function:
        query = _user_sql(test.expect_sql, test, "expect", dialect)
    else:
        written = list(dict.fromkeys(str(k) for row in rows for k in row))
        lowered = {c.lower(): c for c in actual}
        unknown = [c for c in written if c.lower() not in lowered]
        if unknown:
            raise UnitTestFailed(f"invalid column name {unknown[0]!r} in the expected rows: the model returned "
                                 f"{', '.join(actual)}")
        columns = [(lowered[c.lower()], actual[lowered[c.lower()]]) for c in written] if rows \
            else list(actual.items())
        query = _typed_select(rows, columns)
    con.execute(exp.Create(this=exp.to_table(EXPECTED), kind="TABLE", expression=query).sql("duckdb"))


def _describe(con: Any, table: str) -> tuple[list[str], list[str]]:
    rel = con.table(table)
    return [str(c) for c in rel.columns], [str(t) for t in rel.types]
