"""profiles.yml: where the warehouse is, found where dbt finds it (--profiles-dir, DBT_PROFILES_DIR, the project
or working folder, ~/.dbt/), and read with every key of the dbt adapters' profiles."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from pds_adapters.target import SECRET_KEYS as SECRET_KEYS  # Target lives in the bottom layer (the adapters
from pds_adapters.target import Target as Target  # take it as plain data); re-exported for the core
from pds_adapters.target import is_secret_key as is_secret_key
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.not_acted_on import ProjectWarning
from pds_core.yamlio import load_yaml_text, read_text

PROFILES_FILE = "profiles.yml"
SECRET_ENV_PREFIX = "PDS_ENV_SECRET_"  # such env vars: profiles.yml only, redacted everywhere
SECRET_ENV_PREFIXES = (SECRET_ENV_PREFIX, "DBT_ENV_SECRET_")  # dbt's prefix works the same


def env_var(name: str, default: str | None = None) -> str:
    """The env_var() Jinja function: a missing variable without a default is a project error."""
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is not None:
        return str(default)
    raise ProjectError(f"environment variable {name!r} is not set and has no default",
                       hint=f"export {name}=... or write env_var('{name}', 'default')")


def profile_files(project_root: Path, profiles_dir: Path | None) -> tuple[list[Path], bool]:
    """Where profiles.yml is looked for, in order, and whether that place was named explicitly.

    As dbt: --profiles-dir, else DBT_PROFILES_DIR (PDS_PROFILES_DIR first), else the usual places: the
    project folder, the working directory, ~/.dbt/ and ~/.pds/ (the first that defines the profile).
    """
    if profiles_dir is not None:
        return [Path(profiles_dir) / PROFILES_FILE], True
    for env in ("PDS_PROFILES_DIR", "DBT_PROFILES_DIR"):
        if os.environ.get(env):
            return [Path(os.environ[env]).expanduser() / PROFILES_FILE], True
    folders = [project_root, Path.cwd(), Path.home() / ".dbt", Path.home() / ".pds"]
    unique = list(dict.fromkeys(f.resolve() for f in folders))
    return [f / PROFILES_FILE for f in unique], False


def find_profiles(project_root: Path, profiles_dir: Path | None, profile_name: str | None = None) -> Path | None:
    """The profiles.yml to use: the named one, else the first of the usual places that defines the profile
    (else the first that exists, so that the error names it)."""
    files, explicit = profile_files(project_root, profiles_dir)
    if explicit:
        if not files[0].is_file():
            where = "--profiles-dir" if profiles_dir is not None else "the *_PROFILES_DIR environment variable"
            raise ProjectError(f"no profiles.yml in {files[0].parent}", hint=f"check {where}")
        return files[0]
    existing = [f for f in files if f.is_file()]
    for path in existing:
        if profile_name is None or _defines(path, profile_name):
            return path
    return existing[0] if existing else None


def _defines(path: Path, profile_name: str) -> bool:
    try:
        data = load_yaml_text(read_text(path), str(path))
    except ProjectError:
        return True  # a broken file is reported when it is read
    return isinstance(data, dict) and profile_name in data


def default_target(project_name: str, project_root: Path) -> Target:
    """With no profiles.yml anywhere, build on a DuckDB file inside the project."""
    return Target(name="dev", type="duckdb",
                  settings={"type": "duckdb", "path": str(project_root / f"{project_name}.duckdb"),
                            "schema": "main"})


def load_target(
    project_root: Path,
    profile_name: str,
    target_name: str | None,
    profiles_dir: Path | None,
    cli_vars: dict[str, Any] | None = None,
    project_file: str = "pds_project.yml",
) -> Target:
    """Read the profile's target, rendering env_var()/var() in it as dbt does (natively, --vars only);
    secrets are recorded, never shown."""
    from pds_core.dbt_project import ValueRenderer

    path = find_profiles(project_root, profiles_dir, profile_name)
    if path is None:
        if target_name not in (None, "dev"):
            raise ProjectError(f"target {target_name!r} requested but no profiles.yml was found",
                               hint="create profiles.yml in the project or ~/.dbt/, or pass --profiles-dir")
        return default_target(profile_name, project_root)
    display = path.name if path.parent == project_root.resolve() or path.parent == project_root else str(path)
    text = read_text(path, display)
    data = load_yaml_text(text, display)
    if not isinstance(data, dict) or profile_name not in data:
        names = [n for n in data if n != "config"] if isinstance(data, dict) else []
        raise ProjectError(f"profile {profile_name!r} not found in {display}", display, 1,
                           hint=did_you_mean(profile_name, names) or
                           f"add a '{profile_name}:' entry, or set 'profile:' in {project_file}")
    profile = data[profile_name]
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise ProjectError(f"profile {profile_name!r} needs an 'outputs:' mapping of targets", display,
                           data.line_of(profile_name), hint="see docs/project-reference.md#profilesyml")
    renderer = ValueRenderer(dict(cli_vars or {}), secrets_allowed=True)
    outputs = profile["outputs"]
    name = target_name or renderer.render(profile.get("target"), display, profile.line_of("target")) or "dev"
    if name not in outputs:
        raise ProjectError(f"target {name!r} not found in profile {profile_name!r}", display,
                           profile.line_of("target") if target_name is None else outputs.line,
                           hint=did_you_mean(name, outputs) or f"targets defined: {', '.join(outputs)}")
    raw = outputs[name]
    if not isinstance(raw, dict) or not raw.get("type"):
        raise ProjectError(f"target {name!r} needs a 'type:' (duckdb, postgres, snowflake, bigquery)",
                           display, outputs.line_of(name), hint="e.g. type: duckdb")
    settings: dict[str, Any] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        settings[key] = renderer.render_tree(value, display) if isinstance(value, dict | list) \
            else renderer.render(value, display, raw.line_of(key))
        secrets += _secret_values(key, settings[key])
    threads = settings.get("threads", 4)
    if isinstance(threads, str) and threads.strip().isdigit():
        threads = settings["threads"] = int(threads)
    if not isinstance(threads, int) or threads < 1:
        raise ProjectError("'threads' must be a positive number", display, raw.line_of("threads"),
                           hint="e.g. threads: 4")
    secrets += renderer.secrets
    secrets += [v for k, v in os.environ.items() if k.startswith(SECRET_ENV_PREFIXES) and v]
    port = settings.get("port")
    if isinstance(port, str) and port.strip().isdigit():  # env_var() gives text; dbt reads it as a number
        port = settings["port"] = int(port)
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise ProjectError(f"'port' of target {name!r} must be a port number, got {port!r}", display,
                           raw.line_of("port"), hint="e.g. port: 5432")
    target = Target(name=name, type=str(settings["type"]), settings=settings, profile_path=display,
                    profile_line=outputs.line_of(name), threads=threads, secrets=secrets)
    check_target(target, raw, outputs.line_of(name))
    return target


def check_target(target: Target, raw: Any, line: int | None) -> None:
    """The target's keys and values as its adapter accepts them, checked now, so that every error about
    profiles.yml names the file and the line: the key's own, else the target's.

    The adapter's own checks run here too (its constructor connects to nothing); their errors get
    the line they lack.
    """
    from pds_adapters import adapter_class

    path = target.profile_path
    try:
        cls = adapter_class(target.type)
    except ProjectError as exc:
        _locate(exc, path, raw.line_of("type"))
        raise
    accepted = list(dict.fromkeys(["type", "threads", *cls.connection_keys]))
    known = [*accepted, *cls.key_aliases, *cls.keys_not_acted_on]
    errors = []
    for key in raw:
        if cls.connection_keys and key not in known:
            close = did_you_mean(str(key), known)
            errors.append(ProjectError(f"unknown key {key!r} in target {target.name!r} ({target.type})", path,
                                       raw.line_of(key), hint=(f"{close} " if close else "") +
                                       f"{target.type} targets take: {', '.join(accepted)}" +
                                       (f" (and dbt-{target.type}'s other keys)" if cls.keys_not_acted_on else "")))
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    for key, reason in cls.keys_not_acted_on.items():
        if key in raw:
            warnings.warn(ProjectWarning(f"{key!r} in target {target.name!r} is accepted but not acted on yet: "
                                         f"{reason}", path, raw.line_of(key),
                                         hint="remove it to silence this warning"), stacklevel=2)
    for alias, key in cls.key_aliases.items():  # dbt's name for a setting: pds's, unless both are given
        if alias in target.settings and key not in target.settings:
            target.settings[key] = target.settings[alias]
    if target.type == "duckdb":
        _check_duckdb_path(target, raw)
    missing = [k for k in cls.required_keys if not target.settings.get(k)]
    if missing:
        raise ProjectError(f"target {target.name!r} ({target.type}) is missing {', '.join(missing)}", path, line,
                           hint=f"{target.type} targets need: {', '.join(cls.required_keys)} "
                                "(see docs/adapters.md)")
    try:
        cls(target)
    except ProjectError as exc:
        named = [k for k in raw if isinstance(k, str) and re.search(rf"\b{re.escape(k)}\b", exc.message)]
        _locate(exc, path, raw.line_of(named[0]) if named else line)
        raise


def _locate(exc: ProjectError, path: str | None, line: int | None) -> None:
    """Give an error about the target the file and line it lacks."""
    if exc.location.line is None and exc.location.path in (None, path):
        exc.location.path, exc.location.line = path, line


def _check_duckdb_path(target: Target, raw: Any) -> None:
    """MotherDuck (md:, motherduck:) is out of pds's scope: say so rather than fail later."""
    path = str(target.settings.get("path") or "")
    if path.lower().startswith(("md:", "motherduck:")):
        raise ProjectError(f"target {target.name!r}: MotherDuck paths ({path.split('?')[0]}) are not supported by pds",
                           target.profile_path, raw.line_of("path"),
                           hint="build on a local DuckDB file (path: my.duckdb) or another warehouse")


