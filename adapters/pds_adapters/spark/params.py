"""Statement parameters bound as typed SQL literals, for Spark.

Why: the core passes values as parameters (placeholders + a list), and Spark's own parameter
binding does not reach placeholders inside an INSERT's VALUES (UNBOUND_SQL_PARAMETER in 4.2).
Each placeholder is replaced in the sqlglot tree by a literal node that sqlglot renders and
escapes, never by pasting text; in INSERT ... VALUES each value is also cast to its column's type,
so rows mixing NULLs, ints and floats form one inline table.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any

import sqlglot
from sqlglot import exp


def literal(value: Any) -> exp.Expression:
    """One Python value as a Spark SQL literal expression."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # sessions run in UTC
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "timestamp")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "date")
    return exp.Literal.string(str(value))


def bind(statement: exp.Expression | str, params: Sequence[Any],
         column_types: Callable[[exp.Table], dict[str, str]]) -> exp.Expression:
    """The statement with its placeholders (?, %s) replaced, in order, by params as literals."""
    tree = statement.copy() if isinstance(statement, exp.Expression) else \
        sqlglot.parse_one(statement.replace("%s", "?"), read="spark")
    values = iter(params)
    for node in list(tree.find_all(exp.Placeholder)):
        node.replace(literal(next(values)))
    if isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Values) and isinstance(tree.this, exp.Schema):
        types = column_types(tree.this.this)
        names = [c.name for c in tree.this.expressions]
        for row in tree.expression.expressions:
            for name, value in zip(names, list(row.expressions), strict=False):
                if name.lower() in types:
                    value.replace(exp.cast(value.copy(), types[name.lower()]))
    return tree
