"""Macros by package, resolved as dbt resolves them.

Each macro file is compiled once. What a name means depends on the package of the node being
rendered (dbt's MacroNamespace): that package's macros, then the root project's, then package
names (`dbt_utils.star`), then `dbt` (the internal macros, pds_core/jinja/macros/), then the
internal macros unprefixed, then the context (ref, adapter, var...). A Namespace is that lookup
for one package; the macro files are bound to it by running them as Jinja modules whose context
IS the namespace, so a macro calling another resolves it the same way the model did.
`adapter.dispatch` searches packages in dbt's order (search_packages).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension

from pds_core.errors import ProjectError, did_you_mean

INTERNAL = "dbt"


class MacroReturn(Exception):
    """`{{ return(x) }}`: ends the macro; its caller gets x."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def do_return(value: Any = None) -> None:
    raise MacroReturn(value)


class MacroFunction:
    """A macro as callers see it: returns what `return()` gave, else the rendered text."""

    __slots__ = ("macro", "name", "package", "path")

    def __init__(self, macro: Any, name: str, package: str, path: str) -> None:
        self.macro, self.name, self.package, self.path = macro, name, package, path

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.macro(*args, **kwargs)
        except MacroReturn as ret:
            return ret.value

    @property
    def arguments(self) -> tuple[str, ...]:
        return tuple(self.macro.arguments)

    @property
    def catch_kwargs(self) -> bool:
        return bool(self.macro.catch_kwargs)

    def __repr__(self) -> str:
        return f"<macro {self.package}.{self.name}>"


class PackageView(Mapping[str, Any]):
    """`dbt_utils` in a template: the package's macros by attribute or key."""

    def __init__(self, package: str, macros: dict[str, MacroFunction]) -> None:
        self._package, self._macros = package, macros

    def __getitem__(self, name: str) -> MacroFunction:
        return self._macros[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._macros)

    def __len__(self) -> int:
        return len(self._macros)

    def __getattr__(self, name: str) -> MacroFunction:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._macros[name]
        except KeyError:
            raise ProjectError(f"macro '{self._package}.{name}' does not exist",
                               hint=did_you_mean(name, self._macros) or
                               f"is the package '{self._package}' installed and up to date?") from None


@dataclass
class MacroFile:
    package: str
    path: str  # as shown to the user: relative to the project (or <pds>/... for the internal macros)
    templates: dict[str, jinja2.Template] = field(default_factory=dict)  # macro name -> its own template


class Namespace(Mapping[str, Any]):
    """Every name a template sees while rendering a node of one package (macros first, then the context)."""

    def __init__(self, scope: str, context: Mapping[str, Any]) -> None:
        self.scope = scope
        self.flat: dict[str, Any] = {}  # macros and package names, in dbt's precedence
        self.packages: dict[str, dict[str, MacroFunction]] = {}
        self.context = context

    def __getitem__(self, key: str) -> Any:
        if key in self.flat:
            return self.flat[key]
        return self.context[key]

    def __contains__(self, key: object) -> bool:
        return key in self.flat or key in self.context

    def __iter__(self) -> Iterator[str]:
        yield from self.flat
        yield from (k for k in self.context if k not in self.flat)

    def __len__(self) -> int:
        return len(set(self.flat) | set(self.context))

    def get_from_package(self, package: str | None, name: str) -> MacroFunction | None:
        """dbt's get_from_package: None is the flat lookup, 'dbt' the internal macros."""
        if package is None:
            found = self.flat.get(name)
            return found if isinstance(found, MacroFunction) else None
        return self.packages.get(package, {}).get(name)


