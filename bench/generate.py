"""Generate a synthetic project of N layered SQL models that is both a pds and a dbt project (+ SQLMesh).

Why: the benchmark compares pds, dbt-core and plain DuckDB on *the same* project, so the
generator writes only what both tools understand (standard Jinja: ref() and config();
schema YAML in dbt's format) and is seeded, so every run measures the same SQL. The same
models are also written as native SQLMesh models under sqlmesh/ (sqlmesh_peer.py).

Every model outputs the same four columns (id BIGINT unique and not null, key BIGINT,
value DOUBLE, ts TIMESTAMP), so any model can be joined to any earlier one, and every
template keeps the row count at or below that of its largest parent (at most 100k rows),
so 1,000 models build in tens of seconds on DuckDB, not hours.

Usage: python bench/generate.py --n 1000 --out DIR [--seed 42] [--layers 10] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmesh_peer import SUBDIR as SQLMESH_SUBDIR
from sqlmesh_peer import write_project as write_sqlmesh_project

PROJECT_NAME = "bench"
COLUMNS = "id, key, value, ts"
META_FILE = "bench_meta.json"
# the line appended to the middle model to simulate a small edit (every model ends in `select ... from final`)
CHANGE_SUFFIX = "where id is not null\n"

RAW_MODELS: dict[str, str] = {
    # name -> SQL body; keys are foreign keys into the other raw tables via modulo;
    # {rows_N} is N rows times --scale
    "raw_customers": """select
    cast(range as bigint) as id,
    cast(range % 100 as bigint) as key,
    cast((range * 37) % 1000 as double) / 10 as value,
    timestamp '2024-01-01' + interval (range % 1000) minute as ts,
    'customer_' || cast(range as varchar) as name
from range({rows_20000})""",
    "raw_orders": """select
    cast(range as bigint) as id,
    cast(range % 20000 as bigint) as key,
    cast((range * 7919) % 100000 as double) / 100 as value,
    timestamp '2024-01-01' + interval (range % 100000) minute as ts,
    cast(range % 10000 as bigint) as product_id
from range({rows_100000})""",
    "raw_products": """select
    cast(range as bigint) as id,
    cast(range % 250 as bigint) as key,
    cast((range * 104729) % 5000 as double) / 10 as value,
    timestamp '2024-01-01' + interval (range % 1000) hour as ts,
    'product_' || cast(range as varchar) as name
from range({rows_10000})""",
    "raw_events": """select
    cast(range as bigint) as id,
    cast(range % 10000 as bigint) as key,
    cast(range % 97 as double) as value,
    timestamp '2024-01-01' + interval (range % 50000) second as ts,
    case range % 4 when 0 then 'view' when 1 then 'click' when 2 then 'cart' else 'buy' end as kind
from range({rows_50000})""",
}


@dataclass
class Model:
    """One generated model: where it sits in the DAG and its SQL file contents."""

    name: str
    layer: int
    parents: list[str] = field(default_factory=list)
    materialized: str = "table"
    template: str = "raw"
    sql: str = ""

    @property
    def path(self) -> str:
        folder = "raw" if self.layer == 0 else f"layer_{self.layer:02d}"
        return f"models/{folder}/{self.name}.sql"


def _src(alias: str, parent: str, where: str = "") -> str:
    return f"{alias} as (\n    select {COLUMNS} from {{{{ ref('{parent}') }}}}{where}\n)"


def t_aggregate(p: list[str], rng: random.Random) -> str:
    """GROUP BY id bucket: one row per bucket, so id (= the bucket) is unique and rows shrink."""
    g = rng.choice([10000, 50000, 100000])
    return f"""with {_src('src', p[0], ' where value is not null')},
final as (
    select
        cast(id % {g} as bigint) as id,
        min(key) as key,
        cast(sum(value) / count(*) + max(value) * 0.01 as double) as value,
        max(ts) as ts
    from src
    group by id % {g}
)"""


def t_window(p: list[str], rng: random.Random) -> str:
    """Window functions (rolling sum, lag, rank) and a filter on the rank within each key."""
    rows = rng.choice([2, 3, 6])
    keep = rng.choice(["rn <= 1000", "rn % 2 = 1", "rn % 3 <> 0", "rn % 5 <> 0"])
    return f"""with {_src('src', p[0])},
