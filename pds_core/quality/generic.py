"""Generic tests: the built-in ones as sqlglot queries, user-defined ones as `{% test %}` Jinja blocks.

Every generic test is a query returning the failing rows. Built-in tests are built as sqlglot
expressions at run time in the target's dialect, so column names are quoted by the dialect
and accepted values are SQL literals, never pasted text. User-defined tests are Jinja blocks
(dbt's shape) in tests/generic/ or macros/, rendered once while parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser as JinjaParser
from sqlglot import exp

from pds_core.config import validate_node_config
from pds_core.errors import ProjectError
from pds_core.nodes import identifier
from pds_core.render import RelationMarker, Renderer
from pds_core.sqlexpr import parse_sql_expression

# test name -> (required arguments, optional arguments); column_name comes from where the test is declared
BUILTIN_TESTS: dict[str, tuple[set[str], set[str]]] = {
    "not_null": ({"column_name"}, set()),
    "unique": ({"column_name"}, set()),
    "accepted_values": ({"column_name", "values"}, {"quote"}),
    "relationships": ({"column_name", "to", "field"}, set()),
    "expression_is_true": ({"expression"}, {"column_name"}),
    "row_count": (set(), {"min", "max"}),
    "unique_combination": ({"combination_of_columns"}, set()),
    "freshness": (set(), {"warn_after", "error_after", "loaded_at_field", "filter"}),
}
ALIASES = {"unique_combination_of_columns": "unique_combination", "expression": "expression_is_true",
           "row_count_between": "row_count"}
_REF_CALL = re.compile(r"^\s*(ref|source)\s*\(.*\)\s*$", re.S)
_RELATION = re.compile(r"""^\s*(ref|source)\s*\(\s*((?:['"][^'"]+['"]\s*,?\s*){1,2})\)\s*$""")


class TestBlockExtension(Extension):
    """`{% test name(model, column_name) %}...{% endtest %}` defines the macro `test_name` (as in dbt)."""

    tags = {"test"}

    def parse(self, parser: JinjaParser) -> nodes.Macro:
        lineno = next(parser.stream).lineno
        node = nodes.Macro(lineno=lineno)
        node.name = "test_" + parser.parse_assign_target(name_only=True).name
        parser.parse_signature(node)
        node.body = parser.parse_statements(("name:endtest",), drop_needle=True)
        return node


def canonical_name(name: str) -> str:
    """dbt_utils.unique_combination_of_columns -> unique_combination; package prefixes are dropped."""
    short = name.rsplit(".", 1)[-1]
    return ALIASES.get(short, short)


# ---- parse time: arguments that name relations, and user-defined tests -------------------------
def relation_argument(value: Any, path: str, line: int | None = None) -> tuple[RelationMarker, list[str],
                                                                              list[tuple[str, str]]]:
    """`ref('x')`, `source('a', 'b')` or a bare model name: the relation an argument names, and its dependency.

    Read with a pattern rather than rendered: the argument is data in YAML, and this keeps parsing cheap.
    """
    match = _RELATION.match(value) if isinstance(value, str) else None
    if match is None and isinstance(value, str) and re.fullmatch(r"\s*[A-Za-z_]\w*\s*", value):
        return RelationMarker("ref", value.strip()), [value.strip()], []
    names = re.findall(r"""['"]([^'"]+)['"]""", match.group(2)) if match else []
    if match is None or len(names) != 2 and match.group(1) == "source":
        raise ProjectError(f"expected ref('model') or source('src', 'table'), got {value!r}", path, line,
                           hint="e.g. to: ref('stg_customers')")
    if match.group(1) == "source":
        return RelationMarker("source", ".".join(names)), [], [(names[0], names[1])]
    return RelationMarker("ref", names[-1]), [names[-1]], []


def render_user_test(renderer: Renderer, macro_name: str, model: Any, args: dict[str, Any],
                     path: str, namespace: str | None = None) -> tuple[str, list[str], list[tuple[str, str]], Any]:
    """Render a `{% test %}` block (the project's or a package's) for one use; returns the SQL (with
    markers), refs, sources and the render's state (its `config()` calls; `deferred` when it read
    `execute` or asked the warehouse: then it is rendered again at run time, connected)."""
    macro, values, refs, sources = user_test_call(renderer, macro_name, model, args, path, namespace)
    rendered, state = renderer.render(CALL, path, lambda _cfg: False, {"pds_test_macro": macro, "pds_test_args": values})
    return rendered, refs + state.refs, sources + state.sources, state


CALL = "{{ pds_test_macro(**pds_test_args) }}"


def user_test_call(renderer: Renderer, macro_name: str, model: Any, args: dict[str, Any], path: str,
                   namespace: str | None = None) -> tuple[Any, dict[str, Any], list[str], list[tuple[str, str]]]:
    """The `{% test %}` macro and the arguments it is called with (ref()/source() arguments as relation
    markers), with the refs and sources they name."""
    macro = renderer.test_macro(macro_name.removeprefix("test_"), namespace)
    known = set(getattr(macro, "arguments", ()))
    unknown = sorted(set(args) - known - {"model"})
    if unknown and not getattr(macro, "catch_kwargs", False):
        raise ProjectError(f"test {macro_name[5:]!r} takes no argument {unknown[0]!r}", path,
                           hint=f"its arguments: {', '.join(sorted(known)) or 'none'}")
    refs: list[str] = []
    sources: list[tuple[str, str]] = []
    values: dict[str, Any] = {"model": model}
    for key, value in args.items():
        if isinstance(value, str) and _REF_CALL.match(value):
            marker, more_refs, more_sources = relation_argument(value, path)
            values[key] = marker
            refs += more_refs
            sources += more_sources
        else:
            values[key] = value
    return macro, values, refs, sources


def test_model_argument(kind: str, name: str, where: str | None) -> Any:
    """What a generic test's `model` argument is: the relation it tests, filtered by its `where:`."""
    model: Any = RelationMarker(kind, name)
    return f"(select * from {model} where {where}) as pds_where" if where else model


