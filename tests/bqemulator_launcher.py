"""Start bqemulator offline: it insists on loading DuckDB's spatial extension, which needs a download.

Run as `python tests/bqemulator_launcher.py PORT`; the tests start it in a subprocess and stop it
with SIGTERM. GEOGRAPHY functions are unavailable in this emulator; pds does not use them.

The emulator runs every request's SQL on one DuckDB connection from its worker threads, and reads a
result back from that connection after executing (`engine.execute(sql).fetchall()`): two requests at
once (pds builds with threads) could each read the other's result, which surfaced under load as a
result without a schema or with no rows. Each thread gets a cursor of its own on the same database
here (what DuckDB asks of threads); the emulator sends no BEGIN/COMMIT, so nothing spans threads.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


def per_thread_connection(engine_class: Any) -> None:
    """engine.connection: a cursor of the calling thread's own on the engine's database."""
    shared = engine_class.connection  # the property of the one connection

    def connection(self: Any) -> Any:
        base = shared.fget(self)
        local = self.__dict__.setdefault("_pds_cursors", threading.local())
        if getattr(local, "base", None) is not base:
            local.base, local.cursor = base, base.cursor()
        return local.cursor

    engine_class.connection = property(connection)


def main(port: int) -> None:
    from bqemulator.cli import main as cli
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = lambda self: None  # offline: no extension download
    per_thread_connection(DuckDBEngine)
    cli(["start", "--rest-host", "127.0.0.1", "--rest-port", str(port), "--grpc-host", "127.0.0.1",
         "--grpc-port", "0", "--ephemeral", "--project", "pds-test", "--log-level", "warning"],
        standalone_mode=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
