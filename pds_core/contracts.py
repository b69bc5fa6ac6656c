"""Contracts: a model that declares `contract: {enforced: true}` promises its columns and types.

The promise is checked against what the warehouse says the query returns, before the table
(or view) is replaced, so a broken promise fails the node and leaves the old relation as it
was. Types are compared after sqlglot normalizes both spellings (integer = int = int4,
varchar = text = string), and parameters only where both sides have them.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from pds_core.errors import ProjectError
from pds_core.nodes import Node

STRINGS = {"TEXT", "VARCHAR", "NVARCHAR", "CHAR", "NCHAR", "BPCHAR", "NAME", "STRING"}


def is_enforced(node: Node) -> bool:
    """True when the node's config asks for an enforced contract ({enforced: true} or 'enforced')."""
    contract = node.config.get("contract")
    if isinstance(contract, dict):
        return contract.get("enforced") is True
    return isinstance(contract, str) and contract.strip().lower() == "enforced"


def declared_columns(node: Node) -> dict[str, str]:
    """The columns an enforced contract promises: name -> data_type, all from schema YAML."""
    where = node.patch_path or node.path
    contract = node.config.get("contract")
    if isinstance(contract, str) and contract.strip().lower() != "enforced":
        raise ProjectError(f"contract of {node.name} must be 'enforced' or {{enforced: true}}, got {contract!r}",
                           where, node.patch_line)
    if isinstance(contract, dict) and set(contract) - {"enforced", "alias_types"}:
        extra = sorted(set(contract) - {"enforced", "alias_types"})[0]
        raise ProjectError(f"unknown key {extra!r} in the contract of {node.name}", where, node.patch_line,
                           hint="a contract takes enforced: true")
    if node.language != "sql" or node.materialized not in ("table", "incremental", "view"):
        kind = "Python model" if node.language == "python" else f"{node.materialized} model"
        raise ProjectError(f"{node.name} is a {kind}; contracts are enforced on SQL tables, incremental models "
                           "and views", where, node.patch_line, hint="remove the contract or change the model")
    if not node.columns:
        raise ProjectError(f"{node.name} has an enforced contract but declares no columns", where, node.patch_line,
                           hint="list its columns with a data_type each under columns: in schema YAML")
    missing = [c for c in node.columns.values() if not c.data_type]
    if missing:
        raise ProjectError(f"column {missing[0].name!r} of {node.name} needs a data_type: its contract is enforced",
                           where, missing[0].line or node.patch_line, hint="e.g. data_type: integer")
    return {c.name: str(c.data_type) for c in node.columns.values()}


def check_declarations(nodes: list[Node]) -> list[ProjectError]:
    """Every malformed contract declaration among the nodes (reported at compile time, all at once)."""
    errors = []
    for node in nodes:
        if node.resource_type == "model" and is_enforced(node):
            try:
                declared_columns(node)
            except ProjectError as exc:
                errors.append(exc)
    return errors


def enforce(node: Node, adapter: Any, query: exp.Expression) -> None:
    """Fail (ProjectError) when the query's columns or types differ from the contract; no-op without one."""
    if not is_enforced(node):
        return
    declared = declared_columns(node)
    actual = query_columns(node, adapter, query)
    problems = compare(declared, actual, adapter.dialect)
    if problems:
        raise ProjectError(f"the contract of {node.name} is not met, so {node.relation} was left as it was:\n    "
                           + "\n    ".join(problems), node.patch_path or node.path, node.patch_line,
                           hint="change the query, or the columns and data_type in schema YAML")


def query_columns(node: Node, adapter: Any, query: exp.Expression) -> list[tuple[str, str]]:
    """The (name, type) of each column the query returns, as the warehouse reports them.

    An adapter may answer directly (`query_columns(relation, query)`); otherwise the query is
    created as a view beside the model's relation, its columns are read from
    information_schema, and the view is dropped.
    """
    own = getattr(adapter, "query_columns", None)
    if own is not None:
        return list(own(node.relation, query))
    from pds_adapters import statements as st

    probe = adapter.temp_relation(node.relation, "contract")
    table = adapter.table(probe)
    adapter.execute(st.create_view_as(table, query, replace=False))
    try:
        info = exp.table_("columns", db="information_schema")
        condition = exp.and_(
            exp.func("lower", exp.column("table_schema")).eq(exp.Literal.string(probe.schema.lower())),
            exp.func("lower", exp.column("table_name")).eq(exp.Literal.string(probe.identifier.lower())))
        _cols, rows = adapter.fetch(exp.select("column_name", "data_type").from_(info).where(condition)
                                    .order_by("ordinal_position"))
    finally:
        adapter.execute(st.drop(table, "VIEW"))
    return [(str(name), str(kind)) for name, kind in rows]


def compare(declared: dict[str, str], actual: list[tuple[str, str]], dialect: str) -> list[str]:
    """What differs between the promised and the returned columns, one line each (empty when they match)."""
    got = {name.lower(): (name, kind) for name, kind in actual}
    want = {name.lower(): (name, kind) for name, kind in declared.items()}
    problems = []
    missing = [f"{name} ({kind})" for key, (name, kind) in want.items() if key not in got]
    extra = [f"{name} ({kind})" for key, (name, kind) in got.items() if key not in want]
    if missing:
        problems.append("missing columns (declared, not returned by the query): " + ", ".join(missing))
    if extra:
        problems.append("extra columns (returned by the query, not declared): " + ", ".join(extra))
    for key, (name, kind) in want.items():
        if key in got and not same_type(kind, got[key][1], dialect):
            problems.append(f"column {name} is declared {kind}, but the query returns {got[key][1]}")
    return problems


def same_type(declared: str, actual: str, dialect: str) -> bool:
    """Whether two type spellings name the same type in this dialect (parameters compared when both have them)."""
    a, b = _parse_type(declared, dialect), _parse_type(actual, dialect)
    if a is None or b is None:
        return declared.strip().lower() == actual.strip().lower()
    family_a, family_b = _family(a), _family(b)
    if family_a != family_b:
        return False
    if a.expressions and b.expressions and family_a not in STRINGS | {"STRING"}:
        return a.sql(dialect=dialect).lower() == b.sql(dialect=dialect).lower()
    return True


def _parse_type(text: str, dialect: str) -> exp.DataType | None:
    try:
        return exp.DataType.build(text, dialect=dialect, udt=True)
    except (SqlglotError, ValueError):
        return None


def _family(dtype: exp.DataType) -> str:
    name = dtype.this.name if hasattr(dtype.this, "name") else str(dtype.this)
    return "STRING" if name in STRINGS else name
