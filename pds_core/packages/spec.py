"""packages.yml / dependencies.yml: the packages a project needs, validated and rendered as dbt reads them."""

from __future__ import annotations

import copy
import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.not_acted_on import ProjectWarning
from pds_core.yamlio import load_yaml_file

PACKAGES_FILE = "packages.yml"
DEPENDENCIES_FILE = "dependencies.yml"
LOCK_FILE = "package-lock.yml"

# kind -> the keys an entry of that kind may hold (the first names the kind)
ENTRY_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("local", "name"),
    "git": ("git", "revision", "warn-unpinned", "subdirectory", "name"),
    "package": ("package", "version", "install-prerelease", "name"),
    "tarball": ("tarball", "name"),
    "private": ("private", "provider", "revision", "warn-unpinned", "subdirectory", "name"),
}
KINDS = {"local": "local", "git": "git", "package": "hub", "tarball": "tarball", "private": "private"}


@dataclass
class PackageSpec:
    """One entry of packages.yml: where a package comes from and which versions are wanted."""

    kind: str  # local | git | hub | tarball
    source: str  # the folder, git URL, hub name (org/package) or tarball URL
    versions: list[str] = field(default_factory=list)  # hub: requirements; git: the revision (one)
    subdirectory: str | None = None
    name: str | None = None
    install_prerelease: bool = False
    warn_unpinned: bool = True
    entry: dict[str, Any] = field(default_factory=dict)  # as rendered
    unrendered: dict[str, Any] = field(default_factory=dict)  # as written (kept in package-lock.yml)
    path: str = PACKAGES_FILE
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as dbt serialises it for package-lock.yml's hash (its contract, None left out)."""
        key = {"hub": "package"}.get(self.kind, self.kind)
        data: dict[str, Any] = {key: self.source}
        if self.kind == "hub":
            data["version"] = self.entry.get("version")
            data["install_prerelease"] = self.install_prerelease
        if self.kind == "git":
            for name in ("revision", "subdirectory"):
                if self.entry.get(name) is not None:
                    data[name] = self.entry[name]
            data["warn-unpinned"] = self.entry.get("warn-unpinned")  # dbt keeps this one even when None
        if self.name:
            data["name"] = self.name
        data["unrendered"] = self.unrendered
        return data


def specs_hash(specs: list[PackageSpec]) -> str:
    """package-lock.yml's sha1_hash: the listed packages as dbt hashes them, so a lock `dbt deps` wrote is
    recognised by `pds deps` and the other way round."""
    lines = sorted(json.dumps(spec.to_dict(), sort_keys=True) for spec in specs)
    return hashlib.sha1("\n".join(lines).encode("utf-8")).hexdigest()


def read_package_specs(root: Path, cli_vars: dict[str, Any], strict: bool = True) -> tuple[list[PackageSpec], str]:
    """The packages the project (or a package) at `root` lists, and the file they are listed in.

    packages.yml is rendered (env_var, --vars; secret env vars allowed in git URLs); dependencies.yml is
    not, as in dbt. Both listing packages is an error.
    """
    from pds_core.dbt_project import ValueRenderer

    found = {}
    for name in (PACKAGES_FILE, DEPENDENCIES_FILE):
        if (root / name).is_file():
            data = load_yaml_file(root / name, name)
            if data is not None and not isinstance(data, dict):
                raise ProjectError(f"{name} must be a mapping with a packages: list", name, 1,
                                   hint="packages:\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]")
            found[name] = data or {}
    if all("packages" in found.get(n, {}) for n in (PACKAGES_FILE, DEPENDENCIES_FILE)):
        raise ProjectError(f"packages: is listed in both {PACKAGES_FILE} and {DEPENDENCIES_FILE}", DEPENDENCIES_FILE,
                           found[DEPENDENCIES_FILE].line_of("packages"), hint="keep one list of packages")
    file = DEPENDENCIES_FILE if "packages" in found.get(DEPENDENCIES_FILE, {}) else PACKAGES_FILE
    data = found.get(file, {})
    unknown = [k for k in data if k not in ("packages", "projects")]
    if unknown and strict:
        raise ProjectError(f"unknown key {unknown[0]!r} in {file}", file, data.line_of(unknown[0]),
                           hint="packages.yml holds `packages:`; dependencies.yml `packages:` and `projects:`")
    if "projects" in data:
        warnings.warn(ProjectWarning(f"'projects' in {file} is accepted but not acted on yet: models of other dbt projects "
                            "cannot be referenced", file, data.line_of("projects"),
                            hint="remove it to silence this warning"), stacklevel=2)
    items = data.get("packages") or []
    if not isinstance(items, list):
        raise ProjectError(f"packages: in {file} must be a list", file, data.line_of("packages"))
    unrendered = copy.deepcopy(items)
    renderer = ValueRenderer(cli_vars, secrets_allowed=True) if file == PACKAGES_FILE else None
    specs, errors = [], []
    for i, item in enumerate(items):
        line = items.line_of(i) if hasattr(items, "line_of") else None
        try:
            entry = renderer.render_tree(item, file) if renderer is not None and isinstance(item, dict) else item
            specs.append(_spec(entry, unrendered[i], file, line))
        except ProjectError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    return specs, file


