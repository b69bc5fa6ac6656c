"""The Spark adapter on a real local session and a real Spark Connect server (both started here).

Every test reads the tables back and checks their rows: views, the atomic replace (under a
concurrent reader), incremental strategies, Delta merge and delete+insert, seeds, DataFrames,
failures that must keep the old table, cancellation, and persistence across processes.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlglot

from pds_core.errors import ProjectError
from pds_core.nodes import Relation
from tests import spark_kit

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _spark_here() -> None:
    reason = spark_kit.unavailable()
    if reason:
        pytest.skip(reason)


def q(sql: str) -> Any:
    return sqlglot.parse_one(sql, read="spark")


def make(method: str, file_format: str) -> Any:
    schema = f"t_{uuid.uuid4().hex[:8]}"
    settings = (spark_kit.local_settings(schema, file_format) if method == "session"
                else spark_kit.connect_settings(schema, file_format))
    found = spark_kit.adapter(settings)
    found.ensure_schema(schema)
    return found


@pytest.fixture(params=["session", "connect"])
def delta(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Delta adapter on a fresh schema, on the local session and on the Connect server."""
    found = make(request.param, "delta")
    yield found
    found.close()


@pytest.fixture(params=["session", "connect"])
def parquet(request: pytest.FixtureRequest) -> Iterator[Any]:
    found = make(request.param, "parquet")
    yield found
    found.close()


