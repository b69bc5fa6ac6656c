"""Generic tests named as dbt names them, so that selectors, CI scripts and results carry over from dbt.

A test declared in schema YAML gets dbt-core 1.11's name (`not_null_orders_id`,
`accepted_values_orders_status__placed__shipped`), its unique id `test.<package>.<name>.<hash>` (the
last 10 characters of an md5 over the name and the test's metadata), and, when the name is 64
characters or more, dbt's short alias (`<first 30 characters>_<md5 of the name>`) where a relation
or file is named after it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pds_core.errors import ProjectError

# keys of a test entry that are config, not arguments (dbt's TestBuilder.CONFIG_ARGS)
CONFIG_ARGS = ("severity", "tags", "enabled", "where", "limit", "warn_if", "error_if", "fail_calc", "store_failures",
               "store_failures_as", "meta", "database", "schema", "alias")
_NAME = re.compile(r"^(?:(?P<namespace>[A-Za-z_][0-9A-Za-z_]*)\.)?(?P<name>[A-Za-z_][0-9A-Za-z_]*)$")
_USAGE_HINT = "e.g. - accepted_values: {arguments: {values: [a, b]}}"


@dataclass
class TestEntry:
    """One item of a data_tests: list, taken apart as dbt takes it apart."""

    __test__ = False

    written: str  # the test as named in YAML: not_null, dbt_utils.expression_is_true
    namespace: str | None  # dbt_utils in dbt_utils.expression_is_true
    name: str  # expression_is_true
    args: dict[str, Any]  # the macro's arguments (`arguments:` merged in), column_name included
    config: dict[str, Any]  # config: plus the config keys written beside the arguments
    custom_name: str | None = None
    description: str = ""


def split_entry(entry: Any, path: str, line: int | None, column: str | None) -> TestEntry:
    """A data_tests: item -> its parts. dbt's shapes: `not_null`, `{unique: {config: ...}}`,
    `{accepted_values: {arguments: {values: [...]}, config: {...}}}` and `{test_name: ..., name: ...}`."""
    if isinstance(entry, str):
        written, body = entry, {}
    elif isinstance(entry, dict) and "test_name" in entry:
        body = dict(entry)
        written = body.pop("test_name")
    elif isinstance(entry, dict) and len(entry) == 1:
        (written, body), = entry.items()
        body = {} if body is None else body
    else:
        raise ProjectError("each test must be a name (not_null) or a mapping with one key (accepted_values: {...})",
                           path, line, hint=_USAGE_HINT)
    if not isinstance(written, str) or not isinstance(body, dict):
        raise ProjectError(f"the arguments of test {written!r} must be a mapping", path, line, hint=_USAGE_HINT)
    match = _NAME.match(written)
    if match is None:
        raise ProjectError(f"{written!r} is not a test name (name or package.name)", path, line)
    body = dict(body)
    custom = body.pop("name", None)
    description = body.pop("description", None)
    config = dict(body.pop("config", None) or {})
    for key in CONFIG_ARGS:
        if key in body:
            if key in config:
                raise ProjectError(f"test {written!r} sets {key!r} twice: beside its arguments and under config:",
                                   path, line, hint=f"keep {key}: under config:")
            config[key] = body.pop(key)
    arguments = body.pop("arguments", None)
    if arguments is not None and not isinstance(arguments, dict):
        raise ProjectError(f"arguments: of test {written!r} must be a mapping", path, line, hint=_USAGE_HINT)
    args = {**body, **(arguments or {})}
    if column is not None:
        args["column_name"] = column
    if "model" in args:
        raise ProjectError(f"test {written!r} cannot take an argument named 'model'", path, line,
                           hint="the model is the node the test is declared on")
    return TestEntry(written, match["namespace"], match["name"], args, config, str(custom) if custom else None,
                     str(description or config.pop("description", "") or ""))


def dbt_names(entry: TestEntry, target: str, kind: str, source: tuple[str, str] | None = None,
              version: Any = None) -> tuple[str, str, str]:
    """(name, alias, hash) of a generic test as dbt 1.11 makes them.

    `target` is the node's name (for a source table: `<source>_<table>`), `kind` its resource type;
    `version` a model version the test is declared on.
    """
    if entry.custom_name:
        name = alias = entry.custom_name
    else:
        test_type = ("source_" if kind == "source" else "") + entry.name
        if entry.namespace:
            test_type = f"{entry.namespace}_{test_type}"
        name, alias = synthesize(test_type, target if version is None else f"{target}_v{version}", entry.args)
    if source is not None:
        model = f"source('{source[0]}', '{source[1]}')"
    elif version is not None:
        model = f"ref('{target}', version='{version}')"
    else:
        model = f"ref('{target}')"
    metadata = {"namespace": entry.namespace, "name": entry.name,
                "kwargs": {**entry.args, "model": f"{{{{ get_where_subquery({model}) }}}}"}}
    digest = hashlib.md5((name + repr(_hashable(metadata))).encode("utf-8")).hexdigest()
    return name, alias, digest[-10:]


def synthesize(test_type: str, target: str, args: dict[str, Any]) -> tuple[str, str]:
    """dbt's synthesize_generic_test_names: the full name and, past 63 characters, the hashed short one."""
    flat: list[str] = []
    for key in sorted(args):
        if key == "model":
            continue
        value = args[key]
        parts = list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, list | tuple) \
            else [value]
        flat += [_text(p) for p in parts]
    unique = "__".join(re.sub("[^0-9a-zA-Z_]+", "_", p) for p in flat)
    identifier = f"{test_type}_{target}"
    full = f"{identifier}_{unique}"
    if len(full) >= 64:
        return full, f"{identifier[:30]}_{hashlib.md5(full.encode('utf-8')).hexdigest()}"
    return full, full


def _text(value: Any) -> str:
    """str() as Python gives it, as dbt flattens arguments (True, None, 1.5, nested lists as repr)."""
    return str(value)


def _hashable(data: Any) -> Any:
    """dbt's get_hashable_md: mappings sorted by key, lists kept, everything else as str()."""
    if isinstance(data, dict):
        return {k: _hashable(data[k]) for k in sorted(data)}
    if isinstance(data, list):
        return [_hashable(v) for v in data]
    return str(data)
