"""The project file as dbt reads it: found (pds_project.yml, else dbt_project.yml), merged with pds's own
settings beside a dbt_project.yml, and its values rendered with Jinja the way dbt renders them.

dbt renders every value of dbt_project.yml natively (`"{{ var('x', false) }}"` becomes the boolean
false, `"{{ env_var('ROOT', '.') }}/target"` the path ./target) with env_var(), var() (the --vars
only: project vars are not defined yet) and target; it leaves unrendered what runs later: on-run-*
hooks, query-comment, vars and the pre/post hooks of the config blocks. pds does the same, and also
leaves its webhooks (on_failure, on_warn) for send time, when their secrets are read.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pds_core.config import DBT_PROJECT_FILE, PROJECT_FILE
from pds_core.errors import ProjectError
from pds_core.not_acted_on import ProjectWarning
from pds_core.yamlio import LineDict, LineList, load_yaml_file

if TYPE_CHECKING:  # Jinja loads when a value holds {{ }}: most project files need none (start-up, issue 17)
    import jinja2

SECRET_PREFIXES = ("PDS_ENV_SECRET_", "DBT_ENV_SECRET_")  # env vars readable only in profiles.yml
_UNRENDERED = {"on-run-start", "on-run-end", "query-comment", "vars", "on_failure", "on_warn"}
_HOOKS = {"pre-hook", "post-hook", "pre_hook", "post_hook"}


def find_project_root(start: Path) -> tuple[Path, str]:
    """The folder holding the project file (the given one or a parent) and the file's name:
    pds_project.yml, else dbt_project.yml. A pds_project.yml without `name:` beside a dbt_project.yml
    only adds pds's settings to it."""
    start = start.resolve()
    for folder in (start, *start.parents):
        pds, dbt = folder / PROJECT_FILE, folder / DBT_PROJECT_FILE
        if dbt.is_file() and (not pds.is_file() or not _names_project(pds)):
            return folder, DBT_PROJECT_FILE
        if pds.is_file():
            if dbt.is_file():
                warnings.warn(ProjectWarning(
                    f"both {PROJECT_FILE} (with name:) and {DBT_PROJECT_FILE} are here: pds reads {PROJECT_FILE} only",
                    PROJECT_FILE, 1, hint=f"remove name: (and dbt's keys) from {PROJECT_FILE} to read "
                    f"{DBT_PROJECT_FILE} with pds's settings beside it"), stacklevel=2)
            return folder, PROJECT_FILE
    raise ProjectError(f"no {PROJECT_FILE} or {DBT_PROJECT_FILE} found in {start} or its parents",
                       hint="run inside a project, pass --project-dir, or create one with `pds init NAME`")


def _names_project(path: Path) -> bool:
    data = load_yaml_file(path, PROJECT_FILE)
    return isinstance(data, dict) and "name" in data


def read_project_file(root: Path, file: str) -> tuple[Any, Any]:
    """The project file's YAML, and the pds_project.yml beside a dbt_project.yml (or None)."""
    data = load_yaml_file(root / file, file)
    if not isinstance(data, dict):
        raise ProjectError(f"{file} must be a mapping of keys to values", file, 1, hint="start with 'name: my_project'")
    overlay = None
    if file == DBT_PROJECT_FILE and (root / PROJECT_FILE).is_file():
        overlay = load_yaml_file(root / PROJECT_FILE, PROJECT_FILE)
        if overlay is not None and not isinstance(overlay, dict):
            raise ProjectError(f"{PROJECT_FILE} must be a mapping of pds settings", PROJECT_FILE, 1)
    return data, overlay


# ---- rendering -----------------------------------------------------------------------------------
_NO_DEFAULT = object()  # var('name') without a default


@functools.cache
def _native_sandbox() -> type[jinja2.Environment]:
    """dbt's native rendering: one expression keeps its Python type; text around it makes a string."""
    import jinja2.nativetypes
    import jinja2.sandbox

    class NativeSandbox(jinja2.sandbox.SandboxedEnvironment):
        code_generator_class = jinja2.nativetypes.NativeCodeGenerator

    class NativeTemplate(jinja2.nativetypes.NativeTemplate):
        environment_class = NativeSandbox  # type: ignore[assignment]

        def render(self, *args: Any, **kwargs: Any) -> Any:
            nodes = list(self.root_render_func(self.new_context(dict(*args, **kwargs))))
            if len(nodes) == 1:
                return nodes[0]
            return "".join(str(n) for n in nodes)

    NativeSandbox.template_class = NativeTemplate
    return NativeSandbox