def _spec(entry: Any, unrendered: Any, file: str, line: int | None) -> PackageSpec:
    if not isinstance(entry, dict):
        raise ProjectError("each package must be a mapping such as {package: dbt-labs/dbt_utils, version: 1.3.0}",
                           file, line)
    kind_key = next((k for k in ENTRY_KEYS if k in entry), None)
    if kind_key is None:
        raise ProjectError("a package needs one of local:, git:, package: or tarball:", file, line,
                           hint=did_you_mean(str(next(iter(entry), "")), ENTRY_KEYS) or
                           "e.g. - package: dbt-labs/dbt_utils")
    for key in entry:
        if key not in ENTRY_KEYS[kind_key]:
            raise ProjectError(f"unknown key {key!r} in a {kind_key}: package", file, entry.line_of(key),
                               hint=did_you_mean(str(key), ENTRY_KEYS[kind_key]) or
                               f"a {kind_key}: package takes {', '.join(ENTRY_KEYS[kind_key])}")
    source = entry[kind_key]
    if not isinstance(source, str) or not source:
        raise ProjectError(f"{kind_key}: needs a value", file, entry.line_of(kind_key))
    if kind_key == "private":
        host = {"gitlab": "gitlab.com"}.get(str(entry.get("provider") or "github"), "github.com")
        raise ProjectError(f"private: {source!r} needs a git provider integration (dbt Cloud's), which pds, like "
                           "dbt Core, does not have", file, entry.line_of("private") or line,
                           hint=f"write it as a git: package, e.g. git: \"https://{host}/{source}.git\" "
                                "(your git credentials are used), with its revision:")
    spec = PackageSpec(kind=KINDS[kind_key], source=source, name=entry.get("name"), entry=dict(entry),
                       unrendered=dict(unrendered) if isinstance(unrendered, dict) else {}, path=file, line=line)
    if spec.kind == "hub":
        version = entry.get("version")
        if version is None or version == "" or version == []:
            raise ProjectError(f"package {source!r} needs a version:", file, line,
                               hint='e.g. version: [">=1.0.0", "<2.0.0"] (a hub package is always pinned to a range)')
        spec.versions = [str(v) for v in (version if isinstance(version, list) else [version])]
        spec.install_prerelease = bool(entry.get("install-prerelease"))
        if "/" not in source:
            raise ProjectError(f"hub package {source!r} must be named org/package", file, entry.line_of("package"),
                               hint="e.g. dbt-labs/dbt_utils")
    elif spec.kind == "git":
        spec.versions = [str(entry["revision"])] if entry.get("revision") is not None else []
        spec.subdirectory = entry.get("subdirectory")
        spec.warn_unpinned = entry.get("warn-unpinned") is not False
    elif spec.kind == "tarball" and not spec.name:
        raise ProjectError(f"tarball package {source!r} needs a name:", file, line,
                           hint="name: the package's project name (its dbt_project.yml name:)")
    return spec
