"""Project and node configuration: the keys pds knows, their types, and dbt-style inheritance."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from pds_core.dbt_keys import CONFIG_ALIASES, DBT_CONFIG_KEYS, DBT_PROJECT_KEYS
from pds_core.dialects import dialect_errors
from pds_core.engine_config import ENGINE_CONFIG_KEYS
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.not_acted_on import NOT_ACTED_ON, ProjectWarning, warn_not_acted_on
from pds_core.versions import check_dbt_version, check_pds_version
from pds_core.yamlio import merged

PROJECT_FILE = "pds_project.yml"
DBT_PROJECT_FILE = "dbt_project.yml"

# settings only pds reads: in pds_project.yml, or in a pds_project.yml without `name:` beside a
# dbt_project.yml (dbt refuses keys it does not know in its own file)
PDS_ONLY_KEYS: dict[str, tuple[type, ...]] = {
    "dialect": (str,),
    "on_failure": (list, dict, str),
    "on_warn": (list, dict, str),
    "require-pds-version": (str, list),
    "results-schema": (str,),
}
# key -> accepted types; the single list of what pds_project.yml may hold: every dbt key, and pds's own
PROJECT_KEYS: dict[str, tuple[type, ...]] = {**DBT_PROJECT_KEYS, **PDS_ONLY_KEYS}

# config keys a model, seed or test may set (in pds_project.yml, schema YAML or config())
NODE_CONFIG_KEYS: dict[str, tuple[type, ...]] = {
    "materialized": (str,),
    "enabled": (bool,),
    "schema": (str,),
    "database": (str,),
    "alias": (str,),
    "tags": (list, str),
    "meta": (dict,),
    "docs": (dict,),
    "unique_key": (str, list),
    "incremental_strategy": (str,),
    "on_schema_change": (str,),
    "full_refresh": (bool,),
    "column_types": (dict,),
    "delimiter": (str,),
    "quote_columns": (bool,),
    "contract": (dict, str),
    "severity": (str,),
    "where": (str,),
    "warn_if": (str,),
    "error_if": (str,),
    "store_failures": (bool,),
    "limit": (int,), "fail_calc": (str,),  # fail_calc: how a test's failures are counted (quality/runner.py)
    "persist_docs": (dict,), "grants": (dict,),
    "pre_hook": (list, str, dict), "post_hook": (list, str, dict), "packages": (list,),  # hooks.py: pre_hook
    **dict.fromkeys(("location", "format"), (str,)), "partition_by": (str, list),  # the external materialization
    **dict.fromkeys(("options", "parquet_read_options", "csv_read_options", "json_read_options"), (dict,)),
    **ENGINE_CONFIG_KEYS,  # keys only some engines act on (Spark's file_format, ...): engine_config.py
}
# dbt config keys pds does not act on yet: accepted, and named in a warning where they are written
DBT_ONLY_CONFIG_KEYS = frozenset(DBT_CONFIG_KEYS - set(NODE_CONFIG_KEYS) - set(CONFIG_ALIASES))

_KNOWN_HINT = ", ".join(sorted(NODE_CONFIG_KEYS)) + " (and dbt's config keys)"
BOOL_KEYS = ("enabled", "full_refresh", "quote_columns", "store_failures")

MATERIALIZATIONS = ("view", "table", "incremental", "ephemeral", "external")
INCREMENTAL_STRATEGIES = ("append", "merge", "delete+insert", "insert_overwrite")  # a target's: its adapter's


def check_keys(
    data: Mapping[str, Any],
    allowed: Mapping[str, tuple[type, ...]],
    path: Path | str | None,
    what: str,
) -> None:
    """Reject unknown keys (with a did-you-mean) and values of the wrong type, pointing at the line;
    every such key of the mapping is reported, not only the first."""
    errors = key_errors(data, allowed, path, what)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)


def key_errors(data: Mapping[str, Any], allowed: Mapping[str, tuple[type, ...]], path: Path | str | None,
               what: str, unknown_ok: bool = False, line_of: Any = None) -> list[ProjectError]:
    """check_keys' findings as a list (unknown keys left out with unknown_ok), for callers that gather
    the errors of a whole file before reporting them."""
    line_of = line_of or getattr(data, "line_of", lambda _k: None)
    errors = []
    for key, value in data.items():
        if key not in allowed:
            if not unknown_ok:
                errors.append(ProjectError(
                    f"unknown key {key!r} in {what}", path, line_of(key),
                    hint=did_you_mean(str(key), allowed) or f"allowed keys: {', '.join(sorted(allowed))}"))
            continue
        types = allowed[key]
        wrong = value is not None and not isinstance(value, types)
        if wrong or (isinstance(value, bool) and bool not in types):
            names = " or ".join(dict.fromkeys(_type_name(t) for t in types))  # int|float: "a number" once
            errors.append(ProjectError(
                f"{key!r} in {what} must be {names}, got {_type_name(type(value))} ({value!r:.60})",
                path, line_of(key), hint=f"for example  {key}: {_EXAMPLES.get(types[0], '...')}"))
    return errors


_TYPE_NAMES = {str: "a string", int: "a number", float: "a number", bool: "true or false", list: "a list",
               dict: "a mapping"}
_EXAMPLES = {str: "some_text", int: "4", float: "0.5", bool: "true", list: "[a, b]", dict: "{key: value}"}


def _type_name(t: type) -> str:
    """A type as a YAML user thinks of it (the loader's LineDict is 'a mapping', not its class name)."""
    return next((_TYPE_NAMES[base] for base in t.__mro__ if base in _TYPE_NAMES), t.__name__)


def validate_node_config(config: Mapping[str, Any], path: Path | str | None, what: str,
                         strict: bool = True) -> dict[str, Any]:
    """Check a node's config keys and values; returns a plain dict.

    dbt's config keys that pds does not act on are accepted (config_warnings named them where they were
    written); other unknown keys are errors, unless `strict` is off (a dbt project: dbt keeps such keys
    for config.get(), and so does pds, with a warning where they are written).
    """
    line_of = getattr(config, "line_of", lambda _k: None)
    plain = {CONFIG_ALIASES.get(k, k): _as_bool(v) if k in BOOL_KEYS else v for k, v in config.items()}
    errors = key_errors({k: v for k, v in plain.items() if k in NODE_CONFIG_KEYS}, NODE_CONFIG_KEYS, path, what,
                        line_of=line_of)
    if strict:
        errors += [ProjectError(f"unknown key {k!r} in {what}", path, line_of(k),
                                hint=did_you_mean(str(k), NODE_CONFIG_KEYS) or f"allowed keys: {_KNOWN_HINT}")
                   for k in plain if k not in NODE_CONFIG_KEYS and k not in DBT_ONLY_CONFIG_KEYS]
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    config = plain
    mat = config.get("materialized")
    if mat is not None and mat not in MATERIALIZATIONS and mat not in ("seed", "test"):
        raise ProjectError(f"unknown materialization {mat!r} in {what}", path, line_of("materialized"),
                           hint=did_you_mean(mat, MATERIALIZATIONS) or f"use one of {', '.join(MATERIALIZATIONS)}")
    strategy = config.get("incremental_strategy")
    if strategy is not None and strategy not in INCREMENTAL_STRATEGIES:
        raise ProjectError(f"unknown incremental_strategy {strategy!r} in {what}", path,
                           line_of("incremental_strategy"),
                           hint=did_you_mean(strategy, INCREMENTAL_STRATEGIES)
                           or f"use one of {', '.join(INCREMENTAL_STRATEGIES)}")
    severity = config.get("severity")
    if severity is not None and str(severity).lower() not in ("error", "warn"):
        raise ProjectError(f"severity must be 'error' or 'warn', got {severity!r}", path, line_of("severity"))
    return dict(config)


def config_warnings(data: Mapping[str, Any], path: Path | str | None, what: str, strict: bool = True,
                    line: int | None = None, text: str | None = None, line_of: Any = None) -> None:
    """Where config is written (project file, schema YAML, config() in a model), warn about each key pds
    accepts but does not act on: those of not_acted_on.py with their reason, dbt's other config keys,
    and, in a dbt project (not `strict`), keys neither dbt nor pds knows (kept, as dbt keeps them)."""
    warn_not_acted_on(data, path, what, line=line, text=text, line_of=line_of)
    line_of = line_of or getattr(data, "line_of", None)
    for key in data:
        name = CONFIG_ALIASES.get(str(key).lstrip("+"), str(key).lstrip("+"))
        if name in NODE_CONFIG_KEYS or (name in DBT_ONLY_CONFIG_KEYS and name in NOT_ACTED_ON["config"]):
            continue
        if name in DBT_ONLY_CONFIG_KEYS:
            message = f"{key!r} in {what} is a dbt config pds does not act on yet"
        elif not strict:
            message = f"{key!r} in {what} is not a config key dbt or pds knows: it is kept (config.get reads it)"
        else:
            continue
        where = line_of(key) if line_of else line
        warnings.warn(ProjectWarning(message, path, where, hint=did_you_mean(name, NODE_CONFIG_KEYS)
                                     or "remove it to silence this warning"), stacklevel=2)


def _as_bool(value: Any) -> Any:
    """'true'/'false' as a rendered `{{ var(...) }}` may leave them: the boolean they mean."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


@dataclass
class ProjectConfig:
    """The project file (pds_project.yml, or dbt_project.yml with pds's own keys beside it), validated."""

    name: str
    root: Path
    profile: str
    dialect: str | None = None  # None: the target's (a dbt project), else duckdb (the loader fills it in)
    model_paths: list[str] = field(default_factory=lambda: ["models"])
    seed_paths: list[str] = field(default_factory=lambda: ["seeds"])
    test_paths: list[str] = field(default_factory=lambda: ["tests"])
    macro_paths: list[str] = field(default_factory=lambda: ["macros"])
    target_path: str = "target"
    clean_targets: list[str] = field(default_factory=lambda: ["target"])
    vars: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    tests: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)
    results_schema: str = "pds_results"  # not "pds": the template's pds.duckdb has catalog pds
    raw: dict[str, Any] = field(default_factory=dict)
    file: str = PROJECT_FILE  # where it was read from: pds_project.yml or dbt_project.yml
    strict_keys: bool = True  # unknown config keys: errors, or (a dbt project, as dbt) warnings
    analysis_paths: list[str] = field(default_factory=lambda: ["analyses"])
    snapshot_paths: list[str] = field(default_factory=lambda: ["snapshots"])
    docs_paths: list[str] | None = None  # None: every resource path, as dbt
    asset_paths: list[str] = field(default_factory=list)
    packages_install_path: str = "dbt_packages"
    snapshots: dict[str, Any] = field(default_factory=dict)  # the snapshots: config block
    sources: dict[str, Any] = field(default_factory=dict)  # the sources: config block
    dispatch: list[dict[str, Any]] = field(default_factory=list)  # [{macro_namespace, search_order}]
    on_run_start: list[str] = field(default_factory=list)  # unrendered, as dbt keeps them
    on_run_end: list[str] = field(default_factory=list)
    quoting: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)

    @property
    def is_dbt(self) -> bool:
        return self.file == DBT_PROJECT_FILE

    @classmethod
    def from_dict(cls, data: Any, root: Path, file: str = PROJECT_FILE, overlay: Any = None,
                  display: str | None = None, package: bool = False) -> ProjectConfig:
        """Validate the project file; every error is reported at once. `overlay`: pds_project.yml without
        a name beside dbt_project.yml, holding only pds's own settings. `package`: an installed package's
        file (shown as `display`), whose project-level keys dbt itself ignores, so none is warned about."""
        path = display or file
        if not isinstance(data, dict):
            raise ProjectError(f"{file} must be a mapping of keys to values", path, 1,
                               hint="start with 'name: my_project'")
        errors = key_errors(data, PROJECT_KEYS if file == PROJECT_FILE else DBT_PROJECT_KEYS, path, file)
        if file != PROJECT_FILE:
            for error in errors:
                key = error.message.split("'")[1]
                if key in PDS_ONLY_KEYS:
                    error.hint = (f"dbt refuses keys it does not know in {file}: put {key}: in a "
                                  f"{PROJECT_FILE} beside it (without name:), which holds pds's own settings")
        if overlay is not None:
            errors += key_errors(overlay, PDS_ONLY_KEYS, PROJECT_FILE, f"{PROJECT_FILE} beside {file}")
            data = merged(data, overlay)
        errors += _guard(check_pds_version, data.get("require-pds-version"), PROJECT_FILE,
                         data.line_of("require-pds-version"))
        errors += _guard(check_dbt_version, data.get("require-dbt-version"), path, data.line_of("require-dbt-version"))
        if not package:
            warn_not_acted_on(data, path, file, kind="pds_project.yml")
        strict = file == PROJECT_FILE
        if data.get("tests") and data.get("data_tests"):
            errors.append(ProjectError(f"{file} has both tests: and data_tests:", path, data.line_of("tests"),
                                       hint="tests: is the old name of data_tests:; keep one"))
        for old, new in (("source-paths", "model-paths"), ("data-paths", "seed-paths")):  # as dbt 1.11
            if old in data and new in data:
                errors.append(ProjectError(f"{old} and {new} cannot both be defined", path, data.line_of(old),
                                           hint=f"{old} is the old name of {new}; keep {new}"))
        for key in ("models", "seeds", "snapshots", "data_tests", "tests", "sources", "analyses", "unit_tests"):
            if isinstance(data.get(key), Mapping):
                errors += validate_folder_config(data[key], path, key, strict)
        name = data.get("name")
        if not name:
            raise ProjectErrors([*errors, ProjectError(f"{file} has no 'name'", path, 1,
                                                       hint="add 'name: my_project'")])
        if not str(name).isidentifier():
            errors.append(ProjectError(f"project name {name!r} must be a valid identifier (letters, digits, _)",
                                       path, data.line_of("name"), hint="e.g. name: " + re.sub(r"\W", "_", str(name))))
        for key, kinds in PROJECT_KEYS.items():
            if kinds == (list,) and key.endswith(("-paths", "-targets")) and isinstance(data.get(key), list) and \
                    not all(isinstance(item, str) for item in data[key]):
                errors.append(ProjectError(f"{key!r} must be a list of folder names", path, data.line_of(key)))
        dialect = data.get("dialect") or None
        errors.extend(dialect_errors(dialect, PROJECT_FILE, data.line_of("dialect")))
        if errors:
            raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
        target_path = data.get("target-path") or "target"
        return cls(
            name=name, root=root, profile=data.get("profile") or name, dialect=dialect,
            model_paths=list(data.get("model-paths") or data.get("source-paths") or ["models"]),
            seed_paths=list(data.get("seed-paths") or data.get("data-paths") or ["seeds"]),
            test_paths=list(data.get("test-paths") or ["tests"]),
            macro_paths=list(data.get("macro-paths") or ["macros"]),
            target_path=target_path, clean_targets=list(data.get("clean-targets") or [target_path]),
            vars=dict(data.get("vars") or {}), models=data.get("models") or {}, seeds=data.get("seeds") or {},
            tests=data.get("data_tests") or data.get("tests") or {},
            hooks={k: data[k] for k in ("on_failure", "on_warn") if k in data},
            results_schema=data.get("results-schema") or "pds_results", raw=data, file=file, strict_keys=strict,
            analysis_paths=list(data.get("analysis-paths") or ["analyses"]),
            snapshot_paths=list(data.get("snapshot-paths") or ["snapshots"]),
            docs_paths=list(data["docs-paths"]) if data.get("docs-paths") else None,
            asset_paths=list(data.get("asset-paths") or []),
            packages_install_path=data.get("packages-install-path") or "dbt_packages",
            snapshots=data.get("snapshots") or {}, sources=data.get("sources") or {},
            dispatch=list(data.get("dispatch") or []),
            on_run_start=_as_list(data.get("on-run-start")), on_run_end=_as_list(data.get("on-run-end")),
            quoting=dict(data.get("quoting") or {}), flags=dict(data.get("flags") or {}),
        )


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _guard(check: Any, *args: Any) -> list[ProjectError]:
    try:
        check(*args)
    except ProjectError as exc:
        return [exc]
    return []


