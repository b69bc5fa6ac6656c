"""Compile-time checks of a model transpiled from the project's dialect to its target's.

Why: sqlglot translates syntax, not meaning. Some DuckDB constructs come out as Spark SQL that runs
with another result (`dayofweek` off by one, `monthname` abbreviated, `list(x ORDER BY y)` unordered
and without its NULLs, `date + INTERVAL` a DATE instead of a TIMESTAMP, `1/0` an error instead of
`inf`) and some as Spark SQL Spark cannot run (`INTERVAL (x) DAY`, `len()` of a list, negative list
indexes, `quantile_cont(x, q)`, `* REPLACE`, `UNION BY NAME`, the short `PIVOT`). Each rule below
finds one such construct and either rewrites it into Spark SQL with DuckDB's result (each rewrite is
checked on Spark against DuckDB in tests/test_spark_transpile.py) or, where no rewrite can be sure
of the meaning, reports it as a project error at its file:line with a rewrite that is the same on
both engines. Rules are plain functions in RULES (like sqlglot's optimizer rules), keyed by the
(source, target) dialects they apply to; a rule rewrites the tree in place and returns what it
could not rewrite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from pds_core.errors import ProjectError, ProjectErrors
from pds_core.sourcemap import SourceMap

SPARK = ("spark", "spark2", "databricks")


@dataclass
class Finding:
    """A construct no rule can rewrite with certainty: an error with a rewrite the user can make."""

    node: exp.Expression
    message: str
    hint: str


Rule = Callable[[exp.Expression], list[Finding]]


def check(tree: exp.Expression, node: Any, text: str, source: str, target: str,
          ephemeral_prefix: str = "") -> exp.Expression:
    """The model's tree ready for the target: rewritten by the rules for (source, target), or a
    ProjectError (several: ProjectErrors) at the file and line of each construct no rule can rewrite.
    Constructs inside an ephemeral parent's CTE are rewritten, and reported on the parent itself."""
    rules = [rule for (src, targets), found in RULES.items() if src == source and target in targets for rule in found]
    if not rules:
        return tree
    tree = tree.copy()
    findings = [finding for rule in rules for finding in rule(tree)]
    errors = [_error(f, node, text) for f in findings if not _in_ephemeral(f.node, ephemeral_prefix)]
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    return tree


def _error(finding: Finding, node: Any, text: str) -> ProjectError:
    line, col = _position(finding.node)
    if line is not None:
        line, col = SourceMap(node.raw_code, text).locate(line, col or 1)
    return ProjectError(finding.message, node.path, line, col, hint=finding.hint)


def _position(node: exp.Expression) -> tuple[int | None, int | None]:
    """Where sqlglot saw the construct (its own token, else its first token that has a place)."""
    for found in node.walk():
        meta = found.meta if isinstance(found, exp.Expression) else {}
        if meta.get("line") is not None:
            return meta["line"], meta.get("col")
    return None, None


def _in_ephemeral(node: exp.Expression, prefix: str) -> bool:
    cte = node.find_ancestor(exp.CTE)
    return bool(prefix) and cte is not None and cte.alias.startswith(prefix)


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A Spark function by name, rendered as written (sqlglot keeps anonymous calls as they are)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _lambda(body: exp.Expression, *names: str) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(n) for n in names])


def _field(var: str, name: str) -> exp.Dot:
    return exp.Dot(this=exp.to_identifier(var), expression=exp.to_identifier(name))


def _int(value: int) -> exp.Expression:
    return exp.Literal.number(value) if value >= 0 else exp.Neg(this=exp.Literal.number(-value))


def _int_value(node: exp.Expression) -> int | None:
    """The value of an integer literal (also negative), else None."""
    if isinstance(node, exp.Neg):
        inner = _int_value(node.this)
        return -inner if inner is not None else None
    if isinstance(node, exp.Literal) and not node.is_string and node.name.lstrip("-").isdigit():
        return int(node.name)
    return None


