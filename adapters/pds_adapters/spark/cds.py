"""An AppCDS archive of the local JVM's classes, built once per machine, outside any repository.

Why: most of a local Spark session's start-up is the JVM loading and verifying ~20,000 classes.
A dynamic CDS archive (JDK 13+) maps them from one file instead: measured here, a first query
comes 2-4x sooner. The archive is written by a JVM at its exit (-XX:ArchiveClassesAtExit), so
the first process that starts a local session without one waits for its JVM to finish writing
it (tens of seconds, once); every later process starts with -XX:SharedArchiveFile. The archive
depends on the Java and Spark versions and the JVM flags, which make up its file name; a stale
one is simply not matched. `python -m pds_adapters.spark.warm` builds it ahead of time (for CI).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """~/.cache/pds/spark-cds (XDG_CACHE_HOME respected): per machine, never in a project."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pds" / "spark-cds"


def java_version() -> str:
    """The `java -version` banner of the java that spark-submit will run (JAVA_HOME first)."""
    java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if os.environ.get("JAVA_HOME") else "java"
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stderr.strip()


def archive_path(flags: list[str]) -> Path:
    """The archive for this Java, this Spark and these JVM flags."""
    import pyspark

    key = hashlib.sha256("\n".join([java_version(), pyspark.__version__, sys.prefix, *flags]).encode())
    return cache_dir() / f"spark-{pyspark.__version__}-{key.hexdigest()[:16]}.jsa"


def jvm_flags(flags: list[str]) -> list[str]:
    """Flags that use the archive if it exists, or write it at the JVM's exit if it does not."""
    path = archive_path(flags)
    if path.is_file() and path.stat().st_size > 0:
        return [f"-XX:SharedArchiveFile={path}", "-Xshare:auto"]
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_parts(path)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    atexit.register(_finish_archive, part, path)
    return [f"-XX:ArchiveClassesAtExit={part}"]


def _remove_dead_parts(path: Path) -> None:
    """Half-written archives of processes that died before their JVM finished."""
    for part in path.parent.glob(f"{path.name}.*.part"):
        pid = part.name.removeprefix(path.name + ".").removesuffix(".part")
        if pid.isdigit() and not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _finish_archive(part: Path, path: Path) -> None:
    """At exit: let the JVM end on its own (it writes the archive then) and move the file in place."""
    from pyspark import SparkContext

    gateway: Any = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if proc is None:
        return
    sys.stderr.write("pds: writing the Spark JVM class archive (once per machine, for faster start-ups)...\n")
    with contextlib.suppress(Exception):  # best effort: without an archive the next start is only slower
        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        proc.stdin.close()  # the gateway JVM exits when its stdin closes, writing the archive
        proc.wait(timeout=300)
    if part.is_file() and part.stat().st_size > 0:
        os.replace(part, path)
    else:
        part.unlink(missing_ok=True)