def folder_config(tree: Mapping[str, Any], project_name: str, parts: list[str],
                  named_only: bool = False) -> dict[str, Any]:
    """dbt-style inherited config: `+key` at each folder level down the node's path applies to it.

    `parts` are the node's folders under its resource path followed by its name, so
    `models: {staging: {+materialized: view}}` applies to models/staging/**. `named_only`: the tree is
    another project's (the root's config for a package's nodes): below its top level, only what is under
    the project's name applies.
    """
    result: dict[str, Any] = {}
    level: Any = tree
    if isinstance(level, Mapping) and isinstance(level.get(project_name), Mapping):
        _apply_level(level, result)
        level = level[project_name]
    elif named_only:
        if isinstance(level, Mapping):
            _apply_level(level, result)
        return result
    for part in [None, *parts]:
        if part is not None:
            level = level.get(part) if isinstance(level, Mapping) else None
            if not isinstance(level, Mapping):
                break
        _apply_level(level, result)
    return result


def _apply_level(level: Mapping[str, Any], result: dict[str, Any]) -> None:
    """One level's config: its `+key`s, and keys whose value is not a mapping (a mapping without `+` is a
    folder, or a package, below it), as dbt reads them."""
    for key, value in level.items():
        if not isinstance(key, str):
            continue
        if key.startswith("+"):
            merge_config(result, {CONFIG_ALIASES.get(key[1:], key[1:]): value})
        elif not isinstance(value, Mapping):
            merge_config(result, {CONFIG_ALIASES.get(key, key): value})


