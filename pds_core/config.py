"""Project and node configuration: the keys pds knows, their types, and dbt-style inheritance."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.errors import ProjectError, did_you_mean
from pds_core.not_acted_on import warn_not_acted_on

PROJECT_FILE = "pds_project.yml"

# key -> accepted types; the single list of what pds_project.yml may hold
PROJECT_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "version": (str, int, float),
    "config-version": (int,),
    "profile": (str,),
    "dialect": (str,),
    "model-paths": (list,),
    "seed-paths": (list,),
    "test-paths": (list,),
    "macro-paths": (list,),
    "target-path": (str,),
    "clean-targets": (list,),
    "vars": (dict,),
    "models": (dict,),
    "seeds": (dict,),
    "tests": (dict,),
    "data_tests": (dict,),
    "sources": (dict,),
    "on_failure": (list, dict, str),
    "on_warn": (list, dict, str),
    "require-pds-version": (str, list),
    "results-schema": (str,),
    "dispatch": (list,),  # adapter.dispatch search orders (pds_core/jinja/packages.py)
    "quoting": (dict,),  # how relation names print in Jinja (api.Relation, relation.render())
}

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
    "limit": (int,),
    "persist_docs": (dict,),
    "grants": (dict,),
    "pre_hook": (list, str),
    "post_hook": (list, str),
    "packages": (list,),
}

MATERIALIZATIONS = ("view", "table", "incremental", "ephemeral")
INCREMENTAL_STRATEGIES = ("append", "merge", "delete+insert")


def check_keys(
    data: Mapping[str, Any],
    allowed: Mapping[str, tuple[type, ...]],
    path: Path | str | None,
    what: str,
) -> None:
    """Reject unknown keys (with a did-you-mean) and values of the wrong type, pointing at the line."""
    line_of = getattr(data, "line_of", lambda _k: None)
    for key, value in data.items():
        if key not in allowed:
            raise ProjectError(
                f"unknown key {key!r} in {what}",
                path,
                line_of(key),
                hint=did_you_mean(str(key), allowed) or f"allowed keys: {', '.join(sorted(allowed))}",
            )
        types = allowed[key]
        wrong = value is not None and not isinstance(value, types)
        if wrong or (isinstance(value, bool) and bool not in types):
            names = " or ".join(_type_name(t) for t in types)
            raise ProjectError(
                f"{key!r} in {what} must be {names}, got {_type_name(type(value))} ({value!r:.60})",
                path,
                line_of(key),
                hint=f"for example  {key}: {_EXAMPLES.get(types[0], '...')}",
            )


_TYPE_NAMES = {str: "a string", int: "a number", float: "a number", bool: "true or false", list: "a list",
               dict: "a mapping"}
_EXAMPLES = {str: "some_text", int: "4", float: "0.5", bool: "true", list: "[a, b]", dict: "{key: value}"}


def _type_name(t: type) -> str:
    """A type as a YAML user thinks of it (the loader's LineDict is 'a mapping', not its class name)."""
    return next((_TYPE_NAMES[base] for base in t.__mro__ if base in _TYPE_NAMES), t.__name__)


def validate_node_config(config: Mapping[str, Any], path: Path | str | None, what: str) -> dict[str, Any]:
    """Check a node's config keys and values; returns a plain dict."""
    check_keys(config, NODE_CONFIG_KEYS, path, what)
    line_of = getattr(config, "line_of", lambda _k: None)
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


@dataclass
class ProjectConfig:
    """pds_project.yml, validated."""

    name: str
    root: Path
    profile: str
    dialect: str | None = None  # the models' SQL dialect; None: the target's (the loader fills it in)
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

    @classmethod
    def from_dict(cls, data: Any, root: Path) -> ProjectConfig:
        path = PROJECT_FILE
        if not isinstance(data, dict):
            raise ProjectError("pds_project.yml must be a mapping of keys to values", path, 1,
                               hint="start with 'name: my_project'")
        check_keys(data, PROJECT_KEYS, path, "pds_project.yml")
        check_pds_version(data.get("require-pds-version"), path, data.line_of("require-pds-version"))
        warn_not_acted_on(data, path, "pds_project.yml", kind="pds_project.yml")
        for key in ("data_tests", "tests"):  # (models: and seeds: are checked by the loader)
            if isinstance(data.get(key), Mapping):
                validate_folder_config(data[key], path, key)
        name = data.get("name")
        if not name:
            raise ProjectError("pds_project.yml has no 'name'", path, 1, hint="add 'name: my_project'")
        if not str(name).isidentifier():
            raise ProjectError(f"project name {name!r} must be a valid identifier (letters, digits, _)", path,
                               data.line_of("name"), hint="e.g. name: " + re.sub(r"\W", "_", str(name)))
        for key in ("model-paths", "seed-paths", "test-paths", "macro-paths", "clean-targets"):
            for item in data.get(key) or []:
                if not isinstance(item, str):
                    raise ProjectError(f"{key!r} must be a list of folder names", path, data.line_of(key))
        from sqlglot.dialects.dialect import Dialect

        dialect = data.get("dialect") or None
        try:
            if dialect is not None:
                Dialect.get_or_raise(dialect)
        except ValueError:
            raise ProjectError(f"unknown SQL dialect {dialect!r}", path, data.line_of("dialect"),
                               hint="use a sqlglot dialect name such as duckdb, postgres, snowflake, bigquery") from None
        return cls(
            name=name,
            root=root,
            profile=data.get("profile") or name,
            dialect=dialect,
            model_paths=list(data.get("model-paths") or ["models"]),
            seed_paths=list(data.get("seed-paths") or ["seeds"]),
            test_paths=list(data.get("test-paths") or ["tests"]),
            macro_paths=list(data.get("macro-paths") or ["macros"]),
            target_path=data.get("target-path") or "target",
            clean_targets=list(data.get("clean-targets") or [data.get("target-path") or "target"]),
            vars=dict(data.get("vars") or {}),
            models=data.get("models") or {},
            seeds=data.get("seeds") or {},
            tests=data.get("data_tests") or data.get("tests") or {},
            hooks={k: data[k] for k in ("on_failure", "on_warn") if k in data},
            results_schema=data.get("results-schema") or "pds_results",
            raw=data,
        )


def check_pds_version(required: Any, path: str, line: int | None) -> None:
    """require-pds-version, as dbt's require-dbt-version: a range (">=0.1,<0.3") or a list of them;
    a bare version means exactly that one. Outside the range, the project does not load."""
    if required is None:
        return
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    items = required if isinstance(required, list) else [required]
    parts = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    wanted = ",".join(f"=={p}" if p[0].isdigit() else p for p in parts)
    try:
        spec = SpecifierSet(wanted)
    except InvalidSpecifier:
        raise ProjectError(f"require-pds-version {required!r} is not a version range", path, line,
                           hint='e.g. require-pds-version: ">=0.1,<0.3" (or a list of such ranges)') from None
    installed = installed_version()
    if not spec.contains(installed, prereleases=True):
        raise ProjectError(f"this project requires pds {wanted}, but pds {installed} is installed", path, line,
                           hint=f"install a pds in that range (pip install 'pds{wanted}'), "
                                "or change require-pds-version in pds_project.yml")


def installed_version() -> str:
    """pds's version as `pds --version` says it (the installed distribution's), else the package's."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pds")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return str(sys.modules["pds_core"].__version__)


def folder_config(tree: Mapping[str, Any], project_name: str, parts: list[str]) -> dict[str, Any]:
    """dbt-style inherited config: `+key` at each folder level down the node's path applies to it.

    `parts` are the node's folders under its resource path followed by its name, so
    `models: {staging: {+materialized: view}}` applies to models/staging/**.
    """
    result: dict[str, Any] = {}
    level: Any = tree
    if isinstance(level, Mapping) and isinstance(level.get(project_name), Mapping):
        _apply_level(level, result)
        level = level[project_name]
    for part in [None, *parts]:
        if part is not None:
            level = level.get(part) if isinstance(level, Mapping) else None
            if not isinstance(level, Mapping):
                break
        _apply_level(level, result)
    return result


def _apply_level(level: Mapping[str, Any], result: dict[str, Any]) -> None:
    for key, value in level.items():
        if not isinstance(key, str):
            continue
        if key.startswith("+"):
            merge_config(result, {key[1:]: value})
        elif key in NODE_CONFIG_KEYS and not isinstance(value, Mapping):
            merge_config(result, {key: value})


def merge_config(config: dict[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a more specific level of config, as dbt does: tags add up, meta merges, the rest replaces."""
    for key, value in more.items():
        old = config.get(key)
        if key == "tags" and old and value:
            as_list = lambda v: [v] if isinstance(v, str) else list(v)  # noqa: E731
            config[key] = list(dict.fromkeys([*as_list(old), *as_list(value)]))
        elif key == "meta" and isinstance(old, Mapping) and isinstance(value, Mapping):
            config[key] = {**old, **value}
        else:
            config[key] = value
    return config


def validate_folder_config(tree: Any, path: str, what: str) -> None:
    """Check every `+key` in a models:/seeds: tree of pds_project.yml."""
    if not isinstance(tree, Mapping):
        raise ProjectError(f"{what} must be a mapping", path)
    plus = {k[1:]: v for k, v in tree.items() if isinstance(k, str) and k.startswith("+")}
    applied = {k: v for k, v in tree.items() if isinstance(k, str) and (k.startswith("+") or (
        k in NODE_CONFIG_KEYS and not isinstance(v, Mapping)))}  # what _apply_level takes from this level
    warn_not_acted_on(applied, path, what, line_of=getattr(tree, "line_of", None))
    if plus:
        line_of = getattr(tree, "line_of", lambda _k: None)
        for key in plus:
            if key not in NODE_CONFIG_KEYS:
                raise ProjectError(f"unknown config key '+{key}' in {what}", path, line_of("+" + key),
                                   hint=did_you_mean(key, NODE_CONFIG_KEYS))
        validate_node_config({k: v for k, v in plus.items()}, path, what)
    for key, value in tree.items():
        if isinstance(value, Mapping) and not str(key).startswith("+"):
            validate_folder_config(value, path, f"{what}.{key}")
