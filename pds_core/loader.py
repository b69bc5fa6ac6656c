"""Load: a project directory becomes a Project (config, target, vars and its file list)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.config import DBT_PROJECT_FILE, ProjectConfig
from pds_core.dbt_project import find_project_root as find_project
from pds_core.dbt_project import profile_name, read_project_file, render_project
from pds_core.errors import ProjectError, ProjectErrors
from pds_core.not_acted_on import NOT_ACTED_ON, ProjectWarning
from pds_core.profiles import Target, load_target, resolve_duckdb_path
from pds_core.yamlio import load_yaml_file, load_yaml_text


@dataclass
class ProjectFiles:
    """Every file of the project that pds reads, as paths relative to the root (posix)."""

    models_sql: list[str] = field(default_factory=list)
    models_py: list[str] = field(default_factory=list)
    schema_yml: list[str] = field(default_factory=list)
    seeds: list[str] = field(default_factory=list)
    macros: list[str] = field(default_factory=list)
    tests_sql: list[str] = field(default_factory=list)
    tests_py: list[str] = field(default_factory=list)
    analyses: list[str] = field(default_factory=list)  # analysis-paths/**/*.sql (compiled by dbt, never run)
    snapshots: list[str] = field(default_factory=list)  # snapshot-paths/**/*.sql ({% snapshot %} blocks)
    docs: list[str] = field(default_factory=list)  # docs-paths/**/*.md ({% docs %} blocks)


@dataclass
class Package:
    """An installed dbt package (packages-install-path/<dir>), loaded like the root project.

    Its files are listed relative to the ROOT project (e.g. dbt_packages/dbt_utils/macros/sql/x.sql), so
    they are read and reported like the project's own; its macros belong to the namespace `name`.
    """

    name: str  # the package's project name (its dbt_project.yml `name:`), the macro namespace
    root: Path  # its folder (as installed: a local package may be a symlink)
    config: ProjectConfig  # its own dbt_project.yml, rendered; the root project's config overrides it
    files: ProjectFiles


@dataclass
class Project:
    """A loaded project: what every later stage starts from."""

    root: Path
    config: ProjectConfig
    target: Target
    vars: dict[str, Any]
    files: ProjectFiles
    # how it was loaded, so that `pds retry` can load it again for the last run's target
    requested_target: str | None = None  # the target the caller named (None: the profile's default)
    profiles_dir: Path | None = None
    cli_vars: dict[str, Any] = field(default_factory=dict)
    packages: list[Package] = field(default_factory=list)  # installed packages, by name

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def target_dir(self) -> Path:
        return self.root / self.config.target_path

    def all_projects(self) -> list[Package]:
        """The root project (first) and the installed packages, each with its name, config and files."""
        return [Package(self.name, self.root, self.config, self.files), *self.packages]


def find_project_root(start: Path) -> Path:
    """The folder holding the project file (pds_project.yml or dbt_project.yml): the given one or a parent."""
    return find_project(start)[0]


def parse_cli_vars(text: str | None) -> dict[str, Any]:
    """--vars takes YAML (or JSON): '{key: value}'."""
    if not text:
        return {}
    data = load_yaml_text(text, "--vars")
    if not isinstance(data, dict):
        raise ProjectError("--vars must be a mapping", hint="e.g. --vars '{run_date: 2024-01-01}'")
    return dict(data)


def load_project(
    project_dir: Path | str = ".",
    target: str | None = None,
    profiles_dir: Path | str | None = None,
    vars: dict[str, Any] | None = None,
) -> Project:
    """Read the project file (rendered as dbt renders it), profiles.yml and the installed packages, and
    list the files of the project and of each package."""
    root, file = find_project(Path(project_dir))
    data, overlay = read_project_file(root, file)
    cli_vars = dict(vars or {})
    name = data.get("name") if isinstance(data, dict) else None
    profile = profile_name(data, cli_vars, file) or str(name or "default")
    tgt = load_target(root, profile, target, Path(profiles_dir) if profiles_dir else None, cli_vars, file)
    if isinstance(data, dict):
        render_project(data, cli_vars, target_context(tgt, profile), file)
    config = ProjectConfig.from_dict(data, root, file, overlay)
    if config.dialect is None:  # a dbt project is written in its target's SQL (sent as written); pds's: DuckDB's
        config.dialect = target_dialect(tgt.type) if config.is_dbt else "duckdb"
    if tgt.type == "duckdb":
        resolve_duckdb_path(tgt, root, config.name, config.is_dbt and tgt.profile_path is not None,
                            root / config.target_path)
    resolve_target_paths(tgt, root)
    files = scan_files(root, config)
    check_resource_names(files)
    warn_files_not_built(files)
    packages = load_packages(root, config, cli_vars, target_context(tgt, profile))
    return Project(root=root, config=config, target=tgt, vars={**config.vars, **cli_vars}, files=files,
                   requested_target=target, profiles_dir=Path(profiles_dir) if profiles_dir else None,
                   cli_vars=cli_vars, packages=packages)


def target_context(target: Target, profile: str) -> dict[str, Any]:
    """`target` as the project file sees it while rendering (no secrets)."""
    settings = target.redacted()
    return {**settings, "name": target.name, "type": target.type, "schema": target.schema,
            "threads": target.threads, "profile_name": profile}


def warn_files_not_built(files: ProjectFiles) -> None:
    """Files of kinds pds does not build yet (not_acted_on.py's "files"): one warning per kind, naming one."""
    for kind, reason in NOT_ACTED_ON["files"].items():
        paths = getattr(files, kind)
        if paths:
            more = f" (this one and {len(paths) - 1} more)" if len(paths) > 1 else ""
            warnings.warn(ProjectWarning(f"{reason}{more}", paths[0], None,
                                         hint="pds leaves these files alone; docs/dbt-compatibility.md"), stacklevel=2)


def resolve_target_paths(target: Target, root: Path) -> None:
    """The adapter's own relative paths (Spark's local warehouse) become relative to the project. A
    target whose adapter is not installed is reported where it is first used, not here."""
    from pds_adapters import adapter_class

    try:
        found = adapter_class(target.type)
    except ProjectError:
        return
    found.resolve_paths(target.settings, root)


def target_dialect(target_type: str) -> str:
    """The sqlglot dialect of a target type (its adapter's; the type's own name if no adapter is installed)."""
    from pds_adapters import adapter_class

    try:
        return adapter_class(target_type).dialect
    except ProjectError:
        return target_type


def check_resource_names(files: ProjectFiles) -> None:
    """A model, seed or singular test is named by its file, and a name with a space could not be
    selected (`-s` splits on spaces): such files are refused, all at once, as dbt 1.11 refuses them."""
    kinds = [("model", files.models_sql + files.models_py), ("seed", files.seeds), ("test", files.tests_sql)]
    errors = [ProjectError(f"resource names cannot contain spaces: {kind} {Path(path).stem!r}", path,
                           hint=f"rename the file to {Path(path).with_name(Path(path).name.replace(' ', '_')).as_posix()}")
              for kind, paths in kinds for path in paths if " " in Path(path).stem]
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)


