"""BigQuery for the cross-engine suite: the real google-cloud-bigquery client against bqemulator.

bqemulator serves BigQuery's REST API on loopback. It is started from tests/bqemulator_launcher.py
(which turns off its download of DuckDB's spatial extension, impossible offline) in a subprocess on
a free 127.0.0.1 port, and stopped again afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas

from tests.conftest import stop_process

NAME = "bigquery"
PROJECT = "pds-test"
ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = Path(__file__).resolve().parent / "bqemulator_launcher.py"
START_TIMEOUT = 60.0
INSTALL = ".ci/standins  (makes .venv-bqemulator)"


def emulator_python() -> str | None:
    """The Python of bqemulator's own virtualenv (see .ci/standins), or None."""
    for candidate in (os.environ.get("PDS_BQEMULATOR_PYTHON"), str(ROOT / ".venv-bqemulator" / "bin" / "python")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def unavailable() -> str | None:
    """Why the BigQuery tests cannot run here, or None."""
    for module, extra in (("google.cloud.bigquery", "bigquery"), ("numpy", "test")):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[{extra}]')"
    if emulator_python() is None:
        return f"no bqemulator: {INSTALL}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """A running bqemulator; yields its REST endpoint URL and stops the server on exit."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BQEMU_ENABLE_FORMAT_EXTENSIONS": "false"}  # no avro download attempt offline
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([str(emulator_python()), str(LAUNCHER), str(port)], stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=tempfile.gettempdir())
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"bqemulator did not start on {url}:\n{log.read()[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            stop_process(proc)


def settings_for(url: str, schema: str) -> dict:
    """The profiles.yml target mapping that points pds at the emulator."""
    return {"type": "bigquery", "method": "anonymous", "project": PROJECT, "dataset": schema,
            "api_endpoint": url, "location": "US", "threads": 4}


@contextlib.contextmanager
def target(schema: str) -> Iterator[dict]:
    """Start the emulator and yield a profiles.yml target mapping for it; stop it afterwards."""
    with emulator() as url:
        yield settings_for(url, schema)


def client(settings: dict):
    """A real google-cloud-bigquery client for the target's endpoint."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(project=settings["project"], credentials=AnonymousCredentials(),
                           client_options=ClientOptions(api_endpoint=settings["api_endpoint"]))


def read_table(settings: dict, schema: str, table: str) -> pandas.DataFrame:
    """Every row of schema.table, read back with google-cloud-bigquery (REST, no Storage API)."""
    bq = client(settings)
    try:
        rows = bq.query(f"SELECT * FROM `{settings['project']}.{schema}.{table}`").result()
        return rows.to_arrow(create_bqstorage_client=False).to_pandas()
    finally:
        bq.close()


def column_types(settings: dict, schema: str, table: str) -> dict[str, str]:
    """column name -> the field type in the table's schema (tables.get)."""
    bq = client(settings)
    try:
        fields = bq.get_table(f"{settings['project']}.{schema}.{table}").schema
        return {f.name: f.field_type + (f"({f.precision},{f.scale})" if f.precision else "") for f in fields}
    finally:
        bq.close()
