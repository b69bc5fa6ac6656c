"""Connections apart from operations: one per thread, broken ones replaced, counted, cancellable; connect()."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pds_adapters import connect
from pds_adapters.connections import Connections
from pds_adapters.errors import ConnectionFailed
from pds_adapters.target import Target
from tests.unit.adapters.recording import recording


class Driver:
    def __init__(self, cancel_delay: float = 0.0) -> None:
        self.opened: list[object] = []
        self.released: list[object] = []
        self.cancelled: list[tuple[object, object]] = []
        self.broken: set[int] = set()
        self.cancel_delay = cancel_delay

    def _open_connection(self) -> object:
        conn = object()
        self.opened.append(conn)
        return conn

    def _is_broken(self, conn: object) -> bool:
        return id(conn) in self.broken

    def _release(self, conn: object) -> None:
        self.released.append(conn)

    def _cancel_running(self, conn: object, handle: object) -> None:
        time.sleep(self.cancel_delay)
        self.cancelled.append((conn, handle))


def test_one_connection_per_thread_and_a_broken_one_is_replaced() -> None:
    driver = Driver()
    conns = Connections(driver)
    first = conns.get()
    assert conns.get() is first
    other: list[object] = []
    worker = threading.Thread(target=lambda: other.append(conns.get()))
    worker.start()
    worker.join()
    assert other[0] is not first and len(conns.opened()) == 2
    driver.broken.add(id(first))
    assert conns.get() is not first and driver.released == [first]
    conns.close_all()
    assert len(driver.released) == 3 and conns.opened() == []


def test_statements_are_counted_overall_and_per_thread() -> None:
    conns = Connections(Driver())
    conns.count()
    worker = threading.Thread(target=lambda: [conns.count() for _ in range(3)])
    worker.start()
    worker.join()
    assert conns.statements == 4 and conns.thread_count() == 1


def test_cancel_reaches_each_running_statement_once_and_nothing_idle() -> None:
    driver = Driver()
    conns = Connections(driver)
    busy, idle = conns.get(), object()
    job = object()
    assert conns.cancel() == 0
    with conns.running(busy), conns.running(busy):
        assert conns.cancel() == 1  # the connection once
    with conns.running(busy), conns.running(busy, job):
        assert conns.cancel() == 1  # the job: it names the statement more precisely than its connection
    assert driver.cancelled == [(busy, None), (busy, job)]
    assert all(conn is not idle for conn, _ in driver.cancelled)
    assert conns.in_flight() == []


def test_cancel_returns_even_when_the_warehouse_does_not_answer() -> None:
    conns = Connections(Driver(cancel_delay=5))
    with conns.running(conns.get()):
        started = time.monotonic()
        conns.cancel(timeout=0.3)
        assert time.monotonic() - started < 2


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "snowflake", "bigquery"])
def test_cancel_on_each_engine(engine: str) -> None:
    adapter, warehouse = recording(engine)
    conn = adapter.connection()
    job: Any = None
    if engine == "bigquery":
        job = conn.query("SELECT 1")
        warehouse.sent.clear()
    with adapter.connections.running(conn), adapter.connections.running(conn, job):  # as execute() does
        assert adapter.cancel() == 1
    assert warehouse.sent == {"duckdb": ["-- interrupt()"], "postgres": ["-- cancel request"],
                              "snowflake": ["SELECT SYSTEM$CANCEL_ALL_QUERIES(?)"],
                              "bigquery": ["-- jobs.cancel(SELECT 1)"]}[engine]
    if engine == "snowflake":  # from a session of its own, naming the busy one
        assert warehouse.params == [[42]] and warehouse.connections == 2


def test_connect_opens_yields_and_closes_also_on_errors(tmp_path: Path) -> None:
    target = Target("dev", "duckdb", {"path": str(tmp_path / "wh.duckdb"), "schema": "main"})
    with pytest.raises(RuntimeError), connect(target) as adapter:
        assert adapter.connections.opened()  # opened before the block
        raise RuntimeError("boom")
    assert adapter.connections.opened() == [] and adapter._database is None
    with connect(target) as again:  # the file is free again
        assert again.fetch("SELECT 42")[1] == [(42,)]


def test_connect_reports_an_unreachable_warehouse_before_the_block(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    target = Target("dev", "duckdb", {"path": str(tmp_path / "file" / "wh.duckdb"), "schema": "main"})
    entered = []
    with pytest.raises(ConnectionFailed) as failed, connect(target):
        entered.append(True)
    assert not entered and "'dev'" in str(failed.value)