# ---- run time: the built-in tests as sqlglot queries ---------------------------------------------
def builtin_query(test_name: str, args: dict[str, Any], model: exp.Expression, dialect: str,
                  source_dialect: str, relation_of: Callable[[str], exp.Expression]) -> exp.Select:
    """The failing-rows query of a built-in test over `model` (a table or a filtered subquery)."""

    def col(name: str, table: str | None = None) -> exp.Column:
        return exp.column(identifier(str(name), dialect), table=exp.to_identifier(table) if table else None)

    def count() -> exp.Count:
        return exp.Count(this=exp.Star())

    column = args.get("column_name")
    if test_name == "not_null":
        return exp.select(exp.Star()).from_(model).where(exp.Is(this=col(column), expression=exp.Null()))
    if test_name == "unique":
        return (exp.select(col(column).as_("unique_field"), count().as_("n_records")).from_(model)
                .where(exp.Not(this=exp.Is(this=col(column), expression=exp.Null())))
                .group_by(col(column)).having(exp.GT(this=count(), expression=exp.Literal.number(1))))
    if test_name == "accepted_values":
        values = [_literal(v, bool(args.get("quote", True)), source_dialect) for v in args["values"]]
        return (exp.select(col(column).as_("value_field"), count().as_("n_records")).from_(model)
                .where(exp.and_(exp.Not(this=exp.Is(this=col(column), expression=exp.Null())),
                                exp.Not(this=exp.In(this=col(column), expressions=values))))
                .group_by(col(column)))
    if test_name == "relationships":
        child, parent = col(column, "child"), col(args["field"], "parent")
        return (exp.select(child.as_("from_field")).from_(exp.alias_(model, "child", table=True))
                .join(exp.alias_(relation_of("to"), "parent", table=True), on=exp.EQ(this=child, expression=parent),
                      join_type="left")
                .where(exp.and_(exp.Not(this=exp.Is(this=child.copy(), expression=exp.Null())),
                                exp.Is(this=parent.copy(), expression=exp.Null()))))
    if test_name == "expression_is_true":
        text = str(args["expression"])
        if column:
            text = f"{col(column).sql(dialect=source_dialect)} {text}"
        condition = parse_sql_expression(text, source_dialect, "expression")
        return exp.select(exp.Star()).from_(model).where(exp.Not(this=exp.Paren(this=condition)))
    if test_name == "row_count":
        n = exp.column("row_count")
        outside = [exp.LT(this=n, expression=_number(args["min"]))] if args.get("min") is not None else []
        if args.get("max") is not None:
            outside.append(exp.GT(this=n.copy(), expression=_number(args["max"])))
        counted = exp.select(count().as_("row_count")).from_(model).subquery("counted")
        return exp.select("row_count").from_(counted).where(exp.or_(*outside))
    if test_name == "unique_combination":
        cols = [col(c) for c in args["combination_of_columns"]]
        return (exp.select(*cols, count().as_("n_records")).from_(model).group_by(*[c.copy() for c in cols])
                .having(exp.GT(this=count(), expression=exp.Literal.number(1))))
    raise ProjectError(f"{test_name!r} is not a built-in test that returns rows")


