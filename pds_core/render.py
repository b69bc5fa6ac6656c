"""Jinja rendering of SQL models with dbt's context, once per model: dependencies are recorded while rendering.

ref(), source() and this render as markers that the compile stage replaces with the final relation
names (or ephemeral CTE names), so a model is never rendered a second time to learn where its
parents live. The context (pds_core/jinja/) is dbt's: macros by package with adapter.dispatch,
dbt's cross-database macros, var/env_var/target/config, statements and adapter look-ups.

Two phases, as dbt's parse and compile: parsing renders every node without a warehouse (`execute`
false); a node that reads what only a connected run knows (execute, run_query, statement,
adapter look-ups, graph) is marked `deferred` and rendered again at its turn in the run, connected
(render(..., live=Live(...)); see plan.decide).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from pds_core.errors import ProjectError
from pds_core.jinja import context as ctxlib
from pds_core.jinja import static
from pds_core.jinja.adapter_proxy import AdapterProxy
from pds_core.jinja.docs import DocBlocks
from pds_core.jinja.errors import render_error
from pds_core.jinja.layers import ConfigObject, ContextLayer, Overlay
from pds_core.jinja.macros import (
    INTERNAL,
    MacroRegistry,
    MaterializationExtension,
    Namespace,
    compile_macro_file,
)
from pds_core.jinja.relation_api import (
    EPHEMERAL_PREFIX,
    LOOKUP,
    MARKER,
    RelationMarker,
    make_api,
    style_for,
)
from pds_core.jinja.statements import Live, Statements
from pds_core.jinja.undefined import parse_undefined

__all__ = ["MARKER", "Frame", "RelationMarker", "RenderState", "Renderer"]
PartsLookup = Callable[[str, str], "tuple[str | None, str | None, str | None, str | None] | None"]


@dataclass
class RenderState:
    """What one render found: refs, sources, config() calls, env vars read, and how it may be reused."""

    path: str
    is_incremental: Callable[[dict[str, Any]], bool]
    refs: list[str] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    env_vars: dict[str, str | None] = field(default_factory=dict)
    used_is_incremental: bool = False
    deferred: bool = False  # asked the warehouse (execute, run_query...): rendered again at run time, connected
    late: bool = False  # looked at where relations live or at `graph`: rendered again once all nodes are parsed
    volatile: bool = False  # read the run's identity (invocation_id, flags...): never taken from the cache


@dataclass
class Frame:
    """One render in progress: its state, its package's namespace and its per-node values."""

    state: RenderState
    package: str
    values: dict[str, Any]
    live: Live | None = None
    results: dict[str, Any] = field(default_factory=dict)
    namespace: Namespace | None = None