@pytest.fixture(params=["parquet", "delta"])
def local(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Either format on the local session."""
    found = make("session", request.param)
    yield found
    found.close()


def rel(adapter: Any, name: str) -> Relation:
    return Relation(adapter.target.schema, name)


def rows(adapter: Any, name: str, order: str = "1") -> list[tuple]:
    _cols, found = adapter.fetch(q(f"SELECT * FROM {spark_kit.table_name(adapter.target.schema, name)} ORDER BY {order}"))
    return found


def test_view_table_and_listing(local: Any) -> None:
    local.replace_table(rel(local, "base"), q("SELECT id, id * 2 AS twice FROM range(5)"))
    local.create_view(rel(local, "v"), q(f"SELECT id FROM {spark_kit.table_name(local.target.schema, 'base')} WHERE id > 2"))
    assert rows(local, "v") == [(3,), (4,)]
    assert rows(local, "base")[-1] == (4, 8)
    listed = local.list_relations([local.target.schema])
    assert listed == {(local.target.schema, "base"): "table", (local.target.schema, "v"): "view"}
    assert local.columns(rel(local, "base")) == ["id", "twice"]
    local.replace_table(rel(local, "base"), q("SELECT id FROM range(2)"))  # a second version, new columns
    assert rows(local, "base") == [(0,), (1,)]
    physical = [n for _s, n, _k in local.relation_names([local.target.schema]) if "__pdsv" in n]
    assert len(physical) == (2 if local.settings.file_format == "parquet" else 0)  # current + the one replaced
    local.replace_table(rel(local, "base"), q("SELECT 7 AS id"))
    physical = [n for _s, n, _k in local.relation_names([local.target.schema]) if "__pdsv" in n]
    assert len(physical) == (2 if local.settings.file_format == "parquet" else 0)  # the oldest went
    local.drop_relation(rel(local, "base"))
    assert local.list_relations([local.target.schema]) == {(local.target.schema, "v"): "view"}
    assert not [n for _s, n, _k in local.relation_names([local.target.schema]) if "__pdsv" in n]


def test_replace_is_atomic_for_a_concurrent_reader(local: Any) -> None:
    """A reader polling the table while it is replaced never fails and never sees a partial table."""
    name = spark_kit.table_name(local.target.schema, "swapped")
    local.replace_table(rel(local, "swapped"), q("SELECT id, 0 AS version FROM range(2000)"))
    seen: list[tuple] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                _c, found = local.fetch(q(f"SELECT count(*), count(DISTINCT version), min(version) FROM {name}"))
                seen.append(found[0])
            except BaseException as exc:  # noqa: BLE001 -- any failure is what the test looks for
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in range(1, 5):
            local.replace_table(rel(local, "swapped"), q(f"SELECT id, {version} AS version FROM range(2000)"))
    finally:
        done.set()
        reader.join(60)
    assert not errors, f"the reader failed during a replace: {errors[0]}"
    assert seen and all(count == 2000 and versions == 1 for count, versions, _v in seen), seen
    assert rows(local, "swapped", "id")[0] == (0, 4)


def test_failing_query_keeps_the_old_table(local: Any) -> None:
    local.replace_table(rel(local, "kept"), q("SELECT id FROM range(3)"))
    before = local.relation_names([local.target.schema])
    with pytest.raises(Exception, match="(?i)divide|division|zero"):
        local.replace_table(rel(local, "kept"), q("SELECT id, 1 / (id - 1) AS boom FROM range(3)"))
    assert rows(local, "kept") == [(0,), (1,), (2,)]
    assert local.relation_names([local.target.schema]) == before  # no half-made version left behind


def test_incremental_append_and_insert_overwrite(local: Any) -> None:
    from pds_adapters.spark.ddl import TableOptions

    opts = TableOptions(file_format=local.settings.file_format, partition_by=("day",))
    r = rel(local, "events")
    local.replace_table(r, q("SELECT id, id % 2 AS day, 'a' AS v FROM range(4)"), opts)
    local.incremental(r, q("SELECT 10 AS id, 1 AS day, 'b' AS v"), "append", [], options=opts)
    assert rows(local, "events", "id") == [(0, 0, "a"), (1, 1, "a"), (2, 0, "a"), (3, 1, "a"), (10, 1, "b")]
    # insert_overwrite replaces the partitions present in the new rows (day 1) and leaves the others
    local.incremental(r, q("SELECT 20 AS id, 1 AS day, 'c' AS v"), "insert_overwrite", [], options=opts)
    assert rows(local, "events", "id") == [(0, 0, "a"), (2, 0, "a"), (20, 1, "c")]
    # columns are matched by name, whatever the query's order
    local.incremental(r, q("SELECT 'd' AS v, 0 AS day, 30 AS id"), "append", [], options=opts)
    assert rows(local, "events", "id")[-1] == (30, 0, "d")
    # unpartitioned: insert_overwrite replaces the whole table (on parquet as a new version)
    plain = rel(local, "plain")
    local.replace_table(plain, q("SELECT 1 AS id"))
    local.incremental(plain, q(f"SELECT id + 1 AS id FROM {spark_kit.table_name(local.target.schema, 'plain')}"),
                      "insert_overwrite", [])
    assert rows(local, "plain") == [(2,)]


def test_merge_and_delete_insert_on_delta(delta: Any) -> None:
    r = rel(delta, "m")
    delta.replace_table(r, q("SELECT * FROM VALUES (1, 'a', 1.0D), (2, 'b', 2.0D), (3, 'c', 3.0D) AS t(k, v, x)"))
    delta.incremental(r, q("SELECT * FROM VALUES (2, 'B', 20.0D), (4, 'd', 4.0D) AS t(k, v, x)"), "merge", ["k"])
    assert rows(delta, "m") == [(1, "a", 1.0), (2, "B", 20.0), (3, "c", 3.0), (4, "d", 4.0)]
    # delete+insert: every row of a key goes, all new rows of it come in (duplicates included)
    d = rel(delta, "di")
    delta.replace_table(d, q("SELECT * FROM VALUES (1, 1, 'x'), (1, 2, 'y'), (2, 1, 'z') AS t(a, b, v)"))
    delta.incremental(d, q("SELECT * FROM VALUES (1, 2, 'Y1'), (1, 2, 'Y2'), (3, 3, 'n') AS t(a, b, v)"),
                      "delete+insert", ["a", "b"])
    assert rows(delta, "di", "a, b, v") == [(1, 1, "x"), (1, 2, "Y1"), (1, 2, "Y2"), (2, 1, "z"), (3, 3, "n")]
    # replace keeps Delta's history: the table was replaced in one commit, not dropped
    delta.replace_table(r, q("SELECT 9 AS k, 'z' AS v, 9.0D AS x"))
    assert rows(delta, "m") == [(9, "z", 9.0)]


def test_merge_on_parquet_names_the_format(parquet: Any) -> None:
    r = rel(parquet, "p")
    parquet.replace_table(r, q("SELECT 1 AS k, 'a' AS v"))
    for strategy in ("merge", "delete+insert"):
        with pytest.raises(ProjectError, match=re.escape(strategy) + "' needs a table format with row-level changes.*parquet"):
            parquet.incremental(r, q("SELECT 1 AS k, 'b' AS v"), strategy, ["k"])
    with pytest.raises(ProjectError, match="snapshot on Spark needs a row-level file format.*parquet"):
        parquet.snapshot(r, q("SELECT 1 AS k"), None, None)  # its later builds would MERGE
    assert rows(parquet, "p") == [(1, "a")]


def test_seed_types_match_the_other_engines(local: Any, tmp_path: Any) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("id,name,zip,born,seen_at,score,active\n1,Ann,01234,2024-01-02,2024-01-02 03:04:05,1.5,true\n"
                   "2,Bob,00501,,2024-02-03 10:00:00,,false\n")  # one timestamp form (dbt: mixed forms are text)
    count = local.load_seed(rel(local, "people"), str(csv), {"zip": "varchar(5)"})
    assert count == 2
    frame = local.session().table(spark_kit.table_name(local.target.schema, "people"))
    assert dict(frame.dtypes) == {"id": "bigint", "name": "string", "zip": "string", "born": "date",
                                  "seen_at": "timestamp", "score": "double", "active": "boolean"}
    got = rows(local, "people")
    assert got[0][:3] == (1, "Ann", "01234") and str(got[0][3]) == "2024-01-02"
    assert str(got[0][4]) == "2024-01-02 03:04:05" and got[1][3] is None and got[1][5] is None


def test_dataframe_round_trip(delta: Any) -> None:
    df = pd.DataFrame({"id": pd.array([1, 2, None], dtype="Int64"), "name": ["a", None, "ç"],
                       "amount": [1.5, None, 3.0], "flag": [True, False, True],
                       "at": pd.to_datetime(["2024-01-01 12:00", None, "2024-03-01 00:00"])})
    assert delta.write_dataframe(rel(delta, "df"), df) == 3
    back = delta.read_dataframe(rel(delta, "df")).sort_values("amount", na_position="last").reset_index(drop=True)
    assert list(back.columns) == ["id", "name", "amount", "flag", "at"]
    assert back["name"].tolist()[:2] == ["a", "ç"] and back["flag"].tolist() == [True, True, False]
    assert str(back["at"][0]) == "2024-01-01 12:00:00" and pd.isna(back["at"][2])
    assert pd.isna(back["id"][2]) or back["id"].isna().sum() == 1
    # a Spark DataFrame goes in as it is (no collect), and pandas incremental rows merge
    spark_df = delta.frame(q("SELECT 7 AS id, 'z' AS name"))
    delta.write_dataframe(rel(delta, "sdf"), spark_df)
    delta.incremental_dataframe(rel(delta, "sdf"), pd.DataFrame({"id": [7, 8], "name": ["Z", "y"]}), "merge", ["id"])
    assert rows(delta, "sdf") == [(7, "Z"), (8, "y")]
    chunks = list(delta.read_chunks(rel(delta, "df"), 2))
    assert [len(c) for c in chunks] == [2, 1]
    arrow = delta.frame_arrow(rel(delta, "df"))  # ctx.ref(..., format="arrow"): collected to the driver
    assert sorted(arrow.column("amount").to_pylist(), key=lambda v: (v is None, v)) == [1.5, 3.0, None]
    empty = pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="str")})
    assert delta.write_dataframe(rel(delta, "empty"), empty) == 0
    assert delta.columns(rel(delta, "empty")) == ["a", "b"]


def test_cancel_stops_a_running_job(delta: Any) -> None:
    """cancel() from another thread ends a long job within seconds (what Ctrl-C does)."""
    failure: list[BaseException] = []
    endless = q("SELECT count(*) FROM range(0, 100000000000, 1, 2) AS a WHERE reflect('java.lang.Thread', 'sleep', "
                "CAST(0 AS BIGINT)) IS NULL OR a.id % 1000003 = 7")

    def run() -> None:
        try:
            delta.fetch(endless)
        except BaseException as exc:  # noqa: BLE001 -- the cancellation is the expected outcome
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(4)
    assert worker.is_alive(), "the job should still be running"
    started = time.monotonic()
    delta.cancel()
    worker.join(30)
    assert not worker.is_alive() and time.monotonic() - started < 15
    assert failure and "cancel" in str(failure[0]).lower() or "interrupt" in str(failure[0]).lower()
    _c, found = delta.fetch(q("SELECT 1"))  # the session is usable after a cancellation
    assert found == [(1,)]
