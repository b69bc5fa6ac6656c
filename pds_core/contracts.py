"""Contracts: a model that declares `contract: {enforced: true}` promises its columns and types.

The promise is checked against what the warehouse says the query returns, before the table
(or view) is replaced, so a broken promise fails the node and leaves the old relation as it
was. Types are compared after sqlglot normalizes both spellings (integer = int = int4,
varchar = text = string), and parameters only where both sides have them.

A table (or incremental model) with an enforced contract is then built as dbt builds it: created from
its declared columns, types and `constraints` (model-level and column-level), and filled from the
query (pds_adapters.constraints). The declarations are checked here at compile time; a foreign key's
`to: ref(...)` makes the referenced model a parent, so it is built first.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from pds_adapters.constraints import NOT_ENFORCED, NOT_SUPPORTED, TYPES, Constraint, DeclaredColumn, support
from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.not_acted_on import ProjectWarning

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
    """Every malformed contract or constraint declaration among the nodes (reported at compile time, all at
    once); constraints that will not be created (no enforced contract, a view) warn."""
    errors = []
    for node in nodes:
        if node.resource_type == "model" and is_enforced(node):
            try:
                declared_columns(node)
            except ProjectError as exc:
                errors.append(exc)
        for raw, column, line in _all_constraints(node):
            try:
                _parse_constraint(raw, node, column, line)
            except ProjectError as exc:
                errors.append(exc)
            if column is not None and isinstance(raw, dict) and raw.get("name"):
                warnings.warn(ProjectWarning(f"the name of a column-level constraint of {node.name}.{column} is not "
                                             "used (as in dbt): the warehouse names it", node.patch_path or node.path,
                                             line, hint="declare it at the model level (constraints: with "
                                                        "columns:) to name it"), stacklevel=2)
        if any(True for _ in _all_constraints(node)) and not builds_declared(node):
            why = ("its contract is not enforced" if not is_enforced(node)
                   else f"a {node.materialized} has no constraints")
            warnings.warn(ProjectWarning(f"the constraints of {node.name} are not created: {why}",
                                         node.patch_path or node.path, node.patch_line,
                                         hint="constraints apply to tables and incremental models with "
                                              "contract: {enforced: true}"), stacklevel=2)
    return errors


# ---- constraints ------------------------------------------------------------------------------------------
CONSTRAINT_KEYS = ("type", "name", "expression", "columns", "to", "to_columns", "warn_unenforced",
                   "warn_unsupported")
_TO = re.compile(r"""^\s*(ref|source)\(\s*(['"])([^'"]+)\2\s*(?:,\s*(['"])([^'"]+)\4\s*)?\)\s*$""")


def builds_declared(node: Node) -> bool:
    """Whether the node's table is created from its declared columns and constraints (as dbt does)."""
    return node.resource_type == "model" and node.language == "sql" and is_enforced(node) \
        and node.materialized in ("table", "incremental")


def _all_constraints(node: Node) -> Any:
    """(constraint as declared, its column or None, line) for the model's and each column's constraints."""
    for raw in node.constraints:
        yield raw, None, getattr(raw, "line", None) or node.patch_line
    for col in node.columns.values():
        for raw in col.constraints:
            yield raw, col.name, getattr(raw, "line", None) or col.line or node.patch_line


def constraint_refs(node: Node) -> tuple[list[str], list[tuple[str, str]]]:
    """The models (ref) and sources a node's foreign keys point at with `to:`."""
    refs: list[str] = []
    sources: list[tuple[str, str]] = []
    for raw, _column, _line in _all_constraints(node):
        found = _TO.match(str(raw.get("to") or "")) if isinstance(raw, dict) else None
        if found and found.group(1) == "ref" and found.group(5) is None:
            refs.append(found.group(3))
        elif found and found.group(1) == "source" and found.group(5) is not None:
            sources.append((found.group(3), found.group(5)))
    return refs, sources


def _parse_constraint(raw: Any, node: Node, column: str | None, line: int | None) -> Constraint:
    where = node.patch_path or node.path
    subject = node.name + (f".{column}" if column else "")
    what = f"a constraint of {subject}"
    if not isinstance(raw, dict) or "type" not in raw:
        raise ProjectError(f"{what} needs a type", where, line,
                           hint=f"each constraint is a mapping such as {{type: not_null}}; types: {', '.join(TYPES)}")
    extra = sorted(set(raw) - set(CONSTRAINT_KEYS))
    if extra:
        raise ProjectError(f"unknown key {extra[0]!r} in {what}", where, line,
                           hint=f"a constraint takes: {', '.join(CONSTRAINT_KEYS)}")
    kind = str(raw["type"])
    if kind not in TYPES:
        raise ProjectError(f"unknown constraint type {kind!r} in {what}", where, line, hint=f"one of: {', '.join(TYPES)}")
    columns = [str(c) for c in raw.get("columns") or []]
    if column is None and kind in ("unique", "primary_key", "foreign_key") and not columns:
        raise ProjectError(f"the model-level {kind} constraint of {node.name} needs columns:", where, line,
                           hint="e.g. columns: [order_id, line_number]")
    if kind in ("check", "custom") and not raw.get("expression"):
        raise ProjectError(f"the {kind} constraint of {subject} needs an expression:", where, line,
                           hint='e.g. expression: "amount >= 0"')
    to = raw.get("to")
    if kind == "foreign_key" and not (to and raw.get("to_columns")) and not raw.get("expression"):
        raise ProjectError(f"the foreign_key constraint of {subject} needs to: and to_columns:", where, line,
                           hint="e.g. to: ref('customers') and to_columns: [id]")
    if to and not _TO.match(str(to)):
        raise ProjectError(f"to: {to!r} in {what} must be ref('model') or source('source', 'table')", where, line)
    return Constraint(type=kind, name=raw.get("name"), expression=raw.get("expression"), columns=columns,
                      to_columns=[str(c) for c in raw.get("to_columns") or []],
                      warn_unenforced=raw.get("warn_unenforced") is not False,
                      warn_unsupported=raw.get("warn_unsupported") is not False)


def declared_table(node: Node, relation_of: Any) -> tuple[list[DeclaredColumn], list[Constraint]]:
    """The node's declared columns (with their constraints) and model-level constraints, each foreign key's
    `to:` resolved to a relation by relation_of(kind, name)."""
    declared_columns(node)

    def parsed(raw: Any, column: str | None, line: int | None) -> Constraint:
        constraint = _parse_constraint(raw, node, column, line)
        found = _TO.match(str(raw.get("to") or ""))
        if found:
            name = found.group(3) if found.group(5) is None else f"{found.group(3)}.{found.group(5)}"
            constraint.to = relation_of(found.group(1), name)
        return constraint

    columns = [DeclaredColumn(c.name, str(c.data_type), bool(c.quote),
                              [parsed(raw, c.name, c.line) for raw in c.constraints]) for c in node.columns.values()]
    return columns, [parsed(raw, None, node.patch_line) for raw in node.constraints]


def warn_unsupported(node: Node, adapter: Any, columns: list[DeclaredColumn], model: list[Constraint]) -> None:
    """dbt's ConstraintNotSupported / ConstraintNotEnforced warnings, once per place."""
    for constraint in [*model, *(c for col in columns for c in col.constraints)]:
        level = support(adapter, constraint)
        if level == NOT_SUPPORTED and constraint.warn_unsupported:
            text = f"{constraint.type} constraints are not supported on {adapter.type}: not created"
        elif level == NOT_ENFORCED and constraint.warn_unenforced:
            text = f"{constraint.type} constraints are not enforced on {adapter.type}: created as metadata only"
        else:
            continue
        warnings.warn(ProjectWarning(f"{node.name}: {text}", node.patch_path or node.path, node.patch_line,
                                     hint="set warn_unsupported / warn_unenforced: false on the constraint "
                                          "to silence this"), stacklevel=2)


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

    An adapter may answer directly (`query_column_types(relation, query)`); otherwise the query is
    created as a view beside the model's relation, its columns are read from
    information_schema, and the view is dropped.
    """
    own = getattr(adapter, "query_column_types", None)
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


def build_declared(node: Node, ctx: Any, query: exp.Expression) -> int | None:
    """Replace the node's table with one created from its declared columns and constraints, filled from
    the query (dbt's create_table_as with an enforced contract)."""
    from pds_adapters.constraints import foreign_key_dependents, replace_declared
    from pds_core.nodes import Relation

    def relation_of(kind: str, name: str) -> Relation:
        target = ctx.resolve(kind, name) if ctx.resolve is not None else None
        if not isinstance(target, Relation):
            raise ProjectError(f"a foreign key of {node.name} references {kind} {name!r}, which is not a table",
                               node.patch_path or node.path, node.patch_line)
        return target

    columns, model = declared_table(node, relation_of)
    warn_unsupported(node, ctx.adapter, columns, model)
    if not ctx.adapter.declares_tables:  # (Spark) the checked query's own table: its types are the contract's
        return ctx.adapter.replace_table(node.relation, query, options=ctx.options(node))
    check_dependents(node, ctx, foreign_key_dependents(ctx.adapter, node.relation))
    return replace_declared(ctx.adapter, node.relation, query, columns, model)


def check_dependents(node: Node, ctx: Any, tables: list[str]) -> None:
    """DuckDB cannot replace a table other tables' foreign keys reference: those tables are set aside and
    rebuilt later in the run, which is only safe when this run rebuilds each of them from scratch after
    this model (dbt-duckdb's rule). Otherwise nothing is touched and the node fails, naming them."""
    if not tables:
        return
    models = {(n.relation.schema.lower(), n.relation.identifier.lower()): n
              for n in (ctx.manifest.nodes.values() if ctx.manifest is not None else [])
              if n.resource_type == "model" and n.relation is not None}
    chain = {node.unique_id} | {m.unique_id for t in tables
                                if (m := models.get((node.relation.schema.lower(), t.lower()))) is not None}
    problems = []
    for table in tables:
        other = models.get((node.relation.schema.lower(), table.lower()))
        decision = ctx.decisions.get(other.unique_id) if other is not None else None
        if other is None:
            problems.append(f"{table} (not built by a model of this project)")
        elif decision is None:
            problems.append(f"{table} (model {other.name} is not selected in this run)")
        elif not chain & (set(other.depends_on) - {other.unique_id}):
            problems.append(f"{table} (model {other.name} does not ref() the table its foreign key references; "
                            "use to: ref(...) in the constraint)")
        elif other.materialized not in ("table", "incremental") or decision.incremental:
            problems.append(f"{table} (model {other.name} is {other.materialized} and would lose its rows; "
                            "run with --full-refresh)")
    if problems:
        raise ProjectError(f"cannot replace {node.relation}: {ctx.adapter.type} does not replace a table that a "
                           f"foreign key references, and pds sets aside only tables this run rebuilds. "
                           f"Problem tables: {'; '.join(problems)}", node.patch_path or node.path, node.patch_line,
                           hint="select the referencing models too (e.g. -s customers+), or --full-refresh them")