def _anonymous(tree: exp.Expression, *names: str) -> list[exp.Anonymous]:
    return [n for n in tree.find_all(exp.Anonymous) if str(n.this).lower() in names]


# ---- days and months: DuckDB counts Sunday = 0 and names them in full -------------------------------
def day_of_week(tree: exp.Expression) -> list[Finding]:
    """dayofweek: DuckDB 0 (Sunday) .. 6, Spark 1 .. 7; isodow: 1 (Monday) .. 7 (sqlglot's own rewrite
    of isodow for Spark is off, hence WEEKDAY). Also EXTRACT(dow|isodow FROM x) and date_part."""
    for node in list(tree.find_all(exp.DayOfWeek, exp.DayOfWeekIso, exp.Extract)):
        if isinstance(node, exp.Extract):
            part = node.name.lower()
            if part not in ("dow", "isodow", "dayofweek"):
                continue
            iso, value = part == "isodow", node.expression
        else:
            iso, value = isinstance(node, exp.DayOfWeekIso), node.this
        node.replace(_day_number(value.copy(), iso))
    for node in _anonymous(tree, "date_part", "datepart"):
        part = node.expressions[0] if node.expressions else None
        if isinstance(part, exp.Literal) and part.name.lower() in ("dow", "isodow") and len(node.expressions) == 2:
            node.replace(_day_number(node.expressions[1].copy(), part.name.lower() == "isodow"))
    return []


def _day_number(value: exp.Expression, iso: bool) -> exp.Expression:
    if iso:
        return exp.Paren(this=exp.Add(this=_call("WEEKDAY", value), expression=exp.Literal.number(1)))
    return exp.Paren(this=exp.Sub(this=exp.DayOfWeek(this=value), expression=exp.Literal.number(1)))


def day_and_month_names(tree: exp.Expression) -> list[Finding]:
    """dayname/monthname: 'Sunday'/'February' on DuckDB, 'Sun'/'Feb' on Spark."""
    classes = tuple(c for c in (getattr(exp, "Dayname", None), getattr(exp, "Monthname", None)) if c is not None)
    found = list(tree.find_all(*classes)) if classes else []
    for node in found + _anonymous(tree, "dayname", "monthname"):
        name = type(node).__name__.lower() if not isinstance(node, exp.Anonymous) else str(node.this).lower()
        value = node.this if not isinstance(node, exp.Anonymous) else node.expressions[0]
        pattern = "EEEE" if name == "dayname" else "MMMM"
        node.replace(_call("DATE_FORMAT", value.copy(), exp.Literal.string(pattern)))
    return []


# ---- intervals ---------------------------------------------------------------------------------------
_DT_PARTS = {"day": 0, "days": 0, "hour": 1, "hours": 1, "minute": 2, "minutes": 2, "second": 3, "seconds": 3}
_YM_PARTS = {"year": 0, "years": 0, "month": 1, "months": 1}


def dynamic_interval(tree: exp.Expression) -> list[Finding]:
    """INTERVAL (x) DAY: Spark takes only literals there; MAKE_DT_INTERVAL / MAKE_YM_INTERVAL take x."""
    findings = []
    for node in list(tree.find_all(exp.Interval)):
        value = node.this
        if value is None or isinstance(value, exp.Literal):
            continue
        unit = (node.unit.name if node.unit is not None else "").lower()
        inner = value.this if isinstance(value, exp.Paren) else value
        if unit in ("week", "weeks"):
            unit, inner = "day", exp.Mul(this=exp.Paren(this=inner.copy()), expression=exp.Literal.number(7))
        if unit in _DT_PARTS:
            args = [exp.Literal.number(0)] * _DT_PARTS[unit] + [inner.copy()]
            node.replace(_call("MAKE_DT_INTERVAL", *args))
        elif unit in _YM_PARTS:
            args = [exp.Literal.number(0)] * _YM_PARTS[unit] + [inner.copy()]
            node.replace(_call("MAKE_YM_INTERVAL", *args))
        else:
            findings.append(Finding(node, f"INTERVAL (...) {unit.upper() or '(no unit)'} with a computed value "
                                          "has no Spark equivalent pds can write",
                                    "compute the interval in days, e.g. d + INTERVAL (n) DAY"))
    return findings