class Renderer:
    """The Jinja environment of one project: its macros, its packages', pds's internal `dbt` macros."""

    def __init__(self, project_name: str, vars: dict[str, Any], target: dict[str, Any], *,
                 cli_vars: dict[str, Any] | None = None, package_vars: dict[str, dict[str, Any]] | None = None,
                 dispatch: dict[str, list[str]] | None = None, quoting: Mapping[str, Any] | None = None,
                 flags: dict[str, Any] | None = None) -> None:
        self.project_name = project_name
        self.vars = vars
        self.cli_vars = dict(cli_vars or {})
        self.package_vars = dict(package_vars or {})
        self.target = target
        self.adapter_type = str(target.get("type") or "duckdb")
        self.style = style_for(self.adapter_type, quoting)
        self._frame: ContextVar[Frame | None] = ContextVar("pds_render_frame", default=None)
        self.env = jinja2.sandbox.SandboxedEnvironment(
            undefined=parse_undefined(self._parse_lenient), autoescape=False, keep_trailing_newline=True,
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", MaterializationExtension],
        )
        # packages' macros (and pds's `dbt` ones) print an undefined name as nothing, as dbt does
        self.package_env = self.env.overlay(undefined=parse_undefined(self._parse_lenient, jinja2.Undefined))
        self.registry = MacroRegistry(self.env, project_name, self.adapter_type, dispatch)
        self.docs = DocBlocks(project_name)
        self.invocation_id = str(uuid.uuid4())
        self.code_cache: Path | None = None  # the user's shared cache folder: compiled macro code (code_cache.py)
        self.run_started_at = datetime.datetime.now(datetime.UTC)
        self.flags: dict[str, Any] = {"WHICH": "build", "FULL_REFRESH": False, "STORE_FAILURES": False,
                                      "EMPTY": False, **(flags or {})}
        self.infos: list[str] = []  # log(..., info=True) messages while parsing, for the command to show
        self.on_info: Callable[[str], None] = self.infos.append  # show_infos() points it at the reporter
        self.parse_parts: PartsLookup | None = None  # while parsing: the relations known so far
        self.base = self._base_context()
        self.context = ContextLayer(self._frame, self.base)
        self.macro_files: dict[str, str] = {}  # the root project's macros: name -> file
        self.packages: list[Any] = []  # jinja.packages.PackageMacros whose macros are loaded
        self._templates: set[str] = set()
        self.static_path = True  # jinja/static.py for ref/source/config/var-only texts (tests turn it off)

    # ---- the context -----------------------------------------------------------------------------
    def _base_context(self) -> dict[str, Any]:
        statements = Statements(self._frame.get)
        api = make_api(self.style)
        base = ctxlib.static_context()
        base.update(
            ref=self._ref, source=self._source, config=ConfigObject(self), var=ctxlib.var_function(self._node_vars),
            env_var=ctxlib.env_var_function(self._record_env, lambda: self._frame.get() is not None),
            is_incremental=self._is_incremental, target=self.target, project_name=self.project_name,
            log=ctxlib.log_function(lambda message: self.on_info(message)), api=api, statement=statements.statement,
            run_query=statements.run_query, load_result=statements.load_result, store_result=statements.store_result,
            store_raw_result=statements.store_raw_result, execute=ctxlib.ExecuteFlag(self._executing),
            adapter=AdapterProxy(self._frame.get, self.registry, self._namespace, self.style, api, statements),
            flags=ctxlib.Flags(self.flags, self._mark_volatile), modules=ctxlib.Modules(self._mark_volatile),
            invocation_id=self.invocation_id,
            run_started_at=self.run_started_at, graph=dict(ctxlib.GRAPH_SHAPE), selected_resources=[],
        )
        base["builtins"] = {"ref": self._ref, "source": self._source, "config": base["config"]}
        return base

    def _current(self) -> Frame:
        frame = self._frame.get()
        if frame is None:
            raise ProjectError("ref(), source(), config() and this can only be used inside a model")
        return frame

    def _namespace(self) -> Namespace:
        frame = self._frame.get()
        if frame is not None and frame.namespace is not None:
            return frame.namespace
        return self.namespace(self.project_name)

    def _executing(self) -> bool:
        frame = self._frame.get()
        if frame is None or frame.live is None or frame.live.adapter is None:
            if frame is not None:
                frame.state.deferred = True
            return False
        return True

    def _parse_lenient(self) -> bool:
        """Parsing a node that asks the warehouse (rendered again, connected): undefined is tolerated."""
        frame = self._frame.get()
        return frame is not None and frame.live is None and frame.state.deferred

    def _mark_volatile(self) -> None:
        frame = self._frame.get()
        if frame is not None:
            frame.state.volatile = True

    def _record_env(self, name: str, value: str | None) -> None:
        frame = self._frame.get()
        if frame is not None:
            frame.state.env_vars[name] = value

    def _node_vars(self) -> Mapping[str, Any]:
        frame = self._frame.get()
        package = frame.package if frame is not None else self.project_name
        if package == self.project_name and not self.package_vars:
            return self.vars
        return ctxlib.scoped_vars(self.vars, self.cli_vars, package, self.project_name,
                                  self.package_vars.get(package))

    def _ref(self, *args: str, **_kw: Any) -> RelationMarker:
        if not args or len(args) > 2 or not all(isinstance(a, str) for a in args):
            raise ProjectError("ref() takes a model name, e.g. ref('stg_orders')")
        name = args[-1]
        self._current().state.refs.append(name)
        return RelationMarker("ref", name, self.style)

    def _source(self, source_name: str, table_name: str) -> RelationMarker:
        if not isinstance(source_name, str) or not isinstance(table_name, str):
            raise ProjectError("source() takes two names, e.g. source('shop', 'orders')")
        self._current().state.sources.append((source_name, table_name))
        return RelationMarker("source", f"{source_name}.{table_name}", self.style)

    def _is_incremental(self) -> bool:
        state = self._current().state
        state.used_is_incremental = True
        return state.is_incremental(state.config)

    def _parts(self, kind: str, name: str) -> tuple[str | None, str | None, str | None, str | None] | None:
        """Where a marker points: from the run when connected, else from what parsing knows (deferring)."""
        frame = self._frame.get()
        if frame is not None and frame.live is not None:
            return frame.live.parts(kind, name)
        if frame is not None:
            frame.state.late = True
            if kind == "this":
                model = frame.values.get("model") or {}
                return model.get("database"), model.get("schema"), model.get("alias") or model.get("name"), None
        return self.parse_parts(kind, name) if self.parse_parts is not None else None

    # ---- macros ------------------------------------------------------------------------------------
    def add_extension(self, extension: type[jinja2.ext.Extension]) -> None:
        """A Jinja tag (`{% test %}`) for the project's templates and the packages' alike."""
        self.env.add_extension(extension)
        self.package_env.add_extension(extension)

    def add_macros(self, text: str, path: str, package: str | None = None) -> list[str]:
        """Register the macros of one macro file (of the project, or of `package`); returns their names."""
        try:
            own = package is None or package == self.project_name
            templates = compile_macro_file(self.env if own else self.package_env, text, path, self.code_cache)
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(f"Jinja syntax error: {exc.message}", path, exc.lineno,
                               hint="check the {{ }} and {% %} tags near this line") from exc
        self._templates.add(path)
        package = package or self.project_name
        names = list(templates)
        self.registry.add(package, path, templates)
        if package == self.project_name:
            for name in names:
                self.macro_files[name] = path
        return names

    def namespace(self, package: str) -> Namespace:
        ns = self.registry.namespace(package, self.context)
        if package == self.project_name:  # what callers outside pds_core.jinja read (generic tests)
            self.env.globals.update({k: v for k, v in ns.flat.items() if k in self.macro_files})
        return ns

    def test_macro(self, name: str, namespace: str | None = None) -> Any:
        """The `{% test name %}` macro a schema file names: `pkg.name` in that package; a plain name in the
        project, then the installed packages, then pds's `dbt` package (dbt's order). None if none."""
        ns = self.namespace(self.project_name)
        if namespace is not None:
            return ns.get_from_package(namespace, f"test_{name}")
        for package in [*self.registry.package_order, INTERNAL]:
            found = ns.get_from_package(package, f"test_{name}")
            if found is not None:
                return found
        return None

    def call_macro(self, name: str, *args: Any, path: str = "<macro>", package: str | None = None) -> Any:
        """Call a macro as a node of `package` would (generate_schema_name & co), outside a model's render."""
        state = RenderState(path=path, is_incremental=lambda _c: False)
        frame = Frame(state, package or self.project_name, {})
        token = self._frame.set(frame)
        lookup = LOOKUP.set(self._parts)
        try:
            frame.namespace = ns = self.namespace(frame.package)
            macro = ns.get_from_package(None, name)
            if macro is None:
                raise ProjectError(f"macro {name!r} does not exist", path)
            return macro(*args)
        except ProjectError as exc:
            raise render_error(path, self._templates) from exc
        except Exception as exc:
            raise render_error(path, self._templates) from exc
        finally:
            LOOKUP.reset(lookup)
            self._frame.reset(token)

    # ---- rendering ---------------------------------------------------------------------------------
    def render(self, text: str, path: str, is_incremental: Callable[[dict[str, Any]], bool],
               extra: dict[str, Any] | None = None, *, package: str | None = None, live: Live | None = None,
               node: Mapping[str, Any] | None = None) -> tuple[str, RenderState]:
        """Render one node's SQL; returns it (with relation markers) and what rendering found. A text whose
        only Jinja is ref/source/config/var calls with literal arguments is rendered without compiling a
        template (jinja/static.py); anything it cannot do exactly as Jinja does is rendered by Jinja."""
        parts = static.split(text) if self.static_path and extra is None else None
        if parts is not None:
            try:
                done = self._render(text, path, is_incremental, extra, package, live, node, parts)
            except Exception:  # noqa: BLE001 - rendered again by Jinja, which reports it at its line
                done = None
            if done is not None:
                return done
        rendered = self._render(text, path, is_incremental, extra, package, live, node, None)
        assert rendered is not None
        return rendered

    def _render(self, text: str, path: str, is_incremental: Callable[[dict[str, Any]], bool],
                extra: dict[str, Any] | None, package: str | None, live: Live | None,
                node: Mapping[str, Any] | None, parts: list[Any] | None) -> tuple[str, RenderState] | None:
        state = RenderState(path=path, is_incremental=is_incremental)
        values: dict[str, Any] = {"this": RelationMarker("this", "", self.style)}
        if node is not None:
            values["model"] = node
        if live is not None:
            values.update(graph=live.graph, selected_resources=list(live.selected))
        else:
            values.update(graph=ctxlib.Deferred(lambda: setattr(state, "late", True), dict(ctxlib.GRAPH_SHAPE)),
                          selected_resources=ctxlib.Deferred(lambda: setattr(state, "late", True), {}))
        values.update(extra or {})
        frame = Frame(state, package or self.project_name, values, live)
        token = self._frame.set(frame)
        lookup = LOOKUP.set(self._parts)
        try:
            frame.namespace = ns = self.namespace(frame.package)
            over = {k: v for k, v in (extra or {}).items() if k in ns.flat}  # a unit test's macro overrides
            scope = Overlay(over, ns) if over else ns
            if parts is not None:
                out = static.render(parts, scope, self.env)
                return None if out is None else (out, state)
            template = self._compile(text, path)
            return self.env.concat(template.root_render_func(template.new_context(scope, shared=True))), state
        except Exception as exc:
            if parts is not None:
                raise
            raise render_error(path, self._templates) from exc
        finally:
            LOOKUP.reset(lookup)
            self._frame.reset(token)

    def render_string(self, text: str, path: str | None = None, extra: dict[str, Any] | None = None) -> str:
        """Render a config value (project file, profiles.yml, vars, descriptions): the context without macros."""
        try:
            template = self._compile(text, path or "<string>")
            if extra:
                return template.render({**extra})
            return self.env.concat(template.root_render_func(template.new_context(self.context, shared=True)))
        except ProjectError:
            raise
        except Exception as exc:
            raise render_error(path or "<string>", self._templates) from exc

    def render_description(self, text: str, path: str | None = None) -> str:
        """A description with doc() blocks and var()/env_var() rendered."""
        template = self._compile(text, path or "<description>")
        scope = Overlay({"doc": self.docs.doc}, self.context)
        try:
            return self.env.concat(template.root_render_func(template.new_context(scope, shared=True)))
        except ProjectError as exc:
            exc.location.path = exc.location.path or path
            raise
        except Exception as exc:
            raise render_error(path or "<description>", self._templates) from exc

    def _compile(self, text: str, path: str) -> jinja2.Template:
        """Compile with the file's path as the template's file name, so tracebacks carry it."""
        try:
            code = self.env.compile(text, name=path, filename=path)
        except jinja2.TemplateSyntaxError as exc:
            raise ProjectError(f"Jinja syntax error: {exc.message}", path, exc.lineno,
                               hint="check the {{ }} and {% %} tags near this line") from exc
        self._templates.add(path)
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None), None)


def ephemeral_name(name: str) -> str:
    return EPHEMERAL_PREFIX + name
