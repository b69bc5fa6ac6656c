"""The `spark` target's keys, read and checked once, so the session and the adapter see plain values.

Why a dataclass of its own: a local session, a cluster master and a Spark Connect client take
different keys, and a key given to the wrong method must be an error naming it (a `warehouse:`
on a Connect target would otherwise be silently ignored, as the server owns its warehouse).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_adapters.errors import ProjectError

FILE_FORMATS = ("parquet", "delta", "iceberg")
METHODS = ("session", "connect")
COMMON_KEYS = ("type", "threads", "schema", "method", "catalog", "file_format", "location_root",
               "conf", "packages")
SESSION_KEYS = ("master", "warehouse", "fast_start", "cds_archive", "ui")
CONNECT_KEYS = ("host", "token", "user", "connect_timeout", "use_ssl")
DEFAULT_WAREHOUSE = "spark-warehouse"  # like Spark's own default, inside the project (see resolve_paths)


@dataclass(frozen=True)
class SparkSettings:
    """One spark target: how to reach Spark and how tables are stored."""

    method: str = "session"
    master: str = "local[*]"
    host: str | None = None  # sc://host:port for method: connect
    token: str | None = None
    user: str | None = None
    use_ssl: bool = False
    connect_timeout: float = 10.0
    warehouse: str | None = None  # a folder (or any Hadoop URI) for tables and the Derby metastore
    catalog: str | None = None  # a v2 catalog name (relations become catalog.schema.name)
    file_format: str = "parquet"
    location_root: str | None = None
    packages: tuple[str, ...] | None = None  # Maven coordinates; None: the ones file_format needs
    conf: dict[str, str] = field(default_factory=dict)
    fast_start: bool = True  # C1-only JIT and the serial GC: a local JVM answers sooner
    cds_archive: bool = True  # an AppCDS archive of the JVM's classes, built once per machine
    ui: bool = False

    @property
    def local(self) -> bool:
        """A local[...] master: everything runs in this machine's JVM, bound to 127.0.0.1."""
        return self.method == "session" and self.master.startswith("local")

    @property
    def local_warehouse(self) -> Path | None:
        """The warehouse folder when it is on this machine's file system (then a lock file serialises builds)."""
        if self.method != "session":
            return None
        where = self.warehouse or DEFAULT_WAREHOUSE
        if where.startswith("file:"):
            where = where.removeprefix("file:").removeprefix("//")
        elif "://" in where:
            return None
        return Path(where).absolute()

    def describe(self) -> str:
        """Where the target is, for messages: never the token."""
        if self.method == "connect":
            return f"spark connect {self.host}"
        return f"spark {self.master} (warehouse {self.local_warehouse or self.warehouse})"

    def connect_url(self) -> str:
        """The sc:// URL with its parameters; it holds the token, so it is only handed to the client."""
        params = {"token": self.token, "user_id": self.user, "use_ssl": "true" if self.use_ssl else None}
        tail = ";".join(f"{k}={v}" for k, v in params.items() if v)
        base = str(self.host).rstrip("/")
        return f"{base}/;{tail}" if tail else base


def read_settings(raw: dict[str, Any], where: str | None) -> SparkSettings:
    """Check a target's keys (unknown or misplaced keys are errors naming them) and build the settings."""
    method = str(raw.get("method") or "session")
    if method not in METHODS:
        raise ProjectError(f"spark target: method {method!r} is not one of {', '.join(METHODS)}", where,
                           hint="method: session (a local JVM or a master URL) or method: connect (sc://host:port)")
    allowed = COMMON_KEYS + (SESSION_KEYS if method == "session" else CONNECT_KEYS)
    other = CONNECT_KEYS if method == "session" else SESSION_KEYS
    for key in raw:
        if key in other:
            raise ProjectError(f"spark target: {key!r} applies to method: {'connect' if method == 'session' else 'session'}"
                               f", not method: {method}", where,
                               hint="a Connect server owns its warehouse, master and jars; a session has no host"
                               if method == "connect" else "remove the key, or set method: connect")
        if key not in allowed:
            from pds_adapters.errors import did_you_mean

            raise ProjectError(f"unknown key {key!r} in a spark target (method: {method})", where,
                               hint=did_you_mean(key, allowed) or f"spark targets take: {', '.join(allowed)}")
    file_format = str(raw.get("file_format") or "parquet").lower()
    if file_format not in FILE_FORMATS:
        raise ProjectError(f"spark target: file_format {file_format!r} is not one of {', '.join(FILE_FORMATS)}",
                           where, hint="parquet (append/insert_overwrite only), delta or iceberg (also merge)")
    if method == "connect" and not str(raw.get("host") or "").startswith("sc://"):
        raise ProjectError("spark target: method: connect needs host: sc://host:port", where,
                           hint="e.g. host: sc://127.0.0.1:15002 (the Spark Connect server's address)")
    conf = raw.get("conf") or {}
    if not isinstance(conf, dict):
        raise ProjectError("spark target: conf must be a mapping of Spark settings", where,
                           hint="e.g. conf: {spark.sql.shuffle.partitions: 8}")
    packages = raw.get("packages")
    if packages is not None and not (isinstance(packages, list) and all(isinstance(p, str) for p in packages)):
        raise ProjectError("spark target: packages must be a list of Maven coordinates", where,
                           hint="e.g. packages: [io.delta:delta-spark_4.2_2.13:4.4.0]")
    return SparkSettings(
        method=method, master=str(raw.get("master") or "local[*]"), host=raw.get("host"),
        token=raw.get("token") or None, user=raw.get("user") or None, use_ssl=bool(raw.get("use_ssl", False)),
        connect_timeout=float(raw.get("connect_timeout", 10)), warehouse=_path(raw.get("warehouse")),
        catalog=raw.get("catalog") or None, file_format=file_format, location_root=raw.get("location_root") or None,
        packages=tuple(packages) if packages is not None else None,
        conf={str(k): _conf_value(v) for k, v in conf.items()}, fast_start=bool(raw.get("fast_start", True)),
        cds_archive=bool(raw.get("cds_archive", True)), ui=bool(raw.get("ui", False)))


def resolve_paths(settings: dict[str, Any], project_root: Path) -> None:
    """A local session's warehouse lives inside the project unless the target says otherwise.

    Relative paths are relative to the project, like DuckDB's `path:`; the core calls this hook
    when it loads the target (until it does, a relative path is relative to the working folder).
    """
    if str(settings.get("method") or "session") != "session":
        return
    where = str(settings.get("warehouse") or DEFAULT_WAREHOUSE)
    if "://" not in where and not where.startswith("file:") and not os.path.isabs(where):
        settings["warehouse"] = str(project_root / where)


def _path(value: Any) -> str | None:
    return str(value) if value else None


def _conf_value(value: Any) -> str:
    """Spark settings are strings; YAML booleans become Spark's lower-case spelling."""
    return str(value).lower() if isinstance(value, bool) else str(value)