class ValueRenderer:
    """Renders the values of dbt_project.yml, profiles.yml and packages.yml as dbt does (natively)."""

    def __init__(self, cli_vars: dict[str, Any], target: dict[str, Any] | None = None,
                 secrets_allowed: bool = False) -> None:
        self.cli_vars = cli_vars
        self.secrets_allowed = secrets_allowed
        self.secrets: list[str] = []  # values of secret env vars read (to redact them)
        self.target = target or {}

    @functools.cached_property
    def env(self) -> jinja2.Environment:
        """The sandbox, made on the first value that needs rendering."""
        import jinja2

        env = _native_sandbox()(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
        env.filters.update(as_bool=_as_bool, as_number=_as_number, as_native=_as_native, as_text=str)
        env.globals.update(env_var=self._env_var, var=self._var, target=self.target, fromjson=json.loads,
                           tojson=json.dumps, modules={"re": re}, zip=zip)
        return env

    def render(self, value: Any, path: str | None = None, line: int | None = None) -> Any:
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value
        import jinja2

        try:
            return self.env.from_string(value).render()
        except ProjectError as exc:
            exc.location.path, exc.location.line = exc.location.path or path, exc.location.line or line
            raise
        except jinja2.TemplateError as exc:
            raise ProjectError(f"cannot render {value!r}: {exc}", path, line,
                               hint="check the {{ }} expression: env_var('NAME', 'default'), var('name', default)"
                               ) from None

    def render_tree(self, data: Any, path: str, skip: Callable[[tuple[Any, ...]], bool] = lambda _k: False,
                    keys: tuple[Any, ...] = ()) -> Any:
        """Render every string of a YAML tree in place (keeping the lines of its keys); `skip` is given the
        path of keys (and list positions) to each value, as dbt's renderers are."""
        if isinstance(data, LineDict):
            for key in list(data):
                here = (*keys, str(key))
                if not skip(here):
                    data[key] = self.render_tree(data[key], path, skip, here) if isinstance(data[key], (dict, list)) \
                        else self.render(data[key], path, data.line_of(key))
            return data
        if isinstance(data, LineList):
            for i, item in enumerate(data):
                if not skip((*keys, i)):
                    data[i] = self.render_tree(item, path, skip, (*keys, i)) if isinstance(item, (dict, list)) \
                        else self.render(item, path, data.line_of(i))
            return data
        return self.render(data, path)

    def _env_var(self, name: str, default: Any = None) -> Any:
        value = os.environ.get(name)
        if name.startswith(SECRET_PREFIXES):
            if not self.secrets_allowed:
                raise ProjectError(f"{name} is a secret: env vars named {' or '.join(p + '*' for p in SECRET_PREFIXES)}"
                                   " can be read only in profiles.yml (and git URLs of packages.yml)")
            if value:
                self.secrets.append(value)
        if value is not None:
            return value
        if default is not None:
            return default
        raise ProjectError(f"environment variable {name!r} is not set and has no default",
                           hint=f"export {name}=... or write env_var('{name}', 'default')")

    def _var(self, name: str, default: Any = _NO_DEFAULT) -> Any:
        if name in self.cli_vars:
            return self.cli_vars[name]
        if default is not _NO_DEFAULT:
            return default
        raise ProjectError(f"var {name!r} is not defined here: project files see only --vars",
                           hint=f"pass --vars '{{{name}: ...}}' or give a default: var('{name}', ...)")


def render_project(data: LineDict, cli_vars: dict[str, Any], target: dict[str, Any], path: str) -> LineDict:
    """The project file's values rendered as dbt renders dbt_project.yml (hooks, vars, webhooks left)."""
    renderer = ValueRenderer(cli_vars, target)
    return renderer.render_tree(data, path, _skip_project_key)


def _skip_project_key(keys: tuple[Any, ...]) -> bool:
    if keys[0] in _UNRENDERED:
        return True
    return keys[0] in {"models", "seeds", "snapshots", "tests", "data_tests"} and \
        any(isinstance(k, str) and k.lstrip("+ ") in _HOOKS for k in keys)


def has_jinja(data: Any) -> bool:
    """Does any string of a YAML tree hold a Jinja tag (so that it needs rendering)?"""
    if isinstance(data, str):
        return "{{" in data or "{%" in data
    if isinstance(data, dict):
        return any(has_jinja(v) for v in data.values())
    return isinstance(data, list) and any(has_jinja(v) for v in data)


_NO_RENDER = ("tests", "data_tests", "description", "loaded_at_query")
# pds's own keys rendered when they run, not at parse time: an export's env_var() secrets (tokens,
# URLs, sheet ids) stay out of the manifest and logs, which show the variable's name (docs/publish.md)
RENDERED_WHEN_RUN = ("exports",)
_PDS_OWN = (*RENDERED_WHEN_RUN, "metrics", "unit_tests")  # pds's keys in a dbt entry: not dbt's to render


def _pds_own(kind: str, k: tuple[Any, ...]) -> bool:
    """pds's own keys inside dbt's entries (a model's exports:, metrics:, unit_tests:; a column's or source
    table's metrics:) are not dbt's to render: their env_var()s are read when they run, never stored."""
    if kind in ("models", "seeds", "snapshots", "analyses") and k[0] in _PDS_OWN:
        return True
    if kind == "sources" and k[0] == "tables":
        k = k[2:]
        if k and k[0] == "metrics":
            return True
    return len(k) >= 3 and k[0] == "columns" and k[2] == "metrics"


def skip_schema_key(kind: str) -> Callable[[tuple[Any, ...]], bool]:
    """dbt's rule for schema YAML (SchemaYamlRenderer): everything is rendered at parse time except
    descriptions (doc() comes later), test arguments (rendered when the test runs), hooks and
    loaded_at_query; for metrics and saved queries, their filters. Keys are relative to one entry."""

    def norender(k: tuple[Any, ...]) -> bool:
        return (len(k) >= 1 and k[0] in _NO_RENDER) or (len(k) == 2 and k[1] in _NO_RENDER) or (
            len(k) >= 2 and k[0] == "config" and k[1] in ("pre_hook", "post_hook", "pre-hook", "post-hook",
                                                          "loaded_at_query")) or (
            len(k) == 5 and k[4] == "description") or (
            len(k) >= 3 and k[0] in ("columns", "dimensions", "measures", "entities") and k[2] in _NO_RENDER)

    def skip(keys: tuple[Any, ...]) -> bool:
        k = keys[2:]  # (kind, position, ...): the path inside the entry
        if not k:
            return False
        if _pds_own(kind, k):
            return True
        if kind == "sources":
            return k[0] in ("description", "loaded_at_query") or k[:2] == ("config", "loaded_at_query") or (
                k[0] == "tables" and norender(k[2:]))
        if kind == "macros" and k[0] == "arguments":
            return norender(k[1:])
        if kind == "metrics" and (k[-1] == "filter" or (len(k) > 1 and k[-2] == "filter")):
            return True
        if kind == "saved_queries" and k[0] == "query_params" and len(k) > 1 and k[1] == "where":
            return True
        return norender(k)

    return skip


def profile_name(data: Any, cli_vars: dict[str, Any], path: str) -> str | None:
    """The profile the project names (rendered), before the target is known."""
    if not isinstance(data, dict) or data.get("profile") is None:
        return None
    return str(ValueRenderer(cli_vars).render(data["profile"], path, data.line_of("profile")))


def _as_native(value: Any) -> Any:
    try:
        return ast.literal_eval(value) if isinstance(value, str) else value
    except (ValueError, SyntaxError):
        return value


def _as_bool(value: Any) -> bool:
    result = _as_native(value)
    if isinstance(result, str) and result.lower() in ("true", "false"):
        return result.lower() == "true"
    if not isinstance(result, bool):
        raise ProjectError(f"cannot convert {value!r} to a boolean (as_bool)")
    return result


def _as_number(value: Any) -> int | float:
    result = _as_native(value)
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise ProjectError(f"cannot convert {value!r} to a number (as_number)")
    return result