def load_packages(root: Path, config: ProjectConfig, cli_vars: dict[str, Any], target: dict[str, Any]) -> list[Package]:
    """The packages installed in packages-install-path (by `pds deps` or `dbt deps`), each with its own
    dbt_project.yml rendered as dbt renders it; fewer installed than packages.yml lists is an error, as in dbt."""
    from pds_core.packages.spec import read_package_specs

    folder = root / config.packages_install_path
    found = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("__", "."))) \
        if folder.is_dir() else []
    specs, spec_file = read_package_specs(root, cli_vars)
    if len(specs) > len(found):
        raise ProjectError(f"{spec_file} lists {len(specs)} package(s), but {len(found)} are installed in "
                           f"{config.packages_install_path}/", spec_file, 1,
                           hint="run `pds deps` (or `dbt deps`) to install them")
    packages: list[Package] = []
    for path in found:
        rel = path.relative_to(root).as_posix()
        display = f"{rel}/{DBT_PROJECT_FILE}"
        if not (path / DBT_PROJECT_FILE).is_file():
            raise ProjectError(f"{rel} has no {DBT_PROJECT_FILE}", rel,
                               hint=f"{config.packages_install_path}/ holds installed packages only: "
                                    "run `pds deps` again, or remove the folder")
        data = load_yaml_file(path / DBT_PROJECT_FILE, display)
        if isinstance(data, dict):
            render_project(data, cli_vars, target, display)
        pkg_config = ProjectConfig.from_dict(data, path, DBT_PROJECT_FILE, display=display, package=True)
        if pkg_config.name == config.name or pkg_config.name in {p.name for p in packages}:
            raise ProjectError(f"two projects are named {pkg_config.name!r}: {display} and another",
                               display, data.line_of("name"), hint="each installed package needs its own name")
        files = scan_files(path, pkg_config, prefix=rel)
        packages.append(Package(pkg_config.name, path, pkg_config, files))
    return packages


def scan_files(root: Path, config: ProjectConfig, prefix: str = "") -> ProjectFiles:
    """List the project's files in a stable order (sorted), skipping hidden folders; paths are relative to
    `root`, under `prefix` (a package's folder relative to the root project)."""
    files = ProjectFiles()

    def walk(folders: list[str], suffixes: tuple[str, ...]) -> list[str]:
        found: list[str] = []
        for folder in folders:
            base = root / folder
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
                rel = (Path(prefix) / Path(dirpath).relative_to(root)).as_posix()  # once per folder, not per file
                head = "" if rel == "." else rel + "/"
                found.extend(head + fname for fname in filenames
                             if fname.endswith(suffixes) and not fname.startswith("."))
        return sorted(found)

    files.models_sql = walk(config.model_paths, (".sql",))
    files.models_py = walk(config.model_paths, (".py",))
    files.schema_yml = walk(config.model_paths + config.seed_paths, (".yml", ".yaml"))
    files.seeds = walk(config.seed_paths, (".csv",))
    files.macros = walk(config.macro_paths, (".sql",))
    test_sql = walk(config.test_paths, (".sql",))
    files.tests_sql = [p for p in test_sql if "/generic/" not in p and "/fixtures/" not in p]  # unit test fixtures
    files.macros += [p for p in test_sql if "/generic/" in p]
    files.tests_py = walk(config.test_paths, (".py",))
    more_yml = config.test_paths + config.snapshot_paths + config.analysis_paths + config.macro_paths
    files.schema_yml += [p for p in walk(more_yml, (".yml", ".yaml")) if p not in files.schema_yml]
    files.analyses = walk(config.analysis_paths, (".sql",))
    files.snapshots = walk(config.snapshot_paths, (".sql",))
    docs_paths = config.docs_paths or list(dict.fromkeys(
        config.model_paths + config.seed_paths + config.snapshot_paths + config.analysis_paths + config.macro_paths
        + config.test_paths))
    files.docs = walk(docs_paths, (".md",))
    return files
