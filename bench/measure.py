"""Measure one command as a whole process, and set up the peers' environments (dbt-core, SQLMesh).

Why per process: users wait for the whole command (interpreter start, imports, parsing,
warehouse work), so wall time, CPU time and peak memory are taken for the process tree of
exactly one command. os.wait4() on the command's own pid returns the rusage of that child
(and of its descendants it waited for), so peak memory is per command, not the runner's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent

# keep dbt off the network (no anonymous usage pings: there is no internet here) and out of pds's target/
DBT_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "DBT_TARGET_PATH": "target-dbt",
    "DBT_USE_COLORS": "false",
    "DBT_VERSION_CHECK": "false",
}


@dataclass
class Sample:
    """One run of one command."""

    cmd: list[str]
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    returncode: int
    error: str | None = None
    log: str | None = None
    others_cpu_s: float | None = None  # CPU used meanwhile by other processes on the machine: was it quiet?
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None,
            timeout: float = 3600.0) -> Sample:
    """Run `cmd` in `cwd`, output to `log`; wall time, user+sys CPU and ru_maxrss of this command alone."""
    full_env = {**os.environ, **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    busy_before = _busy_seconds()
    with open(log, "wb") as out:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            return Sample(cmd, 0.0, 0.0, 0.0, 0.0, 0.0, 127, error=f"cannot start: {exc}", log=str(log))
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    sample = Sample(cmd=cmd, wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, user_s=usage.ru_utime,
                    sys_s=usage.ru_stime, maxrss_mb=usage.ru_maxrss / 1024, returncode=proc.returncode,
                    log=str(log))
    busy_after = _busy_seconds()
    if busy_before is not None and busy_after is not None:
        sample.others_cpu_s = max(0.0, busy_after - busy_before - sample.cpu_s)
    if proc.returncode != 0:
        sample.error = (f"timed out after {timeout:.0f} s; " if proc.returncode == -signal.SIGKILL else "") + \
            f"exit {proc.returncode}: {tail(log)}"
    return sample


def _busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (Linux /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def tail(path: Path, lines: int = 6, width: int = 600) -> str:
    """The last meaningful lines of a log: what to show when a command failed."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-width:]


@dataclass(frozen=True)
class Peer:
    """A tool pds is compared against, installed by the bench into a virtualenv of its own.

    Why its own venv: the peers pin their own duckdb, sqlglot and pandas (SQLMesh 0.236 wants
    duckdb<2 and sqlglot 30.8), which must not change what pds runs on, nor each other's.
    """

    name: str
    venv: Path
    requirements: tuple[str, ...]
    executable: str
    packages: tuple[str, ...]  # whose versions go into the results

    @property
    def path(self) -> Path:
        return self.venv / "bin" / self.executable


DBT = Peer("dbt", BENCH_DIR / ".venv-dbt", ("dbt-core<1.12", "dbt-duckdb"), "dbt", ("dbt-core", "dbt-duckdb", "duckdb"))
SQLMESH = Peer("sqlmesh", BENCH_DIR / ".venv-sqlmesh", ("sqlmesh>=0.236,<0.237",), "sqlmesh",
               ("sqlmesh", "sqlglot", "duckdb"))


def peer_executable(peer: Peer, install: bool = True) -> Path | None:
    """The peer's command in its venv, creating the venv and installing the peer when missing."""
    if peer.path.exists():
        return peer.path
    if not install:
        return None
    print(f"installing {' '.join(peer.requirements)} into {peer.venv} (once) ...", flush=True)
    shutil.rmtree(peer.venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(peer.venv)], check=True)
    py = str(peer.venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", *peer.requirements], check=True)
    return peer.path if peer.path.exists() else None


def peer_versions(executable: Path, packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of `packages`, read from the executable's venv (offline, unlike `dbt --version`)."""
    python = executable.parent / "python"
    code = ("import importlib.metadata as m, json, sys; "
            "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")
    try:
        out = subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True,
                             timeout=60).stdout
        return dict(json.loads(out))
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


def pds_command(repo: Path) -> tuple[list[str], dict[str, str]]:
    """How to call the pds CLI: the `pds` script beside this interpreter, else `python -m pds_core.cli`."""
    script = Path(sys.executable).parent / "pds"
    if script.exists():
        return [str(script)], {}
    found = shutil.which("pds")
    if found:
        return [found], {}
    pythonpath = os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "pds_core.cli"], {"PYTHONPATH": pythonpath}


def remove(*paths: Path) -> None:
    """Delete files or folders that may or may not exist (fresh DuckDB file, no target/, no cache)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
