"""Parse: the project's files become nodes (models, seeds, sources) with their dependencies."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath
from typing import Any

from pds_adapters import adapter_class
from pds_core.cache import CACHE_FILE, ParseCache, digest
from pds_core.config import config_warnings, folder_config, merge_config, validate_node_config
from pds_core.contracts import constraint_refs
from pds_core.dbt_project import ValueRenderer
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.external_sources import warn_unread
from pds_core.loader import Package, Project, target_context
from pds_core.nodes import Manifest, Node, Relation
from pds_core.pymodels import inspect_python_model
from pds_core.render import Renderer
from pds_core.schema_yml import Properties, SchemaFiles, columns_of, read_schema_files, seed_properties
from pds_core.seedcheck import check_seed
from pds_core.yamlio import load_yaml_text, read_text


def checksum(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


INCREMENTAL_SUFFIX = "#incremental"  # the parse cache keeps a model's is_incremental() render under this


def schema_for(target_schema: str, custom: str | None) -> str:
    """dbt's default schema naming: the target schema, or target_custom when a model sets one."""
    return f"{target_schema}_{custom}" if custom else target_schema


class Parser:
    """Turns a loaded Project into a Manifest. One instance per command; rendering happens here, once."""

    def __init__(self, project: Project, use_cache: bool = True, extensions: list[Any] | None = None,
                 node_parsers: list[Any] | None = None) -> None:
        """`extensions`: Jinja extensions the macro files need (quality's {% test %} blocks), given by the
        caller so that parsing knows nothing of what they are for. `node_parsers`: more kinds of node,
        each a callable (parser, manifest) -> nodes (snapshots), added before dependencies are resolved."""
        self.node_parsers = list(node_parsers or [])
        self.project = project
        self.macro_texts = {p: read_text(project.root / p, p) for p in project.files.macros}
        self.cache = ParseCache(project.target_dir / CACHE_FILE, cache_key(project, self.macro_texts)) \
            if use_cache else None
        self._macros_loaded = False
        target = {"name": project.target.name, "type": project.target.type, "schema": project.target.schema,
                  "threads": project.target.threads, "profile_name": project.config.profile}
        self.renderer = Renderer(project.name, project.vars, target)
        for extension in extensions or []:
            self.renderer.env.add_extension(extension)
        self.database = project.target.settings.get("database") or project.target.settings.get("project")

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
        self._resolve_dependencies(manifest)
        return manifest

    def load_macros(self) -> dict[str, str]:
        """Compile the macro files into the Jinja environment (once, and only when something renders)."""
        names: dict[str, str] = {}
        if not self._macros_loaded:
            self._macros_loaded = True
            for path, text in self.macro_texts.items():
                for name in self.renderer.add_macros(text, path):
                    names[name] = path
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

    def _render(self, node: Node, text: str, incremental: bool = False) -> dict[str, Any]:
        """Render a SQL model, or take its render from the cache when nothing it depends on changed.

        Parsing renders with is_incremental() false, as dbt's parse does; the plan asks for the other
        variant (render_incremental) only for the models it decided to build into an existing table.
        """
        key = node.path + INCREMENTAL_SUFFIX if incremental else node.path
        if self.cache is not None:
            entry = self.cache.render_entry(key, node.checksum, lambda _e: incremental)
            if entry is not None:
                return entry
        self.load_macros()
        rendered, state = self.renderer.render(text, node.path, lambda _cfg: incremental)
        entry = {"hash": node.checksum, "rendered": rendered, "refs": state.refs, "sources": state.sources,
                 "config": state.config, "env_vars": state.env_vars, "used_is_incremental": state.used_is_incremental,
                 "is_incremental": incremental if state.used_is_incremental else None}
        if self.cache is not None:
            self.cache.put_render(key, entry)
        return entry

    def render_incremental(self, node: Node) -> str:
        """The model's SQL with is_incremental() true: what runs when rows go into the existing table."""
        return str(self._render(node, node.raw_code, incremental=True)["rendered"])

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
            entry = self._render(node, text)
            node.rendered, node.refs, node.sources = entry["rendered"], list(entry["refs"]), list(entry["sources"])
            node.env_vars = dict(entry["env_vars"])
            node.uses_is_incremental = bool(entry["used_is_incremental"])
            merge_config(config, entry["config"])
            if not node.rendered.strip():
                raise ProjectError("model renders to no SQL", path, 1, hint="the Jinja blocks produced nothing")
        line = _line_of(text, "config")
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
        cfg = node.config
        return Relation(schema=schema_for(self.project.target.schema, cfg.get("schema")),
                        identifier=cfg.get("alias") or node.name, database=cfg.get("database") or self.database)

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

    def _resolve_dependencies(self, manifest: Manifest) -> None:
        errors: list[ProjectError] = []
        source_names = {n.name: uid for uid, n in manifest.sources.items()}
        for node in manifest.nodes.values():
            deps: list[str] = []
            for ref in node.refs:
                uid = manifest.by_name.get(ref)
                if uid is None:
                    errors.append(ProjectError(
                        f"{node.name} refers to {ref!r}, which is not a model or seed", node.path,
                        _line_of(node.raw_code, ref),
                        hint=did_you_mean(ref, manifest.by_name) or "check the name passed to ref()"))
                elif uid not in deps:
                    deps.append(uid)
            for src, table in node.sources:
                uid = source_names.get(f"{src}.{table}")
                if uid is None:
                    errors.append(ProjectError(
                        f"{node.name} uses source('{src}', '{table}'), which is not declared", node.path,
                        _line_of(node.raw_code, table),
                        hint=did_you_mean(f"{src}.{table}", source_names) or
                        "declare it under sources: in a schema .yml file"))
                elif uid not in deps:
                    deps.append(uid)
            node.depends_on = deps
        if errors:
            raise errors[0] if len(errors) == 1 else ProjectErrors(errors)


def cache_key(project: Project, macro_texts: dict[str, str]) -> str:
    """Everything every file's rendering depends on: a change here invalidates the whole cache."""
    from pds_core import __version__

    target = project.target
    return digest(__version__, project.config.raw, [p.config.raw for p in project.packages], project.vars,
                  target.name, target.type, target.schema,
                  target.settings.get("database"), target.settings.get("project"), sorted(macro_texts.items()))


def _line_of(text: str, needle: str) -> int | None:
    """The first line of text that mentions needle as a quoted name or call."""
    pattern = re.compile(rf"""(['"]){re.escape(needle)}\1|\b{re.escape(needle)}\s*\(""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            return number
    return None


def parse_project(project: Project, use_cache: bool = False) -> Manifest:
    """The project's models, seeds and sources (tests and exports: plan.parse)."""
    return Parser(project, use_cache).parse()


def project_path(project: Project, rel: str) -> Path:
    return project.root / rel
