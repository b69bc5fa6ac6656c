"""The Jinja context dbt projects and packages expect, minus the macros (macros.py) and the warehouse
calls (adapter_proxy.py, statements.py).

Values that depend on the node being rendered (this, model, config, execute, graph) are read from
the render's Frame (render.py), so one context serves every node and every thread. Reading what
only a connected run can answer (`execute`, `graph`, introspection) while parsing marks the node
`deferred`: it is rendered again at run time with the warehouse (see docs/dbt-compatibility.md).
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import safe_range

from pds_core.errors import ProjectError
from pds_core.jinja.macros import do_return
from pds_core.jinja.node_view import NodeView
from pds_core.not_acted_on import ProjectWarning

SECRET_ENV_PREFIXES = ("PDS_ENV_SECRET_", "DBT_ENV_SECRET_")
DBT_VERSION = "1.11.0"  # the dbt-core whose behaviour pds follows (dbt_version in templates)


def modules() -> dict[str, Any]:
    """`modules`: the Python modules dbt exposes (pytz only where it is installed)."""
    found: dict[str, Any] = {"datetime": datetime, "re": re, "itertools": itertools}
    try:
        import pytz

        found["pytz"] = pytz
    except ImportError:  # pragma: no cover - pandas brings it in most installs
        pass
    return found


class Modules(NodeView):
    """`modules` for one renderer: reading `modules.datetime` marks the render volatile (`datetime.now()`
    differs on every run), so the node is rendered again each run, never replayed from a cache."""

    def __init__(self, mark_volatile: Callable[[], None]) -> None:
        super().__init__(modules())
        self._mark_volatile = mark_volatile

    def __getitem__(self, name: str) -> Any:
        if name == "datetime":
            self._mark_volatile()
        return super().__getitem__(name)


class ExecuteFlag:
    """`execute`: false while parsing (and the node is marked to be rendered again at run time), true then."""

    def __init__(self, live: Callable[[], bool | None]) -> None:
        self._live = live

    def __bool__(self) -> bool:
        return bool(self._live())

    def __eq__(self, other: object) -> bool:
        return bool(self) == other

    def __hash__(self) -> int:
        return hash(bool(self))

    def __str__(self) -> str:
        return str(bool(self))

    __html__ = __str__


class Flags:
    """`flags`: the run's flags by dbt's names (WHICH, FULL_REFRESH, STORE_FAILURES, ...); unknown ones are None."""

    def __init__(self, values: dict[str, Any], on_read: Callable[[], None]) -> None:
        self._values = values
        self._on_read = on_read

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._on_read()
        return self._values.get(name)


class Deferred(dict):  # type: ignore[type-arg]
    """`graph` (or `selected_resources`) while parsing: empty, and reading it marks the node deferred."""

    def __init__(self, on_read: Callable[[], None], shape: dict[str, Any]) -> None:
        super().__init__(shape)
        self._on_read = on_read

    def __getitem__(self, key: Any) -> Any:
        self._on_read()
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._on_read()
        return super().get(key, default)

    def __iter__(self) -> Iterator[Any]:
        self._on_read()
        return super().__iter__()

    def items(self) -> Any:
        self._on_read()
        return super().items()

    def values(self) -> Any:
        self._on_read()
        return super().values()


GRAPH_SHAPE = {"nodes": {}, "sources": {}, "exposures": {}, "metrics": {}, "groups": {}, "semantic_models": {},
               "saved_queries": {}, "unit_tests": {}, "macros": {}}


def target_context(target: Any, database: str | None, secret: Callable[[str], bool]) -> dict[str, Any]:
    """`target`: every setting of the profile's output except secrets, with dbt's names filled in."""
    settings = {k: v for k, v in (getattr(target, "settings", None) or {}).items() if not secret(str(k))}
    out: dict[str, Any] = dict(settings)
    schema = settings.get("schema") or settings.get("dataset") or getattr(target, "schema", None)
    out.update(name=getattr(target, "name", "dev"), target_name=getattr(target, "name", "dev"),
               type=getattr(target, "type", "duckdb"), schema=schema,
               threads=getattr(target, "threads", settings.get("threads", 1)))
    out["database"] = settings.get("database") or settings.get("dbname") or settings.get("project") or database
    if out.get("type") == "bigquery":
        out.setdefault("project", out["database"])
        out.setdefault("dataset", schema)
    if out.get("type") == "postgres":
        out.setdefault("dbname", out["database"])
    profile = getattr(target, "profile_name", None)
    if profile:
        out["profile_name"] = profile
    return out


def scoped_vars(root_vars: Mapping[str, Any], cli_vars: Mapping[str, Any], package: str, root: str,
                package_vars: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The vars a node of `package` sees, as dbt merges them: the package's own dbt_project.yml vars, then
    the root project's (its global ones, then those under `vars: {<package>: ...}`), then --vars."""
    merged: dict[str, Any] = {}
    if package != root and package_vars:
        merged.update(package_vars)
        scoped = package_vars.get(package)
        if isinstance(scoped, Mapping):
            merged.update(scoped)
    merged.update({k: v for k, v in root_vars.items() if k not in cli_vars})
    scoped = root_vars.get(package)
    if isinstance(scoped, Mapping):
        merged.update(scoped)
    merged.update(cli_vars)
    return merged


# ---- plain functions of the context ------------------------------------------------------------
def raise_compiler_error(message: Any, node: Any = None) -> None:
    raise ProjectError(str(message))