def merge_config(config: dict[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a more specific level of config, as dbt does: tags add up, dicts merge, grants per privilege."""
    for key, value in ((CONFIG_ALIASES.get(k, k), v) for k, v in more.items()):
        old = config.get(key)
        if key in ("pre_hook", "post_hook") and old and value:  # hooks add up, outer levels first (dbt's order)
            config[key] = [*(old if isinstance(old, list) else [old]), *(value if isinstance(value, list) else [value])]
        elif key == "tags" and old and value:
            as_list = lambda v: [v] if isinstance(v, str) else list(v)  # noqa: E731
            config[key] = list(dict.fromkeys([*as_list(old), *as_list(value)]))
        elif key in ("meta", "docs", "contract", "column_types", "grants") and isinstance(old, Mapping) and isinstance(value, Mapping):
            config[key] = import_module("pds_adapters.grants").merge(old, value) if key == "grants" else {**old, **value}
        else:
            config[key] = value
    return config


def validate_folder_config(tree: Any, path: str, what: str, strict: bool = True) -> list[ProjectError]:
    """Check every config key of a models:/seeds:/... tree of the project file; returns the errors, all of
    them, and warns about the keys pds accepts but does not act on."""
    if not isinstance(tree, Mapping):
        return [ProjectError(f"{what} must be a mapping", path, getattr(tree, "line", None))]
    line_of = getattr(tree, "line_of", lambda _k: None)
    applied = {k: v for k, v in tree.items() if isinstance(k, str) and (k.startswith("+") or not isinstance(v, Mapping))}
    config_warnings(applied, path, what, strict, line_of=line_of)
    errors: list[ProjectError] = []
    plain = {k.lstrip("+"): v for k, v in applied.items()}
    try:
        validate_node_config(plain, path, what, strict)
    except ProjectErrors as exc:
        errors += exc.errors
    except ProjectError as exc:
        errors.append(exc)
    for error in errors:  # the key as written (+key or key), and its line
        key = error.message.split("'")[1] if "'" in error.message else ""
        written = next((k for k in applied if k.lstrip("+") in (key, *[a for a, b in CONFIG_ALIASES.items()
                                                                       if b == key])), None)
        if written is not None:
            error.location.line = line_of(written)
            if written.startswith("+") and error.message.startswith("unknown key"):
                error.message = f"unknown config key {written!r} in {what}"
    for key, value in tree.items():
        if isinstance(value, Mapping) and not str(key).startswith("+"):
            errors += validate_folder_config(value, path, f"{what}.{key}", strict)
    return errors