windowed as (
    select
        id, key, value, ts,
        sum(value) over (partition by key order by ts, id rows between {rows} preceding and current row) as rolling,
        lag(value, 1, 0) over (partition by key order by ts, id) as prev_value,
        row_number() over (partition by key order by value desc, id) as rn
    from src
),
final as (
    select id, key, cast(rolling - prev_value * 0.5 as double) as value, ts
    from windowed
    where {keep}
)"""


def t_join_key(p: list[str], rng: random.Random) -> str:
    """Left join to an aggregate of another model on key: keeps the first parent's rows and ids."""
    scale = rng.choice([0.1, 0.5, 1.0])
    return f"""with {_src('a', p[0])},
{_src('b_src', p[1])},
b as (
    select key, avg(value) as avg_value, count(*) as n, max(ts) as max_ts
    from b_src
    group by key
),
final as (
    select
        a.id,
        a.key,
        cast(a.value + coalesce(b.avg_value, 0) * {scale} + coalesce(b.n, 0) as double) as value,
        greatest(a.ts, coalesce(b.max_ts, a.ts)) as ts
    from a
    left join b on a.key = b.key
)"""


def t_join_id(p: list[str], rng: random.Random) -> str:
    """Left join on the unique id of another model: a one-to-one enrichment."""
    w = rng.choice([0.25, 0.5, 0.75])
    return f"""with {_src('a', p[0])},
{_src('b', p[1])},
final as (
    select
        a.id,
        coalesce(b.key, a.key) as key,
        cast(a.value * {w} + coalesce(b.value, 0) * {1 - w} as double) as value,
        least(a.ts, coalesce(b.ts, a.ts)) as ts
    from a
    left join b on a.id = b.id
)"""


def t_union(p: list[str], rng: random.Random) -> str:
    """Even ids of one model plus odd ids of another: ids stay unique, rows stay bounded."""
    return f"""with {_src('a', p[0], ' where id % 2 = 0')},
{_src('b', p[1], ' where id % 2 = 1')},
unioned as (
    select id, key, value, ts from a
    union all
    select id, key, value * -1 as value, ts from b
),
final as (
    select id, key, value, ts from unioned where value is not null
)"""


def t_three(p: list[str], rng: random.Random) -> str:
    """Three parents: the first enriched with per-key aggregates of the other two."""
    return f"""with {_src('a', p[0])},
{_src('b_src', p[1])},
{_src('c_src', p[2])},
b as (
    select key, sum(value) as total, max(ts) as max_ts from b_src group by key
),
c as (
    select key, count(*) as n, min(value) as min_value from c_src group by key
),
final as (
    select
        a.id,
        a.key,
        cast(a.value + coalesce(b.total, 0) * 0.001 - coalesce(c.n, 0) + coalesce(c.min_value, 0) as double) as value,
        greatest(a.ts, coalesce(b.max_ts, a.ts)) as ts
    from a
    left join b on a.key = b.key
    left join c on a.key = c.key
)"""


TEMPLATES: dict[int, list[tuple[str, Callable[[list[str], random.Random], str], float]]] = {
    1: [("aggregate", t_aggregate, 0.5), ("window", t_window, 0.5)],
    2: [("join_key", t_join_key, 0.45), ("join_id", t_join_id, 0.3), ("union", t_union, 0.25)],
    3: [("three", t_three, 1.0)],
}


def plan_models(n: int, layers: int, rng: random.Random) -> list[Model]:
    """The DAG: 4 raw tables, then n models spread evenly over `layers` layers."""
    models = [Model(name=name, layer=0) for name in RAW_MODELS]
    by_layer: dict[int, list[str]] = {0: list(RAW_MODELS)}
    layers = max(1, min(layers, n))
    per_layer = [n // layers + (1 if i < n % layers else 0) for i in range(layers)]
    index = 0
    for layer, count in enumerate(per_layer, start=1):
        by_layer[layer] = []
        earlier = [m for lyr in range(layer) for m in by_layer[lyr]]
        for _ in range(count):
            index += 1
            name = f"l{layer:02d}_m{index:05d}"
            n_parents = rng.choices([1, 2, 3], weights=[0.35, 0.45, 0.2])[0]
            first = rng.choice(by_layer[layer - 1])  # always one from the layer just below: keeps the depth
            others = [m for m in earlier if m != first]
            parents = [first, *rng.sample(others, min(n_parents - 1, len(others)))]
            materialized = "view" if rng.random() < 0.15 else "table"
            models.append(Model(name=name, layer=layer, parents=parents, materialized=materialized))
            by_layer[layer].append(name)
    return models


def render_model(model: Model, rng: random.Random, scale: float = 1.0) -> str:
    """The .sql file: optional config(), a CTE chain ending in `select ... from final`."""
    if model.layer == 0:
        rows = {f"rows_{n}": max(1, round(n * scale)) for n in (10000, 20000, 50000, 100000)}
        body = f"with final as (\n{_indent(RAW_MODELS[model.name].format(**rows))}\n)"
        header = "{{ config(materialized='table') }}\n\n"
        model.template = "raw"
        return f"{header}{body}\nselect * from final\n"
    choices = TEMPLATES[len(model.parents)]
    name, fn, _ = rng.choices(choices, weights=[w for _, _, w in choices])[0]
    model.template = name
    header = "{{ config(materialized='view') }}\n\n" if model.materialized == "view" else ""
    return f"{header}{fn(model.parents, rng)}\nselect {COLUMNS} from final\n"


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.splitlines())


