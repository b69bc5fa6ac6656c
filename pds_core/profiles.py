"""profiles.yml: where the warehouse is. Looked up in --profiles-dir, the project, then ~/.pds/."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pds_adapters.target import SECRET_KEYS as SECRET_KEYS  # Target lives in the bottom layer (the adapters
from pds_adapters.target import Target as Target  # take it as plain data); re-exported for the core
from pds_adapters.target import is_secret_key as is_secret_key
from pds_core.errors import ProjectError, did_you_mean
from pds_core.yamlio import load_yaml_text, read_text

PROFILES_FILE = "profiles.yml"
SECRET_ENV_PREFIX = "PDS_ENV_SECRET_"  # such env vars: profiles.yml only, redacted everywhere


def env_var(name: str, default: str | None = None) -> str:
    """The env_var() Jinja function: a missing variable without a default is a project error."""
    value = os.environ.get(name)
    if value is not None:
        return value
    if default is not None:
        return str(default)
    raise ProjectError(f"environment variable {name!r} is not set and has no default",
                       hint=f"export {name}=... or write env_var('{name}', 'default')")


def find_profiles(project_root: Path, profiles_dir: Path | None) -> Path | None:
    """The profiles.yml to use, in dbt's order of precedence."""
    candidates = []
    if profiles_dir is not None:
        candidates.append(Path(profiles_dir))
    elif os.environ.get("PDS_PROFILES_DIR"):
        candidates.append(Path(os.environ["PDS_PROFILES_DIR"]))
    else:
        candidates += [project_root, Path.home() / ".pds"]
    for folder in candidates:
        if (folder / PROFILES_FILE).is_file():
            return folder / PROFILES_FILE
    if profiles_dir is not None:
        raise ProjectError(f"no profiles.yml in {profiles_dir}", hint="check --profiles-dir")
    return None


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
    render: Any,
) -> Target:
    """Read the profile's target, rendering env_var()/var() in it; secrets are recorded, never shown."""
    path = find_profiles(project_root, profiles_dir)
    if path is None:
        if target_name not in (None, "dev"):
            raise ProjectError(f"target {target_name!r} requested but no profiles.yml was found",
                               hint="create profiles.yml in the project or ~/.pds/, or pass --profiles-dir")
        return default_target(profile_name, project_root)
    display = path.name if path.parent == project_root else str(path)
    text = read_text(path, display)
    data = load_yaml_text(text, display)
    if not isinstance(data, dict) or profile_name not in data:
        names = list(data) if isinstance(data, dict) else []
        raise ProjectError(f"profile {profile_name!r} not found in {display}", display, 1,
                           hint=did_you_mean(profile_name, names) or
                           f"add a '{profile_name}:' entry, or set 'profile:' in pds_project.yml")
    profile = data[profile_name]
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise ProjectError(f"profile {profile_name!r} needs an 'outputs:' mapping of targets", display,
                           data.line_of(profile_name), hint="see docs/project-reference.md#profilesyml")
    outputs = profile["outputs"]
    name = target_name or profile.get("target") or "dev"
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
        try:
            value = _render_value(value, render)
        except ProjectError as exc:
            exc.location.path, exc.location.line = display, raw.line_of(key)
            raise
        settings[key] = value
        secrets += _secret_values(key, value)
    threads = settings.get("threads", 4)
    if not isinstance(threads, int) or threads < 1:
        raise ProjectError("'threads' must be a positive number", display, raw.line_of("threads"),
                           hint="e.g. threads: 4")
    secrets += [v for k, v in os.environ.items() if k.startswith(SECRET_ENV_PREFIX) and v]
    target = Target(name=name, type=str(settings["type"]), settings=settings, profile_path=display,
                    threads=threads, secrets=secrets)
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
    for key in raw:
        if cls.connection_keys and key not in accepted:
            close = did_you_mean(str(key), accepted)
            raise ProjectError(f"unknown key {key!r} in target {target.name!r} ({target.type})", path,
                               raw.line_of(key), hint=(f"{close} " if close else "") +
                               f"{target.type} targets take: {', '.join(accepted)}")
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


def _render_value(value: Any, render: Any) -> Any:
    """env_var()/var() in a setting, also inside nested mappings and lists (e.g. duckdb `settings:`)."""
    if isinstance(value, str) and "{{" in value:
        return render(value)
    if isinstance(value, dict):
        return {k: _render_value(v, render) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, render) for v in value]
    return value


def _secret_values(key: Any, value: Any) -> list[str]:
    """Values under secret-looking keys, at any depth, so they can be redacted wherever they appear."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _secret_values(k, v)]
    return [str(value)] if is_secret_key(str(key)) and value else []
