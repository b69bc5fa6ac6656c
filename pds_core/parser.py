"""Parse: the project's files become nodes (models, seeds, sources) with their dependencies."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath
from typing import Any

from pds_adapters import adapter_class
from pds_core.cache import CACHE_FILE, ParseCache, digest
from pds_core.config import config_warnings, folder_config, merge_config, validate_node_config
from pds_core.contracts import constraint_refs
from pds_core.dbt_project import ValueRenderer
from pds_core.dependencies import line_of, resolve_dependencies
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.external_sources import warn_unread
from pds_core.jinja.docs import render_descriptions
from pds_core.jinja.names import default_names, generated_names, overridden
from pds_core.jinja.node_view import node_view
from pds_core.jinja.setup import cache_key, load_macros, make_renderer, package_texts
from pds_core.jinja.statements import Live
from pds_core.loader import Package, Project, target_context
from pds_core.nodes import Manifest, Node, Relation
from pds_core.pymodels import inspect_python_model
from pds_core.schema_yml import Properties, SchemaFiles, columns_of, read_schema_files, seed_properties
from pds_core.seedcheck import check_seed
from pds_core.shared_cache import shared_folder
from pds_core.yamlio import load_yaml_text, read_text


def checksum(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


INCREMENTAL_SUFFIX = "#incremental"  # the parse cache keeps a model's is_incremental() render under this


class Parser:
    """Turns a loaded Project into a Manifest. One instance per command; rendering happens here, once."""

    def __init__(self, project: Project, use_cache: bool = True, extensions: list[Any] | None = None,
                 node_parsers: list[Any] | None = None) -> None:
        """`extensions`: Jinja extensions the macro files need (quality's {% test %} blocks), given by the
        caller so that parsing knows nothing of what they are for. `node_parsers`: more kinds of node,
        each a callable (parser, manifest) -> nodes (snapshots), added before dependencies are resolved."""
        self.node_parsers = list(node_parsers or [])
        self.project = project
        self.renderer = make_renderer(project)
        self.macro_texts = {p: read_text(project.root / p, p) for p in project.files.macros}
        self.key = cache_key(project, self.macro_texts, package_texts(self.renderer))
        self.cache = ParseCache(project.target_dir / CACHE_FILE, self.key, shared_folder()) if use_cache else None
        self._macros_loaded = False
        for extension in extensions or []:
            self.renderer.add_extension(extension)
        self.database = project.target.settings.get("database") or project.target.settings.get("project")
        self.renderer.parse_parts = self._known_parts
        self._parsed: dict[str, Node] = {}  # by name, as parsing goes: what a marker may point to already
        self._late: list[Node] = []  # rendered again once every node is parsed (jinja/runtime.py)
        self._sources: dict[str, Node] = {}

    def parse(self) -> Manifest:
        project = self.project
        manifest = Manifest(project_name=project.name)
        if self.cache is not None and "macro_names" in self.cache.misc:
            manifest.macros = dict(self.cache.misc["macro_names"])
        else:
            manifest.macros = self.load_macros()
        schema = SchemaFiles()
        values = ValueRenderer(project.vars, target_context(project.target, project.config.profile))
        for pkg in project.all_projects():  # the root project's schema files, then each package's
            schema.update(read_schema_files(project.root, pkg.files.schema_yml, pkg.name, project.target.schema,
                                            self.database, self._yaml, pkg.config.strict_keys, pkg.config.sources,
                                            values))
        manifest.schema, manifest.sources = schema, schema.sources
        self._sources = {n.name: n for n in schema.sources.values()}
        warn_unread(schema.sources, adapter_class(project.target.type).writes_external_files, project.target.type)
        errors: list[ProjectError] = []
        for pkg in project.all_projects():
            for path in pkg.files.models_sql + pkg.files.models_py:
                try:
                    node = self._model(path, schema.models.get(PurePosixPath(path).stem), pkg)
                except ProjectError as exc:
                    errors.append(exc)
                    continue
                if node is not None:
                    self._add(manifest, node)
            for path in pkg.files.seeds:
                node = self._seed(path, seed_properties(schema, PurePosixPath(path).stem), pkg)
                if node is not None:
                    self._add(manifest, node)
        if errors:
            raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
        for more in self.node_parsers:
            for node in more(self, manifest):
                self._add(manifest, node)
        self._check_properties(manifest, schema)
        resolve_dependencies(manifest)
        self._render_late(manifest)
        self._render_descriptions(manifest)
        return manifest

    def _render_late(self, manifest: Manifest) -> None:
        """Models that looked at where relations live (or at `graph`) while parsing: rendered once more
        now that every node is known (still without the warehouse; what asks it waits for the run)."""
        if not self._late:
            return
        from pds_core.jinja.runtime import ProjectView

        view = ProjectView(manifest, self.project.name, self.renderer.target.get("database"))
        for node in self._late:
            if manifest.nodes.get(node.unique_id) is node and not node.renders_with_warehouse:
                entry = self._render(node, node.raw_code, live=view.live(node))
                node.rendered = entry["rendered"]
                node.renders_with_warehouse = bool(entry["deferred"])

    def load_macros(self) -> dict[str, str]:
        """Compile the macro files (pds's `dbt` package, the packages', the project's) into the Jinja
        environment: once, and only when something renders."""
        names: dict[str, str] = {}
        if not self._macros_loaded:
            self._macros_loaded = True
            names = load_macros(self.renderer, self.project, self.macro_texts)
            if self.cache is not None:
                self.cache.misc["macro_names"] = names
                self.cache.dirty = True
        return names

    def _yaml(self, path: str) -> Any:
        """A schema file's parsed YAML, from the cache while its content is unchanged."""
        raw = read_text(self.project.root / path, path)
        if self.cache is None:
            return load_yaml_text(raw, path)
        key = checksum(raw)
        hit = self.cache.misc.setdefault("yaml", {}).get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        data = load_yaml_text(raw, path)
        self.cache.misc["yaml"][path] = (key, data)
        self.cache.dirty = True
        return data

    def _render(self, node: Node, text: str, incremental: bool = False, config: dict[str, Any] | None = None,
                live: Live | None = None) -> dict[str, Any]:
        """Render a SQL model, or take its render from the cache when nothing it depends on changed.

        Parsing renders with is_incremental() false and no warehouse, as dbt's parse does; the plan asks
        for the other variant (render_incremental) only for the models it decided to build into an
        existing table, and for a connected render (`live`) of the models that introspect.
        """
        key = node.path + INCREMENTAL_SUFFIX if incremental else node.path
        if self.cache is not None and live is None:
            entry = self.cache.render_entry(key, node.checksum, lambda _e: incremental)
            if entry is not None and not entry.get("volatile"):
                return entry
        self.load_macros()
        package = node.unique_id.split(".")[1]  # a package's model resolves macros and vars as its package
        view = node_view(node, package, config=config if config is not None else node.config)
        rendered, state = self.renderer.render(text, node.path, lambda _c: incremental, node=view, live=live, package=package)
        entry = {"hash": node.checksum, "rendered": rendered, "refs": state.refs, "sources": state.sources,
                 "config": state.config, "env_vars": state.env_vars, "used_is_incremental": state.used_is_incremental,
                 "is_incremental": incremental if state.used_is_incremental else None,
                 "deferred": state.deferred, "late": state.late, "volatile": state.volatile}
        if self.cache is not None and live is None:
            self.cache.put_render(key, entry)
        return entry

    def render_incremental(self, node: Node) -> str:
        """The model's SQL with is_incremental() true: what runs when rows go into the existing table."""
        return str(self._render(node, node.raw_code, incremental=True)["rendered"])

    def render_live(self, node: Node, incremental: bool, live: Live) -> str:
        """The model's SQL rendered connected (`execute` true): run_query, statements and adapter look-ups
        answer from the warehouse, as dbt's compile does just before the node runs."""
        return str(self._render(node, node.raw_code, incremental=incremental, live=live)["rendered"])

    def _known_parts(self, kind: str, name: str) -> tuple[str | None, str | None, str | None, str | None] | None:
        """While parsing: where a ref()/source() points, if that node was parsed already."""
        node = self._sources.get(name) if kind == "source" else self._parsed.get(name)
        if node is None or node.relation is None:
            return None
        rel = node.relation
        kind_of = {"ephemeral": "cte", "view": "view", "source": "table"}.get(node.materialized, "table")
        return rel.database, rel.schema, rel.identifier, kind_of

    # ---- nodes -----------------------------------------------------------------------------
    def _base_config(self, section: str, path: str, props: Properties | None, root_folder: str, pkg: Package) -> dict:
        """dbt_project.yml's folder config (a package's own, then the root project's over it), then the
        schema file's config: block."""
        parts = list(PurePosixPath(path).relative_to(root_folder).parts)
        parts[-1] = PurePosixPath(parts[-1]).stem
        config = folder_config(getattr(pkg.config, section), pkg.name, parts)
        if pkg.config is not self.project.config:
            merge_config(config, folder_config(getattr(self.project.config, section), pkg.name, parts, named_only=True))
        if props and isinstance(props.entry.get("config"), dict):
            merge_config(config, props.entry["config"])
        return config

    def _root_folder(self, path: str, folders: list[str], pkg: Package | None = None) -> str:
        if pkg is not None and pkg.root != self.project.root:
            prefix = pkg.root.relative_to(self.project.root).as_posix()
            folders = [f"{prefix}/{f}" for f in folders]
        return next((f for f in folders if path.startswith(f.rstrip("/") + "/")), folders[0])

    def _model(self, path: str, props: Properties | None, pkg: Package) -> Node | None:
        project = self.project
        text = read_text(project.root / path, path)
        name = PurePosixPath(path).stem
        folder = self._root_folder(path, pkg.config.model_paths, pkg)
        config = self._base_config("models", path, props, folder, pkg)
        node = Node(unique_id=f"model.{pkg.name}.{name}", resource_type="model", name=name, path=path,
                    raw_code=text, checksum=checksum(text),
                    fqn=[pkg.name, *PurePosixPath(path).relative_to(folder).with_suffix("").parts])
        if path.endswith(".py"):
            node.language = "python"
            info = inspect_python_model(text, path)
            node.refs, node.sources, node.vars_used = info.refs, info.sources, info.vars
            merge_config(config, info.config)
            config.setdefault("materialized", "table")
        else:
            if not text.strip():
                raise ProjectError("model file is empty", path, 1, hint="write a SELECT statement, or delete the file")
            entry = self._render(node, text, config=config)
            node.rendered, node.refs, node.sources = entry["rendered"], list(entry["refs"]), list(entry["sources"])
            node.env_vars = dict(entry["env_vars"])
            node.uses_is_incremental = bool(entry["used_is_incremental"])
            node.renders_with_warehouse = bool(entry.get("deferred"))
            if entry.get("late"):
                self._late.append(node)
            merge_config(config, entry["config"])
            if not node.rendered.strip() and not node.renders_with_warehouse:  # else known at run time
                raise ProjectError("model renders to no SQL", path, 1, hint="the Jinja blocks produced nothing")
        line = line_of(text, "config")
        file_config = info.config if node.language == "python" else entry["config"]
        config_warnings(file_config, path, f"config of model {name!r}", pkg.config.strict_keys, line=line, text=text)
        try:
            node.config = validate_node_config(config, path if line else (props.path if props else path),
                                               f"config of model {name!r}", pkg.config.strict_keys)
        except ProjectError as exc:  # config() in the file itself: point at the call
            exc.location.line = exc.location.line or line
            raise
        if node.config.get("enabled") is False:
            return None
        if node.config.get("unique_key") is None and node.config.get("incremental_strategy") in ("merge", "delete+insert"):
            raise ProjectError(f"incremental_strategy {node.config['incremental_strategy']!r} needs a unique_key",
                               path, line, hint="add unique_key='id' to the model's config")
        node.relation = self._relation(node)
        self._apply_properties(node, props)
        return node

    def _seed(self, path: str, props: Properties | None, pkg: Package) -> Node | None:
        project = self.project
        raw = (project.root / path).read_bytes()
        name = PurePosixPath(path).stem
        folder = self._root_folder(path, pkg.config.seed_paths, pkg)
        config = self._base_config("seeds", path, props, folder, pkg)
        node = Node(unique_id=f"seed.{pkg.name}.{name}", resource_type="seed", name=name, path=path,
                    language="csv", checksum=checksum(raw),
                    fqn=[pkg.name, *PurePosixPath(path).relative_to(folder).with_suffix("").parts],
                    config=validate_node_config(config, props.path if props else path, f"config of seed {name!r}",
                                                pkg.config.strict_keys))
        if node.config.get("enabled") is False:
            return None
        checked = self.cache.misc.setdefault("checked_seeds", {}) if self.cache is not None else {}
        if checked.get(path) != node.checksum:  # a large seed is read once, not on every parse
            check_seed(raw, path, str(node.config.get("delimiter") or ","))
            checked[path] = node.checksum
            if self.cache is not None:
                self.cache.dirty = True
        node.relation = self._relation(node)
        self._apply_properties(node, props)
        return node

    def _relation(self, node: Node) -> Relation:
        """Where the node goes: dbt's generate_database/schema/alias_name, the project's overrides included."""
        cfg, target = node.config, self.project.target
        custom = {"database": cfg.get("database"), "schema": cfg.get("schema"), "alias": cfg.get("alias")}
        target_db = self.renderer.target.get("database")
        defaults = default_names(node.name, cfg.get("version"), target.schema, target_db, custom)
        which = overridden(self._root_macro_names(), self.renderer.registry.dispatch_orders)
        database, schema, alias = defaults
        if which:
            view = node_view(node, node.unique_id.split(".")[1], (None, None, None))
            key = digest(sorted(custom.items()), sorted(view.items(), key=lambda kv: kv[0]))
            hits = self.cache.misc.setdefault("names", {}) if self.cache is not None else {}
            hit = hits.get(node.unique_id)
            if hit is not None and hit[0] == key:
                database, schema, alias = hit[1]
            else:
                self.load_macros()
                call = lambda name, value, view: self.renderer.call_macro(name, value, view, path=node.path)  # noqa: E731
                database, schema, alias = generated_names(call, view, custom, which, defaults, node.path)
                hits[node.unique_id] = (key, (database, schema, alias))
                if self.cache is not None:
                    self.cache.dirty = True
        if database == target_db:
            database = cfg.get("database") or self.database
        relation = Relation(schema=schema, identifier=alias, database=database)
        self._parsed[node.name] = node
        return relation

    def _root_macro_names(self) -> list[str]:
        if self.cache is not None and "macro_names" in self.cache.misc:
            return list(self.cache.misc["macro_names"])
        return list(self.load_macros() or self.renderer.macro_files)

    @staticmethod
    def _apply_properties(node: Node, props: Properties | None) -> None:
        if props is None:
            return
        entry = props.entry
        node.description = entry.get("description") or ""
        node.columns = columns_of(entry)
        node.tests = list(entry.get("data_tests") or entry.get("tests") or [])
        node.patch_path, node.patch_line = props.path, props.line
        node.constraints = list(entry.get("constraints") or [])
        if isinstance(entry.get("docs"), dict):  # docs: as a property (dbt); config's keys win
            node.config["docs"] = {**entry["docs"], **(node.config.get("docs") or {})}
        refs, sources = constraint_refs(node)  # a foreign key's `to: ref(...)` is built first
        node.refs += [r for r in refs if r not in node.refs]
        node.sources += [s for s in sources if s not in node.sources]

    def _render_descriptions(self, manifest: Manifest) -> None:
        """`{{ doc('name') }}` and other Jinja in descriptions, rendered once (docs blocks need the macros
        loaded: only when some description holds Jinja)."""
        nodes = [*manifest.nodes.values(), *manifest.sources.values()]
        if any("{" in (n.description or "") or any("{" in (c.description or "") for c in n.columns.values())
               for n in nodes):
            self.load_macros()
            render_descriptions(manifest, self.renderer.render_description)

    def _add(self, manifest: Manifest, node: Node) -> None:
        if node.name in manifest.by_name:
            other = manifest.nodes[manifest.by_name[node.name]]
            raise ProjectError(f"two nodes are named {node.name!r}: {other.path} and {node.path}", node.path, 1,
                               hint="names are unique across models and seeds; rename one file")
        manifest.nodes[node.unique_id] = node
        manifest.by_name[node.name] = node.unique_id

    # ---- checks across files -------------------------------------------------------------------
    def _check_properties(self, manifest: Manifest, schema: SchemaFiles) -> None:
        for kind, entries in (("model", schema.models), ("seed", schema.seeds)):
            for name, props in entries.items():
                uid = manifest.by_name.get(name)
                if kind == "model" and uid is not None and manifest.nodes[uid].resource_type == "seed":
                    continue  # a seed described under models: (warned, applied: seed_properties)
                if uid is None or manifest.nodes[uid].resource_type != kind:
                    candidates = [n.name for n in manifest.nodes.values() if n.resource_type == kind]
                    disabled = uid is None and self._is_disabled(name)
                    if disabled:
                        continue
                    raise ProjectError(f"schema file describes {kind} {name!r}, which does not exist", props.path,
                                       props.line, hint=did_you_mean(name, candidates))

    def _is_disabled(self, name: str) -> bool:
        return any(PurePosixPath(p).stem == name for pkg in self.project.all_projects()
                   for p in pkg.files.models_sql + pkg.files.models_py + pkg.files.seeds)


def parse_project(project: Project, use_cache: bool = False) -> Manifest:
    """The project's models, seeds and sources (tests and exports: plan.parse)."""
    return Parser(project, use_cache).parse()


def project_path(project: Project, rel: str) -> Path:
    return project.root / rel