def schema_yaml(models: list[Model], rng: random.Random) -> tuple[str, list[str]]:
    """dbt-format schema YAML with not_null + unique on id for about a third of the models."""
    tested = [m.name for m in models if rng.random() < 1 / 3]
    lines = ["version: 2", "", "models:"]
    for name in tested:
        lines += [f"  - name: {name}", "    columns:", "      - name: id",
                  "        data_tests:", "          - not_null", "          - unique"]
    return "\n".join(lines) + "\n", tested


def project_files(n: int, layers: int) -> dict[str, str]:
    """pds_project.yml, dbt_project.yml and a profiles.yml both read (DuckDB path relative to the project)."""
    return {
        "pds_project.yml": (f"name: {PROJECT_NAME}\nprofile: {PROJECT_NAME}\ndialect: duckdb\n"
                            "model-paths: [models]\nmodels:\n  +materialized: table\n"),
        "dbt_project.yml": (f"name: {PROJECT_NAME}\nversion: '1.0'\nconfig-version: 2\nprofile: {PROJECT_NAME}\n"
                            f"model-paths: [models]\nmodels:\n  {PROJECT_NAME}:\n    +materialized: table\n"),
        "profiles.yml": (f"{PROJECT_NAME}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                         f"      path: {PROJECT_NAME}.duckdb\n      threads: 4\n"),
        ".gitignore": "target/\ntarget-dbt/\nlogs/\n*.duckdb\n*.duckdb.wal\n",
    }


def descendants(models: list[Model], name: str) -> set[str]:
    children: dict[str, list[str]] = {}
    for m in models:
        for p in m.parents:
            children.setdefault(p, []).append(m.name)
    seen: set[str] = set()
    stack = [name]
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def generate(n: int, out: Path, seed: int = 42, layers: int = 10, scale: float = 1.0) -> dict[str, object]:
    """Write the project into `out` (its models/ folder is replaced) and return its metadata."""
    rng = random.Random(seed)
    models = plan_models(n, layers, rng)
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "models", ignore_errors=True)
    for fname, text in project_files(n, layers).items():
        (out / fname).write_text(text)
    for m in models:
        m.sql = render_model(m, rng, scale)
        path = out / m.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(m.sql)
    schema, tested = schema_yaml(models, rng)
    (out / "models" / "schema.yml").write_text(schema)
    # the same models, as native SQLMesh models (see sqlmesh_peer.py for why native)
    sqlmesh_models = write_sqlmesh_project(out / SQLMESH_SUBDIR, ((m.path, m.name, m.materialized, m.sql)
                                                                  for m in models), set(tested))
    top = max(m.layer for m in models)
    middle_layer = [m for m in models if m.layer == max(1, (top + 1) // 2)]
    # the middle model to edit: the one in the middle layer with the most descendants
    middle = max(middle_layer, key=lambda m: (len(descendants(models, m.name)), m.name))
    meta: dict[str, object] = {
        "n": n, "seed": seed, "scale": scale, "layers": top, "models": len(models), "raw_models": len(RAW_MODELS),
        "tested_models": len(tested), "data_tests": 2 * len(tested),
        "views": sum(m.materialized == "view" for m in models),
        "middle_model": middle.name, "middle_model_path": middle.path,
        "middle_model_descendants": len(descendants(models, middle.name)),
        "change_suffix": CHANGE_SUFFIX, "sqlmesh_project": SQLMESH_SUBDIR, "sqlmesh_models": sqlmesh_models,
        "templates": {t: sum(m.template == t for m in models) for t in sorted({m.template for m in models})},
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, required=True, help="number of models besides the 4 raw tables")
    ap.add_argument("--out", type=Path, required=True, help="project directory to write")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the raw tables' rows (default 10k-100k) to make the warehouse work heavier")
    args = ap.parse_args(argv)
    meta = generate(args.n, args.out, args.seed, args.layers, args.scale)
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
