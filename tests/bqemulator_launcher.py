"""Start bqemulator offline: it insists on loading DuckDB's spatial extension, which needs a download.

Run as `python tests/bqemulator_launcher.py PORT`; the tests start it in a subprocess and stop it
with SIGTERM. GEOGRAPHY functions are unavailable in this emulator; pds does not use them.
"""

from __future__ import annotations

import sys


def main(port: int) -> None:
    from bqemulator.cli import main as cli
    from bqemulator.storage.engine import DuckDBEngine

    DuckDBEngine._load_spatial = lambda self: None  # offline: no extension download
    cli(["start", "--rest-host", "127.0.0.1", "--rest-port", str(port), "--grpc-host", "127.0.0.1",
         "--grpc-port", "0", "--ephemeral", "--project", "pds-test", "--log-level", "warning"],
        standalone_mode=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
