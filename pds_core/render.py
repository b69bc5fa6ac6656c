"""Jinja rendering of SQL models, once per model: dependencies are recorded while rendering.

ref(), source() and this render as markers that the compile stage replaces with the final
relation names (or ephemeral CTE names), so a model is never rendered a second time to
learn where its parents live.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import jinja2
import jinja2.sandbox

from pds_core.errors import ProjectError
from pds_core.profiles import SECRET_ENV_PREFIX

MARKER = re.compile(r"\x1d(ref|source|this)\x1f([^\x1d\x1f]*)\x1d")


class RelationMarker(str):
    """What ref()/source()/this render as; carries the name for macros that inspect it."""

    def __new__(cls, kind: str, name: str) -> RelationMarker:
        obj = super().__new__(cls, f"\x1d{kind}\x1f{name}\x1d")
        obj.kind, obj.name = kind, name
        return obj

    @property
    def identifier(self) -> str:
        return self.name.split(".")[-1]


@dataclass
class RenderState:
    """What one model's rendering found: its refs, sources, config() calls and env vars read."""

    path: str
    is_incremental: Callable[[dict[str, Any]], bool]
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    env_vars: dict[str, str | None] = field(default_factory=dict)
    used_is_incremental: bool = False


class Renderer:
    """A Jinja environment with pds's functions and the project's macros."""

    def __init__(self, project_name: str, vars: dict[str, Any], target: dict[str, Any]) -> None:
        self.project_name = project_name
        self.vars = vars
        self._state: ContextVar[RenderState | None] = ContextVar("pds_render_state", default=None)
        self.env = jinja2.sandbox.SandboxedEnvironment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
        )
        self.env.globals.update(
            ref=self._ref, source=self._source, config=self._config, var=self._var, env_var=self._env_var,
            is_incremental=self._is_incremental, target=target, project_name=project_name,
            log=lambda *a, **k: "", tojson=json.dumps, modules={"re": re},
            exceptions={"raise_compiler_error": self._raise},
        )
        self.macro_files: dict[str, str] = {}

    # ---- functions available in templates ----------------------------------------------------
    def _current(self) -> RenderState:
        state = self._state.get()
        if state is None:
            raise ProjectError("ref(), source(), config() and this can only be used inside a model")
        return state

    def _ref(self, *args: str, **_kw: Any) -> RelationMarker:
        if not args or len(args) > 2 or not all(isinstance(a, str) for a in args):
            raise ProjectError("ref() takes a model name, e.g. ref('stg_orders')")
        name = args[-1]
        self._current().refs.append(name)
        return RelationMarker("ref", name)

    def _source(self, source_name: str, table_name: str) -> RelationMarker:
        if not isinstance(source_name, str) or not isinstance(table_name, str):
            raise ProjectError("source() takes two names, e.g. source('shop', 'orders')")
        self._current().sources.append((source_name, table_name))
        return RelationMarker("source", f"{source_name}.{table_name}")

    def _config(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        self._current().config.update(kwargs)
        return ""

    def _var(self, name: str, default: Any = jinja2.Undefined) -> Any:
        if name in self.vars:
            return self.vars[name]
        if default is not jinja2.Undefined:
            return default
        raise ProjectError(f"var {name!r} is not defined",
                           hint=f"set it under 'vars:' in pds_project.yml or pass --vars '{{{name}: ...}}'")

    def _env_var(self, name: str, default: Any = None) -> str:
        state = self._state.get()
        if state is not None and name.startswith(SECRET_ENV_PREFIX):
            raise ProjectError(f"{name} is a secret: env vars named {SECRET_ENV_PREFIX}* can be read only in "
                               "profiles.yml", hint="models and macros end up in target/ and logs; pass the value "
                               "to the warehouse through the profile instead")
        value = os.environ.get(name)
        if state is not None:
            state.env_vars[name] = value
        if value is not None:
            return value
        if default is not None:
            return str(default)
        raise ProjectError(f"environment variable {name!r} is not set and has no default",
                           hint=f"export {name}=... or write env_var('{name}', 'default')")

    def _is_incremental(self) -> bool:
        state = self._current()
        state.used_is_incremental = True
        return state.is_incremental(state.config)

    @staticmethod
    def _raise(message: str) -> None:
        raise ProjectError(str(message))

    # ---- loading and rendering ---------------------------------------------------------------
    def add_macros(self, text: str, path: str) -> list[str]:
        """Make the macros of one macros/*.sql file callable from every model; returns their names."""
        template = self._compile(text, path)
        try:
            module = template.make_module({})
        except Exception as exc:
            raise _jinja_error(exc, path) from exc
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        for name in names:
            if name in self.macro_files:
                raise ProjectError(f"macro {name!r} is defined twice: in {self.macro_files[name]} and {path}",
                                   path, hint="rename one of them")
            self.macro_files[name] = path
            self.env.globals[name] = getattr(module, name)
        return names

    def render(self, text: str, path: str, is_incremental: Callable[[dict[str, Any]], bool],
               extra: dict[str, Any] | None = None) -> tuple[str, RenderState]:
        """Render one model; returns the SQL (with relation markers) and what rendering found."""
        state = RenderState(path=path, is_incremental=is_incremental)
        token = self._state.set(state)
        try:
            template = self._compile(text, path)
            context = {"this": RelationMarker("this", ""), **(extra or {})}
            return template.render(context), state
        except ProjectError as exc:
            if exc.location.path is None:
                exc.location.path = path
                exc.location.line = exc.location.line or _template_line(exc.__traceback__, path)
            raise
        except Exception as exc:
            raise _jinja_error(exc, path) from exc
        finally:
            self._state.reset(token)

    def render_string(self, text: str, path: str | None = None) -> str:
        """Render a config value (profiles.yml, vars) that may call env_var() or var()."""
        try:
            return self._compile(text, path or "<string>").render({})
        except ProjectError:
            raise
        except Exception as exc:
            raise _jinja_error(exc, path) from exc

    def _compile(self, text: str, path: str) -> jinja2.Template:
        """Compile with the file's path as the template's file name, so tracebacks carry it."""
        try:
            code = self.env.compile(text, name=path, filename=path)
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(f"Jinja syntax error: {exc.message}", path, exc.lineno,
                               hint="check the {{ }} and {% %} tags near this line") from exc
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None), None)


def _template_line(tb: TracebackType | None, path: str) -> int | None:
    """The template line of the innermost frame that belongs to the rendered file."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (path, "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _jinja_error(exc: Exception, path: str | None) -> ProjectError:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return ProjectError(f"Jinja syntax error: {exc.message}", path, exc.lineno)
    line = _template_line(exc.__traceback__, path or "")
    if isinstance(exc, jinja2.UndefinedError):
        return ProjectError(f"undefined in template: {exc.message}", path, line,
                            hint="check the spelling; variables come from var(), macros and config")
    return ProjectError(f"error while rendering: {type(exc).__name__}: {exc}", path, line,
                        hint="check the Jinja expression on this line (templates run sandboxed)")
