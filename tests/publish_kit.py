"""Helpers for the publish tests: a recording HTTP server on 127.0.0.1 and small projects with exports."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.quality_projects import write_project


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased (HTTP header names are case-insensitive)
    body: Any
    status: int


@dataclass
class Recorder:
    """What the server got, and how it should answer: fail the first N requests, or stall on each."""

    fail_first: int = 0
    fail_status: int = 503
    always_status: int | None = None
    stall: float = 0.0  # seconds to wait before answering each request (a slow endpoint)
    only: str = ""  # fail_first, always_status and stall apply to paths starting with this
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, path: str | None = None) -> list[Received]:
        return [r for r in self.requests if r.status < 300 and (path is None or r.path == path)]


@contextmanager
def http_server(recorder: Recorder | None = None) -> Iterator[tuple[str, Recorder]]:
    """A real HTTP server in a thread on a free port; yields its base URL and the recorder."""
    rec = recorder or Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            ruled = self.path.startswith(rec.only)
            if rec.stall and ruled:
                time.sleep(rec.stall)
            with rec.lock:
                seen = len([r for r in rec.requests if r.path.startswith(rec.only)])
                status = 200 if not ruled else rec.always_status or (rec.fail_status if seen < rec.fail_first else 200)
                rec.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"null"), status))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "try later"}')

        do_PUT = do_POST  # noqa: N815

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", rec
    finally:
        server.shutdown()
        server.server_close()


def scores_project(root: Path, exports: str, extra: dict[str, str] | None = None, project_yml: str | None = None,
                   profiles: str | None = None) -> Path:
    """The quality tests' shop project with `exports:` (YAML list text, indented 8) on customer_scores,
    a not_null test on stg_orders.order_id (error) and a warn-severity check on amounts."""
    schema = f"""
        models:
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [not_null]
              - name: amount
                data_tests:
                  - expression_is_true: {{expression: ">= 0", severity: warn}}
          - name: customer_scores
            columns:
              - name: customer_id
                data_tests: [not_null, unique]
            exports:
{exports}
    """
    files = {"models/schema.yml": schema, **(extra or {})}
    if project_yml is not None:
        files["pds_project.yml"] = project_yml
    if profiles is not None:
        files["profiles.yml"] = profiles
    return write_project(root, files)
