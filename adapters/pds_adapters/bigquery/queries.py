"""GoogleSQL details: query parameters, and the DELETE form BigQuery accepts for composite keys."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlglot import exp

from pds_adapters import statements as st

PARAM_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"), (decimal.Decimal, "NUMERIC"), (str, "STRING"),
    (bytes, "BYTES"), (dt.datetime, "DATETIME"), (dt.date, "DATE"), (dt.time, "TIME"))


def query_parameters(params: Any) -> list[Any]:
    """BigQuery query parameters: a mapping for @name placeholders, a sequence for ? placeholders."""
    from google.cloud import bigquery

    def one(name: str | None, value: Any) -> Any:
        kind = next((t for py, t in PARAM_TYPES if isinstance(value, py)), "STRING")
        return bigquery.ScalarQueryParameter(name, kind, value)

    if isinstance(params, dict):
        return [one(str(k), v) for k, v in params.items()]
    return [one(None, v) for v in params]


def exists_delete(delete: exp.Delete) -> exp.Delete:
    """DELETE ... WHERE (a, b) IN (SELECT a, b FROM s) as a correlated EXISTS, which BigQuery accepts.

    BigQuery's IN takes a one-column subquery (a composite key needs SELECT AS STRUCT, which
    bqemulator rejects); EXISTS means the same, NULL keys included, and runs on both.
    """
    where = delete.args.get("where")
    cond = where.this if where is not None else None
    if not (isinstance(cond, exp.In) and isinstance(cond.this, exp.Tuple)
            and isinstance(cond.args.get("query"), exp.Subquery)):
        return delete
    sub = cond.args["query"].this
    tables = list(sub.find_all(exp.Table)) if isinstance(sub, exp.Select) else []
    outer = cond.this.expressions
    if (len(tables) != 1 or sub.args.get("where") or sub.args.get("joins") or len(sub.expressions) != len(outer)
            or not all(isinstance(e, exp.Column) for e in [*outer, *sub.expressions])):
        return delete
    target, source = delete.this.copy(), tables[0].copy()
    target.set("alias", exp.TableAlias(this=exp.to_identifier("__pds_target")))
    source.set("alias", exp.TableAlias(this=exp.to_identifier("__pds_source")))
    on = exp.and_(*[exp.EQ(this=st.col(i.name, "__pds_source"), expression=st.col(o.name, "__pds_target"))
                    for o, i in zip(outer, sub.expressions, strict=True)])
    match = exp.select(exp.Literal.number(1)).from_(source).where(on)
    return exp.Delete(this=target, where=exp.Where(this=exp.Exists(this=match)))