def warn(message: Any, node: Any = None) -> str:
    import warnings

    warnings.warn(ProjectWarning(str(message)), stacklevel=2)
    return ""


def raise_not_implemented(message: Any) -> None:
    raise ProjectError(f"not implemented: {message}")


class Exceptions:
    """`exceptions`: raise_compiler_error, warn, and the other raisers dbt's macros call."""

    raise_compiler_error = staticmethod(raise_compiler_error)
    warn = staticmethod(warn)
    raise_not_implemented = staticmethod(raise_not_implemented)

    @staticmethod
    def raise_fail_fast_error(message: Any, node: Any = None) -> None:
        raise ProjectError(str(message))

    @staticmethod
    def column_type_missing(column_names: Any) -> None:
        raise ProjectError(f"contracted models need a data_type for every column; missing: {column_names}")

    @staticmethod
    def raise_database_error(message: Any) -> None:
        raise ProjectError(f"database error: {message}")

    @staticmethod
    def relation_wrong_type(relation: Any, expected_type: Any, model: Any = None) -> None:
        raise ProjectError(f"{relation} is not a {expected_type}")


def tojson(value: Any, default: Any = None, sort_keys: bool = False) -> Any:
    try:
        return json.dumps(value, sort_keys=sort_keys, default=str)
    except (TypeError, ValueError):
        return default


def fromjson(string: str, default: Any = None) -> Any:
    try:
        return json.loads(string)
    except (TypeError, ValueError):
        return default


def toyaml(value: Any, default: Any = None, sort_keys: bool = False) -> Any:
    try:
        return yaml.safe_dump(value, sort_keys=sort_keys)
    except yaml.YAMLError:
        return default


def fromyaml(value: str, default: Any = None) -> Any:
    try:
        return yaml.safe_load(value)
    except (yaml.YAMLError, AttributeError):
        return default


def set_of(value: Any, default: Any = None) -> Any:
    try:
        return set(value)
    except TypeError:
        return default


def set_strict(value: Any) -> set[Any]:
    return set(value)


def zip_of(*args: Any, default: Any = None) -> Any:
    try:
        return zip(*args, strict=False)
    except TypeError:
        return default


def zip_strict(*args: Any) -> Any:
    return zip(*args, strict=False)


def local_md5(value: Any) -> str:
    return hashlib.md5(str(value).encode("utf-8")).hexdigest()


def diff_of_two_dicts(dict_a: Mapping[str, Any], dict_b: Mapping[str, Any]) -> dict[str, list[Any]]:
    """dbt's helper: keys of a whose values are not all in b (case-insensitive)."""
    out: dict[str, list[Any]] = {}
    lower_b = {k.lower(): [str(v).lower() for v in vals] for k, vals in dict_b.items()}
    for key, values in dict_a.items():
        missing = [v for v in values if str(v).lower() not in lower_b.get(key.lower(), [])]
        if missing:
            out[key] = missing
    return out


def try_or_compiler_error(message_if_exception: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except Exception:
        raise ProjectError(message_if_exception) from None


def print_(message: Any) -> str:
    print(message, file=sys.stderr)  # stderr: stdout carries pds's own output (--format json)
    return ""


def log_function(info_sink: Callable[[str], None]) -> Callable[..., str]:
    def log(msg: Any, info: bool = False) -> str:
        if info:
            info_sink(str(msg))
        return ""

    return log


def static_context() -> dict[str, Any]:
    """The part of the context that is the same for every node and every run."""
    return {
        "return": do_return, "exceptions": Exceptions(), "modules": modules(), "tojson": tojson,
        "fromjson": fromjson, "toyaml": toyaml, "fromyaml": fromyaml, "set": set_of, "set_strict": set_strict,
        "zip": zip_of, "zip_strict": zip_strict, "local_md5": local_md5, "diff_of_two_dicts": diff_of_two_dicts,
        "try_or_compiler_error": try_or_compiler_error, "print": print_, "dbt_version": DBT_VERSION,
        "range": safe_range,  # the sandbox's range: at most 100,000 items, as in dbt (a runaway loop is an error)
    }


def env_var_function(record: Callable[[str, str | None], None], in_node: Callable[[], bool]) -> Callable[..., str]:
    """`env_var(name, default)`: a missing variable without a default is an error; secrets only in profiles."""

    def env_var(name: str, default: Any = None) -> str:
        if in_node() and name.startswith(SECRET_ENV_PREFIXES):
            raise ProjectError(f"{name} is a secret: env vars named {' or '.join(p + '*' for p in SECRET_ENV_PREFIXES)} "
                               "can be read only in profiles.yml",
                               hint="models and macros end up in target/ and logs; pass the value to the warehouse "
                                    "through the profile instead")
        value = os.environ.get(name)
        record(name, value)
        if value is not None:
            return value
        if default is not None:
            return str(default)
        raise ProjectError(f"environment variable {name!r} is not set and has no default",
                           hint=f"export {name}=... or write env_var('{name}', 'default')")

    return env_var


def var_function(lookup: Callable[[], Mapping[str, Any]]) -> Callable[..., Any]:
    """`var(name, default)` over the vars the current node sees (scoped_vars)."""

    def var(name: str, default: Any = jinja2.Undefined) -> Any:
        values = lookup()
        if name in values:
            return values[name]
        if default is not jinja2.Undefined:
            return default
        raise ProjectError(f"var {name!r} is not defined",
                           hint=f"set it under 'vars:' in the project file or pass --vars '{{{name}: ...}}'")

    return var