def _is_interval(node: exp.Expression) -> bool:
    return isinstance(node, exp.Interval) or (isinstance(node, exp.Anonymous) and
                                              str(node.this).upper() in ("MAKE_DT_INTERVAL", "MAKE_YM_INTERVAL"))


def date_plus_interval(tree: exp.Expression) -> list[Finding]:
    """date + INTERVAL is a TIMESTAMP on DuckDB, a DATE on Spark: the sum is cast (a no-op on timestamps)."""
    for node in list(tree.find_all(exp.Add, exp.Sub)):
        sides = [_is_interval(node.this), _is_interval(node.expression)]
        if any(sides) and not all(sides):
            parent = node.parent
            if isinstance(parent, exp.Cast) and parent.to.is_type("timestamp"):
                continue
            node.replace(exp.Cast(this=node.copy(), to=exp.DataType.build("TIMESTAMP")))
    return []


# ---- arithmetic -------------------------------------------------------------------------------------
def division(tree: exp.Expression) -> list[Finding]:
    """`/` is a DOUBLE division on DuckDB, x/0 = inf (0/0 NaN); on Spark decimals stay decimal and x/0
    raises under ANSI. The dividend is cast to DOUBLE and a zero divisor gives DuckDB's inf."""
    for node in list(tree.find_all(exp.Div)):
        dividend = exp.Cast(this=node.this.copy(), to=exp.DataType.build("DOUBLE"))
        divisor = node.expression
        quotient = exp.Div(this=dividend, expression=divisor.copy())
        if _never_zero(divisor):
            node.replace(quotient)
            continue
        infinite = exp.Mul(this=dividend.copy(), expression=exp.Cast(this=exp.Literal.string("Infinity"),
                                                                      to=exp.DataType.build("DOUBLE")))
        node.replace(exp.If(this=exp.EQ(this=divisor.copy(), expression=exp.Literal.number(0)),
                            true=infinite, false=quotient))
    return []


def _never_zero(node: exp.Expression) -> bool:
    """A non-zero number, or NULLIF(x, 0): such a divisor needs no guard."""
    inner = node.this if isinstance(node, (exp.Paren, exp.Neg)) else node
    if isinstance(inner, exp.Literal) and not inner.is_string:
        try:
            return float(inner.name) != 0
        except ValueError:
            return False
    return isinstance(inner, exp.Nullif) and isinstance(inner.expression, exp.Literal) and \
        inner.expression.name in ("0", "0.0")


# ---- lists ------------------------------------------------------------------------------------------
def list_aggregation(tree: exp.Expression) -> list[Finding]:
    """list()/array_agg(): DuckDB keeps NULLs and honours ORDER BY; Spark's COLLECT_LIST drops both. The
    values travel in structs (a struct is never NULL), sorted by a comparator with DuckDB's NULL order
    (last, unless NULLS FIRST), and an aggregate over no rows is NULL as on DuckDB."""
    findings = []
    for node in list(tree.find_all(exp.ArrayAgg)):
        value, keys, distinct = node.this, [], False
        if isinstance(value, exp.Order):
            keys, value = list(value.expressions), value.this
        if isinstance(value, exp.Distinct):
            if keys or len(value.expressions) != 1:
                findings.append(Finding(node, "list(DISTINCT ... ORDER BY ...) has no Spark equivalent pds can write",
                                        "aggregate the distinct values in a subquery first, then list(x ORDER BY x)"))
                continue
            distinct, value = True, value.expressions[0]
        fields: list[exp.Expression] = [exp.Literal.string("v"), value.copy()]
        for i, key in enumerate(keys):
            fields += [exp.Literal.string(f"k{i}"), key.this.copy()]
        collected = _call("COLLECT_SET" if distinct else "COLLECT_LIST", _call("NAMED_STRUCT", *fields))
        outer: exp.Expression = node
        while isinstance(outer.parent, (exp.Filter, exp.Window)) and outer.parent.this is outer:
            outer = outer.parent  # FILTER (WHERE ...) and OVER (...) belong to the aggregate itself
        node.replace(collected)
        aggregate = collected if outer is node else outer
        placeholder = exp.Null()
        aggregate.replace(placeholder)
        structs = _call("ARRAY_SORT", aggregate, _comparator(keys)) if keys else aggregate
        values = exp.Transform(this=structs, expression=_lambda(_field("__pds_s", "v"), "__pds_s"))
        empty = exp.EQ(this=exp.ArraySize(this=aggregate.copy()), expression=exp.Literal.number(0))
        placeholder.replace(exp.If(this=empty, true=exp.Null(), false=values))
    return findings


