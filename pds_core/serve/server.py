"""Running the app under uvicorn: in the foreground for `pds serve`, or in a thread on a free port
for tests and benchmarks (started and stopped by a context manager, so nothing is left listening).
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pds_core.serve.auth import Auth, check_host


def config(app: Any, host: str, port: int, access_log: bool = True, log_level: str = "info") -> Any:
    """uvicorn settings: uvloop and httptools when installed (uvicorn[standard]), else asyncio and h11."""
    import uvicorn

    fast = importlib.util.find_spec("uvloop") is not None and importlib.util.find_spec("httptools") is not None
    return uvicorn.Config(app, host=host, port=port, access_log=access_log, log_level=log_level,
                          loop="uvloop" if fast else "asyncio", http="httptools" if fast else "h11",
                          server_header=False, date_header=False)


def serve_forever(app: Any, host: str, port: int, auth: Auth, access_log: bool = True) -> None:
    """Serve until Ctrl-C; refuses a non-loopback host when no token is configured."""
    import uvicorn

    check_host(host, auth)
    uvicorn.Server(config(app, host, port, access_log)).run()


@contextmanager
def running(app: Any, host: str = "127.0.0.1", auth: Auth | None = None, access_log: bool = False,
            log_level: str = "warning") -> Iterator[str]:
    """uvicorn in a thread on a free port of `host`; yields the base URL; stops it and waits on exit."""
    import uvicorn

    check_host(host, auth or Auth())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    server = uvicorn.Server(config(app, host, sock.getsockname()[1], access_log, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="pds-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