def filtered(model: exp.Expression, where: str | None, source_dialect: str) -> exp.Expression:
    """The model's rows, filtered by a test's `where:` config when it has one."""
    if not where:
        return model
    condition = parse_sql_expression(where, source_dialect, "where")
    return exp.select(exp.Star()).from_(model).where(condition).subquery("pds_where")


def _number(value: Any) -> exp.Literal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProjectError(f"expected a number, got {value!r}")
    return exp.Literal.number(value)


def _literal(value: Any, quote: bool, dialect: str) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if quote:
        return exp.Literal.string(str(value))
    return parse_sql_expression(str(value), dialect, "accepted_values")


# ---- thresholds: warn_if / error_if on the number of failing rows ------------------------------
_CONDITION = re.compile(r"^\s*(>=|<=|!=|==|=|>|<)\s*(\d+)\s*$")


def check_condition(text: Any, path: str | None, line: int | None, key: str) -> None:
    if not isinstance(text, str) or not _CONDITION.match(text):
        raise ProjectError(f"{key} must compare the failing-row count, e.g. '> 10' or '!= 0'; got {text!r}",
                           path, line, hint="operators: > >= < <= = !=")


# what a `{% test %}` block's own config() may set (dbt_utils sets fail_calc); YAML config wins over it
MACRO_CONFIG_KEYS = ("fail_calc", "warn_if", "error_if", "severity", "limit", "store_failures", "tags", "meta")


def macro_config(config: dict[str, Any], path: str, line: int | None) -> dict[str, Any]:
    """The config a test macro set with config(), checked."""
    for key in config:
        if key not in MACRO_CONFIG_KEYS:
            raise ProjectError(f"a test macro's config() sets {key!r}, which pds takes only from the test's YAML",
                               path, line, hint=f"a test macro may set: {', '.join(MACRO_CONFIG_KEYS)}")
    return test_config(dict(config), path, line, "config() of the test macro")


def test_config(config: dict[str, Any], path: str, line: int | None, what: str,
                strict: bool = True) -> dict[str, Any]:
    """A test's config, checked: known keys (`strict`: unknown ones are errors), severity, warn_if/error_if."""
    config = validate_node_config(config, path, what, strict)
    for key in ("warn_if", "error_if"):
        if config.get(key) is not None:
            check_condition(config[key], path, line, key)
    return config


def condition_holds(failures: int, text: str) -> bool:
    match = _CONDITION.match(text)
    assert match is not None  # checked while parsing
    op, number = match.group(1), int(match.group(2))
    return {">": failures > number, ">=": failures >= number, "<": failures < number, "<=": failures <= number,
            "=": failures == number, "==": failures == number, "!=": failures != number}[op]


def test_status(failures: int, config: dict[str, Any]) -> str:
    """pass, warn or fail (dbt's rules): error_if is looked at only for error-severity tests."""
    severity = str(config.get("severity") or "error").lower()
    if severity == "error" and condition_holds(failures, str(config.get("error_if") or "!= 0")):
        return "fail"
    if condition_holds(failures, str(config.get("warn_if") or "!= 0")):
        return "warn"
    return "pass"