def resolve_duckdb_path(target: Target, project_root: Path, project_name: str, dbt: bool, target_dir: Path) -> None:
    """A relative DuckDB `path` as the project's tool resolves it: dbt-duckdb opens it relative to the working
    directory (so does pds for a dbt project), a pds project relative to the project folder. No path: dbt-duckdb
    builds in memory; a pds project in <name>.duckdb in the project. A missing folder is an error, except the
    project's target-path, which dbt makes before it connects (so `path: target/dev.duckdb` works on a clone)."""
    settings = target.settings
    if not settings.get("path"):
        settings["path"] = ":memory:" if dbt else f"{project_name}.duckdb"
    path = str(settings.get("path") or "")
    if path and path != ":memory:" and not os.path.isabs(path):
        settings["path"] = str((Path.cwd() if dbt else project_root) / Path(path).expanduser())
    folder = Path(str(settings["path"])).parent
    if settings["path"] == ":memory:" or "://" in str(settings["path"]) or folder.is_dir():
        return
    if folder.resolve() == target_dir.resolve():  # dbt makes target-path before it connects: path: target/x.duckdb
        folder.mkdir(parents=True, exist_ok=True)
    else:
        raise ProjectError(f"the folder {folder} of the DuckDB path of target {target.name!r} does not exist",
                           target.profile_path, target.profile_line,
                           hint=f"create it (mkdir -p {folder}) or change path: in the target")


def _secret_values(key: Any, value: Any) -> list[str]:
    """Values under secret-looking keys, at any depth, so they can be redacted wherever they appear."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _secret_values(k, v)]
    return [str(value)] if is_secret_key(str(key)) and value else []
