"""Load: a project directory becomes a Project (config, target, vars and its file list)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.config import PROJECT_FILE, ProjectConfig, validate_folder_config
from pds_core.errors import ProjectError, ProjectErrors
from pds_core.profiles import Target, load_target
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

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def target_dir(self) -> Path:
        return self.root / self.config.target_path


def find_project_root(start: Path) -> Path:
    """The folder holding pds_project.yml: the given one or one of its parents."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ProjectError(f"no {PROJECT_FILE} found in {start} or its parents",
                       hint="run inside a project, pass --project-dir, or create one with `pds init NAME`")


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
    """Read pds_project.yml and profiles.yml and list the project's files."""
    from pds_core.render import Renderer

    root = find_project_root(Path(project_dir))
    data = load_yaml_file(root / PROJECT_FILE, PROJECT_FILE)
    config = ProjectConfig.from_dict(data, root)
    validate_folder_config(config.models, PROJECT_FILE, "models")
    validate_folder_config(config.seeds, PROJECT_FILE, "seeds")
    all_vars = {**config.vars, **(vars or {})}
    renderer = Renderer(config.name, all_vars, {})
    tgt = load_target(root, config.profile, target, Path(profiles_dir) if profiles_dir else None,
                      renderer.render_string)
    if config.dialect is None:  # no `dialect:`: the models are written in the target's SQL, sent as written
        config.dialect = target_dialect(tgt.type)
    if tgt.type == "duckdb":
        path = str(tgt.settings.get("path") or f"{config.name}.duckdb")
        if path != ":memory:" and not path.startswith("md:") and not os.path.isabs(path):
            tgt.settings["path"] = str(root / path)
    files = scan_files(root, config)
    check_resource_names(files)
    return Project(root=root, config=config, target=tgt, vars=all_vars, files=files,
                   requested_target=target, profiles_dir=Path(profiles_dir) if profiles_dir else None,
                   cli_vars=dict(vars or {}))


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


def scan_files(root: Path, config: ProjectConfig) -> ProjectFiles:
    """List the project's files in a stable order (sorted), skipping hidden folders."""
    files = ProjectFiles()

    def walk(folders: list[str], suffixes: tuple[str, ...]) -> list[str]:
        found: list[str] = []
        for folder in folders:
            base = root / folder
            if not base.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
                for fname in filenames:
                    if fname.endswith(suffixes) and not fname.startswith("."):
                        found.append(Path(dirpath, fname).relative_to(root).as_posix())
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
    files.schema_yml += [p for p in walk(config.test_paths, (".yml", ".yaml")) if p not in files.schema_yml]
    return files