def _comparator(keys: list[exp.Ordered]) -> exp.Lambda:
    """(l, r) -> -1/0/1 over the sort keys k0, k1, ... with each key's direction and NULL order."""
    result: exp.Expression = exp.Literal.number(0)
    for i in reversed(range(len(keys))):
        key = keys[i]
        left, right = _field("__pds_l", f"k{i}"), _field("__pds_r", f"k{i}")
        nulls_first = bool(key.args.get("nulls_first"))
        less, more = (_int(1), _int(-1)) if key.args.get("desc") else (_int(-1), _int(1))
        result = exp.Case(ifs=[
            exp.If(this=exp.and_(left.is_(exp.Null()), right.is_(exp.Null())), true=exp.Literal.number(0)),
            exp.If(this=left.copy().is_(exp.Null()), true=_int(-1 if nulls_first else 1)),
            exp.If(this=right.copy().is_(exp.Null()), true=_int(1 if nulls_first else -1)),
            exp.If(this=exp.LT(this=left.copy(), expression=right.copy()), true=less),
            exp.If(this=exp.GT(this=left.copy(), expression=right.copy()), true=more)], default=result)
    return _lambda(result, "__pds_l", "__pds_r")


_LIST_MAKERS = (exp.Array, exp.ArrayAgg, exp.Split, exp.ArraySlice, exp.ArrayConcat, exp.Transform)


def list_length(tree: exp.Expression) -> list[Finding]:
    """len() of a list is LENGTH() in sqlglot's Spark, which takes only text: SIZE where the argument is
    plainly a list (a column's type is not known when compiling: use array_length(col) there)."""
    for node in list(tree.find_all(exp.Length)):
        value = node.this
        while isinstance(value, (exp.Window, exp.Filter, exp.Paren)):
            value = value.this
        if isinstance(value, _LIST_MAKERS):
            node.replace(exp.ArraySize(this=node.this.copy()))
    return []


def list_index(tree: exp.Expression) -> list[Finding]:
    """l[i] is 1-based on DuckDB, negative from the end, NULL out of range; sqlglot's Spark l[i] is 0-based,
    shifts negative literals wrongly, raises out of range and leaves computed indexes unshifted.
    TRY_ELEMENT_AT(l, i) has DuckDB's meaning (maps too); l[a:b] becomes SLICE."""
    findings = []
    for node in list(tree.find_all(exp.Bracket)):
        if len(node.expressions) != 1 or node.args.get("json_access"):
            continue
        index = node.expressions[0]
        if isinstance(index, exp.Slice):
            start, end = _int_value(index.this) if index.this else 1, _int_value(index.expression)
            if start is None or end is None or start < 1 or end < 1:
                findings.append(Finding(node, "a list slice with computed or negative bounds has no Spark "
                                              "equivalent pds can write", "use list_slice(l, a, b) with a, b >= 1"))
                continue
            node.replace(exp.ArraySlice(this=node.this.copy(), start=_int(start), end=_int(end)))
            continue
        if isinstance(index, exp.Literal) and index.is_string:
            continue  # a map key or a struct field: the same on Spark
        literal = _int_value(index)
        if literal is not None:
            position = literal + 1  # sqlglot shifted a literal DuckDB index to 0-based when parsing
            if position == 0:
                findings.append(Finding(node, "list index 0: DuckDB lists start at 1", "use l[1] for the first item"))
                continue
            index = _int(position)
        node.replace(_call("TRY_ELEMENT_AT", node.this.copy(), index.copy()))
    return findings


