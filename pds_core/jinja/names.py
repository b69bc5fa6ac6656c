"""Where a node goes: generate_database_name, generate_schema_name and generate_alias_name, as in dbt.

dbt calls the three macros for every model, seed (and snapshot), in that order, with the node's
custom value (config `database`, `schema`, `alias`, else none) and the node itself; a project
overrides them by defining the macro (or a `default__`/`<adapter>__` variant, which dbt's own
dispatch finds first in the root project). Without an override, pds computes dbt's defaults in
Python: `<target_schema>_<custom>` for a custom schema, the node name (`_v<version>`) as alias.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pds_core.errors import ProjectError

COMPONENTS = ("database", "schema", "alias")
_OVERRIDE = re.compile(r"^(?:\w+__)?generate_(database|schema|alias)_name$")


def overridden(root_macros: Iterable[str], dispatch_orders: dict[str, list[str]]) -> set[str]:
    """The components whose generate_*_name the project overrides (a `dispatch:` order for dbt counts)."""
    found = {m.group(1) for name in root_macros if (m := _OVERRIDE.match(name))}
    return set(COMPONENTS) if "dbt" in dispatch_orders else found


def default_names(name: str, version: Any, target_schema: str, target_database: str | None,
                  custom: dict[str, Any]) -> tuple[str | None, str, str]:
    """dbt's default generate_*_name, computed without Jinja."""
    database = custom.get("database") or target_database
    schema = f"{target_schema}_{str(custom['schema']).strip()}" if custom.get("schema") is not None else target_schema
    alias = str(custom["alias"]).strip() if custom.get("alias") else (
        f"{name}_v{str(version).replace('.', '_')}" if version is not None else name)
    return database, schema, alias


def generated_names(call: Callable[[str, Any, Any], Any], node: dict[str, Any], custom: dict[str, Any],
                    which: set[str], defaults: tuple[str | None, str, str], path: str) -> tuple[str | None, str, str]:
    """The three names, the overridden ones by calling the project's macros (dbt's order: database,
    schema, alias; each macro sees the node with the parts found so far)."""
    names = dict(zip(COMPONENTS, defaults, strict=True))
    for component in COMPONENTS:
        if component not in which:
            node[component if component != "alias" else "alias"] = names[component]
            continue
        value = call(f"generate_{component}_name", custom.get(component), node)
        value = str(value).strip() if value is not None else None
        if not value and component != "database":
            raise ProjectError(f"generate_{component}_name returned nothing for {node['resource_type']} "
                               f"{node['name']!r}", path, hint=f"the macro must return the {component} name")
        names[component] = value or None
        node[component] = names[component]
    return names["database"], str(names["schema"]), str(names["alias"])
