"""The dbt packages whose macros the renderer loads, and the project's `dispatch:` search orders.

The loader fills `Project.packages` with one entry per installed package (dbt_packages/ as `pds deps`
or `dbt deps` leaves it); each needs a `name` (its dbt_project.yml name: the macro namespace), a
`root` folder and its macro files (`macro_files`, relative to `root`), and may carry its `vars`.
Until a loader provides them, they are read here from the install folder, the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pds_core.errors import ProjectError

INSTALL_PATH = "dbt_packages"


@dataclass
class PackageMacros:
    """One installed package as the Jinja side needs it."""

    name: str
    root: Path
    macro_files: list[str] = field(default_factory=list)  # relative to root, posix
    vars: dict[str, Any] = field(default_factory=dict)
    docs_files: list[str] = field(default_factory=list)  # .md files with {% docs %} blocks, relative to root


def walk(root: Path, folders: Iterable[str], suffix: str) -> list[str]:
    """Files ending in `suffix` under the given folders of root, sorted, hidden folders skipped."""
    found: list[str] = []
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
            found += [Path(dirpath, f).relative_to(root).as_posix() for f in filenames
                      if f.endswith(suffix) and not f.startswith(".")]
    return sorted(found)


def read_package(folder: Path) -> PackageMacros | None:
    """A package folder with a dbt_project.yml: its name, macro files, vars and docs files."""
    project_file = folder / "dbt_project.yml"
    if not project_file.is_file():
        return None
    try:
        data = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"cannot read the package's dbt_project.yml: {exc}", str(project_file)) from None
    if not isinstance(data, dict) or not data.get("name"):
        return None
    macro_paths = list(data.get("macro-paths") or ["macros"])
    model_paths = list(data.get("model-paths") or data.get("source-paths") or ["models"])
    return PackageMacros(name=str(data["name"]), root=folder, macro_files=walk(folder, macro_paths, ".sql"),
                         vars=dict(data.get("vars") or {}),
                         docs_files=walk(folder, [*model_paths, *macro_paths, *(data.get("docs-paths") or [])], ".md"))


def discover(root: Path, install_path: str = INSTALL_PATH) -> list[PackageMacros]:
    """The packages installed under the project's packages-install-path (dbt_packages/), by folder name."""
    base = root / install_path
    if not base.is_dir():
        return []
    found = [read_package(folder) for folder in sorted(base.iterdir()) if folder.is_dir()]
    return [p for p in found if p is not None]


def package_macros(project: Any) -> list[PackageMacros]:
    """Project.packages as the loader filled it, else what is installed under dbt_packages/."""
    given = getattr(project, "packages", None)
    if given is None:
        raw = getattr(project.config, "raw", {}) or {}
        return discover(project.root, str(raw.get("packages-install-path") or INSTALL_PATH))
    return [normalize(p) for p in given]


def normalize(entry: Any) -> PackageMacros:
    """Any loader's package entry (a PackageMacros, or an object/mapping with name and root) as PackageMacros."""
    if isinstance(entry, PackageMacros):
        return entry
    get = entry.get if isinstance(entry, Mapping) else lambda k, d=None: getattr(entry, k, d)
    root = Path(get("root"))
    files = get("macro_files") or get("macros")
    if files is None:  # the loader's Package (name, root, config, files listed from the root project): read it
        read = read_package(root)
        if read is None:
            raise ProjectError(f"package {get('name')!r} has no dbt_project.yml", str(root))
        config_vars = getattr(get("config"), "vars", None)  # rendered by the loader, as dbt renders them
        if isinstance(config_vars, Mapping):
            read.vars = dict(config_vars)
        return read
    config = get("config")
    vars = get("vars") or (config.get("vars") if isinstance(config, Mapping) else getattr(config, "vars", None)) or {}
    return PackageMacros(name=str(get("name")), root=root, macro_files=[str(f) for f in files], vars=dict(vars),
                         docs_files=list(get("docs_files") or []))


def dispatch_orders(config: Any) -> dict[str, list[str]]:
    """`dispatch:` of the project file: macro_namespace -> search_order."""
    entries = getattr(config, "dispatch", None)
    if entries is None:
        entries = (getattr(config, "raw", None) or {}).get("dispatch")
    orders: dict[str, list[str]] = {}
    for entry in entries or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("macro_namespace"), str) or \
                not isinstance(entry.get("search_order"), list):
            raise ProjectError("each `dispatch:` entry needs a macro_namespace and a search_order list",
                               hint="dispatch:\n  - macro_namespace: dbt_utils\n    search_order: [my_project, dbt_utils]")
        orders[entry["macro_namespace"]] = [str(p) for p in entry["search_order"]]
    return orders