# ---- quantiles: exact on both engines, but a DECIMAL's median is a DECIMAL on DuckDB only ------------
_NOT_DECIMAL = ("double", "float", "real", "int", "integer", "bigint", "smallint", "tinyint", "hugeint")


def quantiles(tree: exp.Expression) -> list[Finding]:
    """median / quantile_cont / percentile_cont ... WITHIN GROUP: Spark cannot run quantile_cont(x, q), and
    sqlglot writes the WITHIN GROUP form as PERCENTILE_APPROX (approximate). They become PERCENTILE(x, q),
    exact, when x's type is known not to be DECIMAL (DuckDB keeps a DECIMAL's type and scale)."""
    findings = []
    for node in list(tree.find_all(exp.Median, exp.PercentileCont, exp.WithinGroup)):
        if isinstance(node, exp.WithinGroup):
            if not isinstance(node.this, exp.PercentileCont) or not isinstance(node.expression, exp.Order):
                continue
            ordered = node.expression.expressions[0]
            value, q = ordered.this, node.this.this
            if ordered.args.get("desc"):
                q = exp.Sub(this=exp.Literal.number(1), expression=q.copy())
            name = "percentile_cont(q) WITHIN GROUP (ORDER BY x)"
        elif isinstance(node, exp.Median):
            value, q, name = node.this, exp.Literal.number(0.5), "median(x)"
        else:
            if node.parent is not None and isinstance(node.parent, exp.WithinGroup):
                continue
            value, q, name = node.this, node.expression, "quantile_cont(x, q)"
        if value is None or q is None:
            continue
        if not (isinstance(value, exp.Cast) and value.to.this.value.lower() in _NOT_DECIMAL):
            findings.append(Finding(node, f"{name} of a DECIMAL is a DECIMAL at its scale on DuckDB but a DOUBLE on "
                                          "Spark, and pds cannot see the column's type when it compiles",
                                    f"cast the value: {name.replace('x', 'CAST(x AS DOUBLE)', 1)} gives the same "
                                    "result on both engines"))
            continue
        node.replace(_call("PERCENTILE", value.copy(), q.copy()))
    return findings


# ---- what Spark cannot run at all --------------------------------------------------------------------
def unsupported(tree: exp.Expression) -> list[Finding]:
    """* REPLACE, UNION BY NAME and DuckDB's short PIVOT / UNPIVOT have no Spark SQL form."""
    findings = []
    for star in tree.find_all(exp.Star):
        if star.args.get("replace"):
            findings.append(Finding(star, "SELECT * REPLACE (...) has no Spark SQL equivalent",
                                    "list the columns, writing the replaced ones as expressions with their alias"))
    for node in tree.find_all(exp.Union, exp.Except, exp.Intersect):
        if node.args.get("by_name"):
            findings.append(Finding(node.expression, f"{node.key.upper()} BY NAME has no Spark SQL equivalent",
                                    "select the same columns in the same order on both sides"))
    for pivot in tree.find_all(exp.Pivot):
        if pivot.args.get("using") is not None or not pivot.args.get("fields"):
            findings.append(Finding(pivot, "DuckDB's short PIVOT / UNPIVOT (without an IN list) has no Spark "
                                           "equivalent",
                                    "write the standard form with its values listed: SELECT * FROM t PIVOT "
                                    "(sum(v) FOR k IN ('a', 'b'))"))
    return findings


RULES: dict[tuple[str, tuple[str, ...]], list[Rule]] = {
    ("duckdb", SPARK): [day_of_week, day_and_month_names, dynamic_interval, date_plus_interval, division,
                        list_length, list_aggregation, list_index, quantiles, unsupported],
}