class MacroRegistry:
    """The macro files of the project, its packages and pds's internal `dbt` package."""

    def __init__(self, env: jinja2.Environment, root: str, adapter_type: str,
                 dispatch: dict[str, list[str]] | None = None) -> None:
        self.env = env
        self.root = root
        self.adapter_type = adapter_type
        self.dispatch_orders = dispatch or {}
        self.files: list[MacroFile] = []
        self.names: dict[str, dict[str, str]] = {}  # package -> macro name -> file
        self.package_order: list[str] = [root]
        self._scopes: dict[str, Namespace] = {}

    # ---- loading ---------------------------------------------------------------------------------
    def add(self, package: str, path: str, templates: dict[str, jinja2.Template]) -> None:
        """A compiled macro file of a package: its macros (duplicates are refused)."""
        known = self.names.setdefault(package, {})
        if package not in self.package_order:
            self.package_order.append(package)
        for name in templates:
            if name in known and package != INTERNAL:
                where = "the project" if package == self.root else f"package {package!r}"
                raise ProjectError(f"macro {name!r} is defined twice in {where}: in {known[name]} and {path}", path,
                                   hint="rename one of them")
            known[name] = path
        self.files.append(MacroFile(package, path, templates))
        self._scopes.clear()

    @property
    def dependencies(self) -> set[str]:
        return set(self.package_order) | {INTERNAL}

    # ---- resolution ------------------------------------------------------------------------------
    def namespace(self, scope: str, context: Mapping[str, Any]) -> Namespace:
        """The namespace for nodes of package `scope`, its macro modules made on first use."""
        ns = self._scopes.get(scope)
        if ns is None:
            ns = self._scopes[scope] = self._build(scope, context)
        return ns

    def _build(self, scope: str, context: Mapping[str, Any]) -> Namespace:
        ns = Namespace(scope, context)
        by_package: dict[str, dict[str, MacroFunction]] = {}
        for file in self.files:
            bucket = by_package.setdefault(file.package, {})
            for name, template in file.templates.items():
                # the macro's template runs once with the namespace as its context, which then holds the
                # macro (a private `_name` one too, which a Jinja module would not export)
                context = template.new_context(ns, shared=True)  # type: ignore[arg-type]
                for _ in template.root_render_func(context):
                    pass
                bucket[name] = MacroFunction(context.vars[name], name, file.package, file.path)
            ns.packages = by_package
            ns.flat = self._flat(scope, by_package)  # macros defined so far serve later files' top levels
        ns.packages = by_package
        ns.flat = self._flat(scope, by_package)
        return ns

    def _flat(self, scope: str, by_package: dict[str, dict[str, MacroFunction]]) -> dict[str, Any]:
        flat: dict[str, Any] = dict(by_package.get(INTERNAL, {}))
        flat[INTERNAL] = PackageView(INTERNAL, by_package.get(INTERNAL, {}))
        for package in self.package_order:  # package names (the root's too: `my_project.my_macro`)
            flat[package] = PackageView(package, by_package.get(package, {}))
        flat.update(by_package.get(self.root, {}))
        flat.update(by_package.get(scope, {}))
        return flat

    def search_packages(self, namespace: str | None) -> list[str | None]:
        """Where adapter.dispatch looks, in order (dbt's _get_search_packages)."""
        if namespace is None:
            return [None]
        if not isinstance(namespace, str):
            raise ProjectError(f"adapter.dispatch: macro_namespace must be a string, got {namespace!r}")
        order = self.dispatch_orders.get(namespace)
        if order:
            return list(order)
        if namespace in self.dependencies:
            return [self.root, namespace]
        return [None]

    def prefixes(self) -> list[str]:
        return [self.adapter_type, "default"]

    def dispatch(self, ns: Namespace, macro_name: str, macro_namespace: str | None = None) -> MacroFunction:
        if "." in macro_name:
            package, _, short = macro_name.partition(".")
            raise ProjectError(f"adapter.dispatch got the macro name {macro_name!r}: a name has no '.'",
                               hint=f"write adapter.dispatch('{short}', macro_namespace='{package}')")
        attempts: list[str] = []
        for package in self.search_packages(macro_namespace):
            for prefix in self.prefixes():
                name = f"{prefix}__{macro_name}"
                found = ns.get_from_package(package, name)
                attempts.append(name if package is None else f"{package}.{name}")
                if found is not None:
                    return found
        raise ProjectError(f"adapter.dispatch: no macro named {macro_name!r} in namespace {macro_namespace!r} "
                           f"(searched {', '.join(attempts)})",
                           hint="define one of them, or install the package that does (pds deps)")


def compile_macro_file(env: jinja2.Environment, text: str, path: str,
                       shared: Path | None = None) -> dict[str, jinja2.Template]:
    """Each top-level macro of a file ({% macro %}, {% test %}, {% materialization %}) as its own template,
    as dbt keeps them: a macro calling another of its file then finds it through the namespace (wrapped,
    resolved per package) rather than as a local of the file; the file is parsed once, lines kept.
    `shared`: the user's cache folder, where the compiled code of the same text is kept (code_cache.py)."""
    from pds_core.jinja import code_cache

    compiled = code_cache.load(shared, env, text, path)
    if compiled is None:
        tree = env.parse(text, name=path, filename=path)
        compiled = [(node.name, env.compile(nodes.Template([node], lineno=1), name=path, filename=path))
                    for node in tree.body if isinstance(node, nodes.Macro)]
        code_cache.store(shared, env, text, path, compiled)
    return {name: env.template_class.from_code(env, code, env.make_globals(None), None) for name, code in compiled}


class MaterializationExtension(Extension):
    """`{% materialization name, adapter='x' %}` in a package: kept as a macro (dbt's name for it) so the
    package loads; pds builds with its own materializations (a model naming this one is refused)."""

    tags = {"materialization"}

    def parse(self, parser: Any) -> nodes.Macro:
        lineno = next(parser.stream).lineno
        name = parser.parse_assign_target(name_only=True).name
        adapter = "default"
        while parser.stream.skip_if("comma"):
            target = parser.parse_assign_target(name_only=True)
            if parser.stream.skip_if("assign"):
                value = parser.parse_expression()
                if target.name == "adapter" and isinstance(value, nodes.Const):
                    adapter = value.value
        node = nodes.Macro(lineno=lineno)
        node.name = f"materialization_{name}_{adapter}"
        node.args, node.defaults = [], []
        node.body = parser.parse_statements(("name:endmaterialization",), drop_needle=True)
        return node
