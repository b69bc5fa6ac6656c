"""cancel() from another thread stops a real running statement, and its transaction rolls back.

A table is being replaced by a query that would run for half a minute, on a worker thread; the main
thread calls adapter.cancel() (what pds does on Ctrl-C). The statement must end within ~2 s, raise in
its own thread, and the table must keep its old rows; the adapter stays usable afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from pds_adapters import connect
from pds_adapters.relation import Relation
from pds_adapters.target import Target
from tests import engine_postgres as pg

LONG_QUERY = {
    "duckdb": "SELECT sum(hash(range)) AS n FROM range(100000000000)",  # minutes of work on any machine
    "postgres": "SELECT pg_sleep(30)::text AS n",
}


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "duckdb":
        yield Target("dev", "duckdb", {"path": str(tmp_path / "wh.duckdb"), "schema": "main"})
        return
    if pg.unavailable():
        pytest.skip(str(pg.unavailable()))
    schema = f"pds_cancel_{uuid.uuid4().hex[:8]}"
    with pg.target(schema) as settings:
        yield Target("ci", "postgres", {k: v for k, v in settings.items() if k != "type"}, threads=2)


def running_in_thread(call: Any) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            call()
        except BaseException as exc:  # what the statement raised in its own thread
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, errors


def wait_until_running(adapter: Any, thread: threading.Thread) -> None:
    """Until the long statement is in flight (BEGIN and the catalog look-ups are done by then)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and thread.is_alive():
        if adapter.connections.in_flight():
            time.sleep(0.5)  # still running half a second later: the long one
            if adapter.connections.in_flight():
                return
        time.sleep(0.05)
    raise AssertionError("the long statement never started")


def test_cancel_stops_a_running_replace_and_keeps_the_old_table(target: Target) -> None:
    engine = target.type
    table = Relation(target.schema, "scores")
    with connect(target) as adapter:
        adapter.ensure_schema(target.schema)
        adapter.replace_table(table, sqlglot.parse_one("SELECT 'old' AS n UNION ALL SELECT 'older'", read=engine))
        query = sqlglot.parse_one(LONG_QUERY[engine], read=engine)
        thread, errors = running_in_thread(lambda: adapter.replace_table(table, query))
        wait_until_running(adapter, thread)
        started = time.monotonic()
        assert adapter.cancel() >= 1
        thread.join(timeout=10)
        took = time.monotonic() - started
        assert not thread.is_alive() and took < 2.5, f"the statement ran on for {took:.1f}s after cancel()"
        assert len(errors) == 1 and ("interrupt" in str(errors[0]).lower() or "cancel" in str(errors[0]).lower()), \
            errors
        # rolled back: the old rows, and no staging table left; the adapter still works
        assert sorted(adapter.fetch(f"SELECT n FROM {adapter.relation_sql(table)}")[1]) == [("old",), ("older",)]
        assert [n for _s, n, _k in adapter.relation_names([target.schema])] == ["scores"]
    with connect(target) as again:  # and a new session sees the same
        assert sorted(again.fetch(f"SELECT n FROM {again.relation_sql(table)}")[1]) == [("old",), ("older",)]


def test_cancel_with_nothing_running_does_nothing(target: Target) -> None:
    with connect(target) as adapter:
        assert adapter.cancel() == 0
        assert adapter.fetch("SELECT 1 AS one")[1] == [(1,)]
