"""The scope walker (lineage_walk.py) gives exactly what sqlglot.lineage gives, query shape by query shape.

Each project goes through the real path (parse, compile, validate); validation's call to model_lineage is
wrapped so that, for every model, both the walker and sqlglot.lineage run on the same qualified scope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pds_core import validate
from pds_core.compiler import Compiler
from pds_core.graph import build_graph
from pds_core.lineage import model_lineage, sqlglot_model_lineage
from pds_core.lineage_walk import Unsupported, walk_lineage
from pds_core.loader import load_project
from pds_core.parser import parse_project
from tests.projects import write_project

SEEDS = {
    "seeds/orders.csv": "id,customer_id,amount,status,day\n1,1,10,ok,2025-01-01\n",
    "seeds/odd.csv": 'id,dot.ted,"we""ird"\n1,2,3\n',
    "seeds/customers.csv": "id,name,country,sign up,Region\n1,ann,fr,2025-01-01,eu\n",
    "models/schema.yml": """
        version: 2
        sources:
          - name: app
            tables:
              - name: events
                columns: [{name: user_id}, {name: event_id}, {name: kind}]
              - name: raw
        """,
}

# Portable shapes: each dialect runs them all. name -> SQL
PORTABLE = {
    "cte_chain": """
        with a as (select id, customer_id, amount from {{ ref('orders') }}),
        b as (select customer_id, sum(amount) as total from a group by customer_id),
        c as (select customer_id as cid, total * 2 as t2 from b)
        select cid, t2 from c""",
    "join_alias": """
        select o.id as order_id, c.name, c.country, o.amount + c.id as mix
        from {{ ref('orders') }} o join {{ ref('customers') }} as c on o.customer_id = c.id""",
    "group_by": """
        select customer_id, count(*) as n, sum(amount) as s, max(day) as last_day
        from {{ ref('orders') }} group by customer_id having sum(amount) > 0 order by s""",
    "window": """
        select id, sum(amount) over (partition by customer_id order by day) as running,
               row_number() over (order by id) as rn,
               lag(status) over (partition by customer_id order by day) as prev
        from {{ ref('orders') }}""",
    "case_when": """
        select id, case when status = 'x' then amount when day is null then customer_id else 0 end as v,
               coalesce(status, 'none') as s
        from {{ ref('orders') }}""",
    "nested_derived": """
        select x.cid, x.total from (
            select y.customer_id as cid, sum(y.amount) as total
            from (select customer_id, amount from {{ ref('orders') }} where amount > 0) y group by y.customer_id
        ) x""",
    "union_distinct": """
        select id, amount as v from {{ ref('orders') }}
        union
        select id, id as v from {{ ref('customers') }}""",
    "union_all_ctes": """
        with a as (select id, name from {{ ref('customers') }}),
        b as (select customer_id, status from {{ ref('orders') }}),
        u as (select id, name from a union all select customer_id, status from b
              union all select user_id, kind from {{ source('app', 'events') }})
        select id as k, name from u""",
    "intersect": """
        select id from {{ ref('orders') }} intersect select id from {{ ref('customers') }}""",
    "scalar_subquery": """
        select id, (select max(amount) from {{ ref('orders') }}) as top, amount from {{ ref('orders') }}""",
    "correlated_where": """
        select c.id, c.name from {{ ref('customers') }} c
        where exists (select 1 from {{ ref('orders') }} o where o.customer_id = c.id)""",
    "correlated_scalar": """
        select c.id, (select sum(o.amount) from {{ ref('orders') }} o where o.customer_id = c.id) as total
        from {{ ref('customers') }} c""",
    "correlated_projection": """
        select c.id, (select max(o.amount) + c.id from {{ ref('orders') }} o) as x from {{ ref('customers') }} c""",
    "star_from_cte": """
        with s as (select * from {{ ref('orders') }}) select * from s""",
    "self_join": """
        select a.id, b.id as other_id, a.amount - b.amount as diff
        from {{ ref('orders') }} a join {{ ref('orders') }} b on a.customer_id = b.customer_id""",
    "quoted_mixed_case": """
        select "ID" as "OrderId", c."sign up", c."Region" as "Where", lower(C."Region") as r2
        from {{ ref('customers') }} C""",
    "using_join": """
        select customer_id, o.amount, c.name
        from {{ ref('orders') }} o join (select id as customer_id, name from {{ ref('customers') }}) c
        using (customer_id)""",
    "source_and_blind": """
        select e.user_id, e.kind, r.anything, whatever from {{ source('app', 'events') }} e
        join {{ source('app', 'raw') }} r on r.id = e.user_id""",
    "ephemeral_reader": """
        select total + 1 as t from {{ ref('eph') }}""",
    "eph": """
        {{ config(materialized='ephemeral') }}
        select customer_id, sum(amount) as total from {{ ref('orders') }} group by customer_id""",
    "no_from": """
        select 1 as one, 'a' as b""",
    "cte_column_list": """
        with c(a, b) as (select id, amount from {{ ref('orders') }}) select a, b from c""",
    "derived_column_list": """
        select t.a from (select id, amount from {{ ref('orders') }}) as t(a, b)""",
    "alias_reuse": """
        select amount * 2 as dbl, dbl + id as more from {{ ref('orders') }}""",
}

DUCKDB_ONLY = {
    "lambda": """
        select id, list_transform([amount], x -> x + 1) as l from {{ ref('orders') }}""",
    "unnest_source": """
        select o.id, t.x from {{ ref('orders') }} o, unnest([1, 2]) as t(x)""",
    "qualify_clause": """
        select id, amount from {{ ref('orders') }} qualify row_number() over (partition by customer_id order by day) = 1""",
    "named_window": """
        select id, sum(amount) over w as s from {{ ref('orders') }} window w as (partition by customer_id)""",
    "struct": """
        select {'a': amount, 'b': status} as st, id from {{ ref('orders') }}""",
    "odd_names": """
        select "dot.ted" as d, "we""ird" as w, id from {{ ref('odd') }}""",
    "pivot": """
        select * from {{ ref('orders') }} pivot (sum(amount) for status in ('ok', 'ko'))""",
}

# Shapes the walker must leave to sqlglot.lineage (so that it never guesses).
FALLS_BACK = {"correlated_projection", "source_and_blind", "unnest_source", "pivot", "odd_names"}


def lineage_of_both(tmp_path: Path, dialect: str, models: dict[str, str],
                    monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[Any, Any]]:
    """model name -> (the walker's result, None where it leaves the query to sqlglot; sqlglot.lineage's)."""
    files = {**SEEDS, "pds_project.yml": f"name: proj\ndialect: {dialect}\n",
             **{f"models/{name}.sql": sql for name, sql in models.items()}}
    return lineage_in(write_project(tmp_path / dialect, files), dialect, monkeypatch)


def lineage_in(root: Path, dialect: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[Any, Any]]:
    """Validate the project at `root` as `pds compile` does, running both lineages on every model."""
    manifest = parse_project(load_project(root))
    graph = build_graph(manifest)
    compiler = Compiler(manifest, graph, dialect, "duckdb")
    compiled = compiler.compile([uid for uid, n in manifest.nodes.items() if n.resource_type == "model"])
    seen: dict[str, tuple[Any, Any]] = {}
    current: list[str] = []
    sql_model = validate.Validator._sql_model

    def analysed(self: validate.Validator, node: Any, report: bool) -> Any:
        current.append(node.name)
        return sql_model(self, node, report)

    def both(query: Any, scope: Any, schema: Any, tables: dict[tuple[str, ...], str]) -> Any:
        try:
            walked = walk_lineage(scope, tables)
        except Unsupported:
            walked = None
        combined = model_lineage(query, scope, schema, tables)
        reference = sqlglot_model_lineage(query, scope, schema, tables)  # last: it may set tables on columns
        assert combined == reference, current[-1]
        seen[current[-1]] = (walked, reference)
        return reference

    monkeypatch.setattr(validate.Validator, "_sql_model", analysed)
    monkeypatch.setattr(validate, "model_lineage", both)
    validate.validate_compiled(manifest, graph, dialect, compiler, root, compiled)
    return seen


def uid(name: str) -> str:
    return f"seed.proj.{name}" if name in ("orders", "customers", "odd") else f"model.proj.{name}"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_walker_gives_what_sqlglot_lineage_gives(tmp_path: Path, dialect: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    models = {**PORTABLE, **(DUCKDB_ONLY if dialect == "duckdb" else {})}
    if dialect == "bigquery":  # its set operations say DISTINCT
        models = {k: v.replace("union\n", "union distinct\n").replace("intersect select", "intersect distinct select")
                  for k, v in models.items()}
    quote = "`" if dialect == "bigquery" else '"'
    models["quoted_mixed_case"] = models["quoted_mixed_case"].replace('"', quote).replace(
        "ID", "ID" if dialect == "snowflake" else "id")
    seen = lineage_of_both(tmp_path, dialect, models, monkeypatch)
    assert set(seen) == set(models)
    for name, (walked, reference) in seen.items():
        if name in FALLS_BACK:
            assert walked is None, name
        else:
            assert walked == reference, name
    # the data itself, so that two empty answers cannot agree (names as the dialect normalizes them)
    norm = str.upper if dialect == "snowflake" else str.lower
    ref = {k.lower(): [(u, c.lower()) for u, c in v] for k, v in seen["cte_chain"][1].items()}
    assert ref == {"cid": [(uid("orders"), "customer_id")], "t2": [(uid("orders"), "amount")]}
    joined = seen["join_alias"][1]
    assert joined[norm("mix")] == [(uid("customers"), norm("id")), (uid("orders"), norm("amount"))]
    union = {k.lower(): v for k, v in seen["union_all_ctes"][1].items()}
    assert [u for u, _c in union["k"]] == [uid("customers"), uid("orders"), "source.proj.app.events"]
    assert seen["scalar_subquery"][1][norm("top")] == [(uid("orders"), norm("amount"))]
    assert seen["ephemeral_reader"][1][norm("t")] == [(uid("eph"), norm("total"))]
    region = "Region" if dialect in ("postgres", "snowflake") else "region"  # quoted: exact where it matters
    assert seen["quoted_mixed_case"][1][norm("r2")] == [(uid("customers"), region)]
    if dialect == "duckdb":  # names lineage.py reads back from sqlglot's SQL text: left to it
        assert seen["odd_names"][1]["d"] == [(uid("odd"), "dot.ted")]
    order_id = "OrderId" if dialect in ("postgres", "snowflake") else "orderid"
    assert seen["quoted_mixed_case"][1][order_id] == [(uid("customers"), norm("id"))]


def test_walker_follows_the_generated_bench_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The templates of bench/generate.py (aggregate, window, joins, union, three parents): all walked, same answers."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "bench"))
    from generate import generate

    meta = generate(60, tmp_path / "bench")
    assert len(meta["templates"]) == 7  # type: ignore[arg-type]
    seen = lineage_in(tmp_path / "bench", "duckdb", monkeypatch)
    assert len(seen) == meta["models"]
    assert all(walked == reference for walked, reference in seen.values())
    assert sum(bool(refs) for _w, reference in seen.values() for refs in reference.values()) > 200
