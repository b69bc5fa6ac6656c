"""Materializations: view, table, ephemeral, incremental (append, merge, delete+insert), --full-refresh."""

from __future__ import annotations

import pytest

from tests.projects import output, pds, query, relations, write_project

BATCH = "{{ var('batch', 1) }}"


def test_view_table_ephemeral(tmp_path):
    project = write_project(tmp_path / "p", {
        "seeds/nums.csv": "n\n1\n2\n3\n4\n",
        "models/v.sql": "select n from {{ ref('nums') }} where n > 1",
        "models/t.sql": "{{ config(materialized='table') }}\nselect sum(n) as s from {{ ref('v') }}",
        "models/e.sql": "{{ config(materialized='ephemeral') }}\nselect n * 10 as n10 from {{ ref('v') }}",
        "models/e2.sql": "{{ config(materialized='ephemeral') }}\nselect n10 + 1 as n11 from {{ ref('e') }}",
        "models/child.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('e2') }}",
    })
    pds(project, "build")
    kinds = relations(project)
    assert kinds == {"nums": "BASE TABLE", "v": "VIEW", "t": "BASE TABLE", "child": "BASE TABLE"}
    assert "e" not in kinds and "e2" not in kinds  # ephemeral models leave no relation behind
    assert query(project, "select s from t") == [(9,)]
    assert query(project, "select n11 from child order by 1") == [(21,), (31,), (41,)]
    # switching a model between view and table replaces the relation; a view that becomes incremental
    # is built in full the first time (is_incremental() is false: there is no table to add to yet)
    (project / "models/v.sql").write_text("{{ config(materialized='incremental') }}\nselect n from {{ ref('nums') }}"
                                          "\n{% if is_incremental() %} where n > 3 {% endif %}")
    (project / "models/t.sql").write_text("select count(*) as c from {{ ref('v') }}")
    pds(project, "run")
    kinds = relations(project)
    assert kinds["v"] == "BASE TABLE" and kinds["t"] == "VIEW"
    assert query(project, "select c from t") == [(4,)]


@pytest.mark.slow
def test_incremental_strategies_and_full_refresh(tmp_path):
    where = "{% if is_incremental() %} where id >= (select max(id) from {{ this }}) {% endif %}"
    project = write_project(tmp_path / "p", {
        "seeds/items.csv": "id,name\n1,a\n2,b\n",
        "models/inc_append.sql": f"""
            {{{{ config(materialized='incremental') }}}}
            select id, name, {BATCH} as batch from {{{{ ref('items') }}}}
            {where}
        """,
        "models/inc_merge.sql": f"""
            {{{{ config(materialized='incremental', unique_key='id') }}}}
            select id, name, {BATCH} as batch from {{{{ ref('items') }}}}
        """,
        "models/inc_del.sql": f"""
            {{{{ config(materialized='incremental', unique_key=['id'], incremental_strategy='delete+insert') }}}}
            select id, name, {BATCH} as batch from {{{{ ref('items') }}}}
            {where}
        """,
        "models/inc_py.py": """
            def model(ctx):
                ctx.config(materialized="incremental", unique_key="id")
                df = ctx.ref("items")
                df["batch"] = ctx.var("batch", 1)
                df["incremental"] = ctx.is_incremental
                return df
        """,
    })
    pds(project, "build")
    # first build: a full table, is_incremental() false
    for table in ("inc_append", "inc_merge", "inc_del"):
        assert query(project, f"select id, batch from {table} order by id") == [(1, 1), (2, 1)], table

    # the source grows by a row and changes one; the second build is incremental
    (project / "seeds/items.csv").write_text("id,name\n1,a\n2,B\n3,c\n")
    pds(project, "build", "--vars", "{batch: 2}")
    assert query(project, "select * from inc_append order by id, batch") == [
        (1, "a", 1), (2, "b", 1), (2, "B", 2), (3, "c", 2)]
    assert query(project, "select * from inc_merge order by id") == [(1, "a", 2), (2, "B", 2), (3, "c", 2)]
    assert query(project, "select * from inc_del order by id") == [(1, "a", 1), (2, "B", 2), (3, "c", 2)]
    assert query(project, "select id, name, batch, incremental from inc_py order by id") == [
        (1, "a", 2, True), (2, "B", 2, True), (3, "c", 2, True)]

    # --full-refresh rebuilds every incremental model from scratch
    pds(project, "run", "--full-refresh", "--vars", "{batch: 3}")
    for table in ("inc_append", "inc_merge", "inc_del"):
        assert query(project, f"select id, batch from {table} order by id") == [(1, 3), (2, 3), (3, 3)], table
    assert query(project, "select distinct incremental from inc_py") == [(False,)]


@pytest.mark.slow
def test_failed_model_keeps_the_previous_table(tmp_path):
    project = write_project(tmp_path / "p", {
        "seeds/raw.csv": "x\n1\n2\n",
        "models/good.sql": "{{ config(materialized='table') }}\nselect x from {{ ref('raw') }}",
        "models/inc.sql": "{{ config(materialized='incremental', unique_key='x') }}\nselect x from {{ ref('raw') }}",
        "models/py.py": "def model(ctx):\n    return ctx.ref('raw')\n",
    })
    pds(project, "build")
    broken = "select cast('not a number' as integer) as x from {{ ref('raw') }}"
    (project / "models/good.sql").write_text("{{ config(materialized='table') }}\n" + broken)
    (project / "models/inc.sql").write_text("{{ config(materialized='incremental', unique_key='x') }}\n" + broken)
    (project / "models/py.py").write_text("def model(ctx):\n    ctx.ref('raw')\n    raise RuntimeError('no')\n")
    result = pds(project, "run", expect=1)
    assert "Could not convert string" in output(result) and "models/py.py:3: RuntimeError: no" in output(result)
    assert query(project, "select x from good order by x") == [(1,), (2,)]
    assert query(project, "select x from inc order by x") == [(1,), (2,)]
    assert query(project, "select x from py order by x") == [(1,), (2,)]
    leftovers = [name for name in relations(project) if "__pds" in name]
    assert leftovers == []
