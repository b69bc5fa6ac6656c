"""Parse snapshots into nodes of the manifest, as dbt 1.11 reads them:

- `{% snapshot name %} ... {% endsnapshot %}` blocks in the .sql files of the snapshot-paths (default
  `snapshots/`), each with its config() call;
- snapshots defined in YAML (dbt 1.9+): an entry under `snapshots:` with `relation: ref('...')` (or
  source()) and `config:`, in the snapshot-paths' YAML or any schema file; an entry without `relation:`
  describes a block snapshot of that name (description, columns, config).

Config comes from the `snapshots:` tree of the project file (`+key` per folder, file and name), then YAML,
then config(); it is checked here, with the file and line, before anything runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from pds_core.config import check_keys, config_warnings, folder_config, merge_config
from pds_core.dbt_keys import CONFIG_ALIASES, DBT_CONFIG_KEYS
from pds_core.errors import ProjectError, did_you_mean
from pds_core.nodes import Manifest, Node, Relation
from pds_core.not_acted_on import warn_not_acted_on
from pds_core.schema_yml import ENTRY_KEYS, columns_of
from pds_core.snapshots.config import CONFIG_KEYS, validate_snapshot_config
from pds_core.yamlio import load_yaml_file, read_text

BLOCK = re.compile(r"{%-?\s*snapshot\s+(\w+)\s*-?%}(.*?){%-?\s*endsnapshot\s*-?%}", re.S)
COMMENTS = re.compile(r"{#.*?#}|--[^\n]*|/\*.*?\*/", re.S)
RELATION = re.compile(r"^\s*(ref|source)\s*\(.*\)\s*$", re.S)
YAML_KEYS = {**ENTRY_KEYS, "relation": (str,)}


def snapshot_paths(project: Any) -> list[str]:
    return [str(p) for p in project.config.raw.get("snapshot-paths") or ["snapshots"]]


def snapshot_files(project: Any) -> tuple[list[str], list[str]]:
    """The .sql and the YAML files under the snapshot-paths, sorted, hidden folders left out."""
    sql, yml = [], []
    for folder in snapshot_paths(project):
        base = project.root / folder
        for dirpath, dirnames, filenames in os.walk(base) if base.is_dir() else ():
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
            for name in filenames:
                rel = Path(dirpath, name).relative_to(project.root).as_posix()
                if name.startswith("."):
                    continue
                if name.endswith(".sql"):
                    sql.append(rel)
                elif name.endswith((".yml", ".yaml")) and rel not in project.files.schema_yml:
                    yml.append(rel)
    return sorted(sql), sorted(yml)


def parse_snapshots(parser: Any, manifest: Manifest) -> list[Node]:
    """Every enabled snapshot of the project (the parser adds them to the manifest and resolves their refs)."""
    project = parser.project
    tree = project.config.raw.get("snapshots") or {}
    _validate_tree(tree, "pds_project.yml", "snapshots")
    sql_files, yml_files = snapshot_files(project)
    entries = _yaml_entries(yml_files, project.root) + [
        (p.entry, p.path, p.line) for p in getattr(manifest.schema, "snapshots", [])]
    for entry, path, _line in entries:
        check_keys(entry, YAML_KEYS, path, f"snapshot {entry['name']!r}")
    described = {e["name"]: (e, path, line) for e, path, line in entries if "relation" not in e}
    nodes: list[Node] = []
    for path in sql_files:
        nodes += [n for n in _blocks(parser, path, tree, described) if n is not None]
    for entry, path, line in entries:
        if "relation" in entry:
            node = _yaml_snapshot(parser, entry, path, line, tree)
            if node is not None:
                nodes.append(node)
    known = {n.name for n in nodes}
    for name, (_entry, path, line) in described.items():
        if name not in known and not _disabled_block(parser, sql_files, name):
            raise ProjectError(f"YAML describes snapshot {name!r}, which does not exist", path, line,
                               hint=did_you_mean(name, known) or "define it with a {% snapshot %} block in "
                               f"{snapshot_paths(project)[0]}/, or give the entry a `relation:`")
    return nodes


def _blocks(parser: Any, path: str, tree: Mapping[str, Any], described: dict[str, Any]) -> list[Node | None]:
    text = read_text(parser.project.root / path, path)
    found = list(BLOCK.finditer(text))
    rest = COMMENTS.sub("", BLOCK.sub("", text)).strip()
    if rest:
        line = text[:text.find(rest.split()[0])].count("\n") + 1 if rest.split()[0] in text else 1
        raise ProjectError("a snapshot file holds {% snapshot name %} ... {% endsnapshot %} blocks only", path, line,
                           hint="move this text into a block, or into a model or macro file")
    return [_block(parser, path, m.group(1), m.group(2), text[:m.start(2)].count("\n") + 1, tree, described)
            for m in found]


def _block(parser: Any, path: str, name: str, body: str, line: int, tree: Mapping[str, Any],
           described: dict[str, Any]) -> Node | None:
    project = parser.project
    folder = next((f for f in snapshot_paths(project) if path.startswith(f.rstrip("/") + "/")), "")
    parts = [*PurePosixPath(path).relative_to(folder).with_suffix("").parts, name] if folder else [name]
    node = Node(unique_id=f"snapshot.{project.name}.{name}", resource_type="snapshot", name=name, path=path,
                raw_code=body.strip(), checksum=_checksum(body), fqn=[project.name, *parts])
    config = folder_config(tree, project.name, parts)
    props = described.get(name)
    if props is not None and isinstance(props[0].get("config"), dict):
        merge_config(config, props[0]["config"])
    parser.load_macros()
    # rendered with the block's own line numbers, so an error points into the file where it is
    rendered, state = parser.renderer.render("\n" * (line - 1) + body, path, lambda _cfg: False)
    node.rendered = rendered.strip(" \t\r\n")  # str.strip() would eat the \x1d that ends a ref() marker
    node.refs, node.sources, node.env_vars = list(state.refs), list(state.sources), dict(state.env_vars)
    node.renders_with_warehouse = state.deferred  # it asks the warehouse: rendered again at its turn, connected
    warn_not_acted_on(state.config, path, f"config of snapshot {name!r}", line=line, text=body)
    merge_config(config, state.config)
    return _finish(parser, node, config, path, line, props)


def _yaml_snapshot(parser: Any, entry: Mapping[str, Any], path: str, line: int | None,
                   tree: Mapping[str, Any]) -> Node | None:
    project, name = parser.project, entry["name"]
    relation = entry["relation"]
    if not RELATION.match(relation):
        raise ProjectError(f"snapshot {name!r}: relation must be ref('...') or source('...', '...'), not {relation!r}",
                           path, getattr(entry, "line_of", lambda _k: line)("relation") or line,
                           hint="e.g. relation: ref('orders')")
    raw = "select * from {{ " + relation.strip() + " }}"  # what dbt compiles a YAML snapshot to
    node = Node(unique_id=f"snapshot.{project.name}.{name}", resource_type="snapshot", name=name, path=path,
                raw_code=raw, checksum=_checksum(raw), fqn=[project.name, name])
    config = folder_config(tree, project.name, [name])
    if isinstance(entry.get("config"), Mapping):
        merge_config(config, entry["config"])
    parser.load_macros()
    rendered, state = parser.renderer.render(raw, path, lambda _cfg: False)
    node.rendered, node.refs, node.sources = rendered, list(state.refs), list(state.sources)
    return _finish(parser, node, config, path, line, (entry, path, line))


def _finish(parser: Any, node: Node, config: dict[str, Any], path: str, line: int | None,
            props: tuple[Mapping[str, Any], str, int | None] | None) -> Node | None:
    node.config = validate_snapshot_config(config, path, f"config of snapshot {node.name!r}", line)
    if node.config.get("enabled") is False:
        return None
    node.relation = snapshot_relation(parser, node)
    if props is not None:
        entry = props[0]
        node.description = entry.get("description") or ""
        node.columns = columns_of(entry)
        node.tests = list(entry.get("data_tests") or entry.get("tests") or [])
        node.patch_path, node.patch_line = props[1], props[2]
    return node


def snapshot_relation(parser: Any, node: Node) -> Relation:
    """target_schema (and target_database) as written, the pre-1.9 way; else the schema of a model."""
    cfg = node.config
    if cfg.get("target_schema"):
        return Relation(str(cfg["target_schema"]), cfg.get("alias") or node.name,
                        cfg.get("target_database") or cfg.get("database") or parser.database)
    relation = parser._relation(node)
    if cfg.get("target_database"):
        relation = Relation(relation.schema, relation.identifier, str(cfg["target_database"]))
    return relation


def _yaml_entries(paths: list[str], root: Path) -> list[tuple[Mapping[str, Any], str, int | None]]:
    """The `snapshots:` entries of the YAML files in the snapshot-paths."""
    found = []
    for path in paths:
        data = load_yaml_file(root / path, path)
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise ProjectError("a YAML file in the snapshot folder must be a mapping with `snapshots:`", path, 1)
        other = [k for k in data if k not in ("version", "snapshots")]
        if other:
            raise ProjectError(f"unknown key {other[0]!r} in a YAML file of the snapshot folder", path,
                               getattr(data, "line_of", lambda _k: None)(other[0]),
                               hint="only `snapshots:` is read here; describe models and sources under models/")
        items = data.get("snapshots") or []
        for i, entry in enumerate(items):
            line = items.line_of(i) if hasattr(items, "line_of") else None
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise ProjectError("each entry under snapshots: needs a 'name:'", path, line)
            found.append((entry, path, line))
    return found


def _validate_tree(tree: Any, path: str, what: str) -> None:
    """The `snapshots:` block of the project file: `+key` at any level must be a snapshot config key."""
    if not isinstance(tree, Mapping):
        raise ProjectError(f"{what} must be a mapping", path)
    line_of = getattr(tree, "line_of", lambda _k: None)
    for key, value in tree.items():
        key = str(key)
        name = CONFIG_ALIASES.get(key[1:], key[1:])
        if key.startswith("+") and name in CONFIG_KEYS:
            check_keys({name: value}, CONFIG_KEYS, path, what)
        elif key.startswith("+") and name in DBT_CONFIG_KEYS:  # a dbt key pds does not act on: warned
            config_warnings({key: value}, path, what, line=line_of(key))
        elif key.startswith("+"):
            raise ProjectError(f"unknown config key {key!r} in {what}", path, line_of(key),
                               hint=did_you_mean(key[1:], CONFIG_KEYS))
        elif isinstance(value, Mapping):
            _validate_tree(value, path, f"{what}.{key}")


def _disabled_block(parser: Any, sql_files: list[str], name: str) -> bool:
    return any(m.group(1) == name for p in sql_files
               for m in BLOCK.finditer(read_text(parser.project.root / p, p)))


def _checksum(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
