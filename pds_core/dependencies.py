"""Dependencies: the names a node's ref() and source() calls gave, resolved to the nodes they mean."""

from __future__ import annotations

import re

from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.nodes import Manifest


def resolve_dependencies(manifest: Manifest) -> None:
    """Each node's ref() and source() names become the unique ids it depends on; every unknown name is
    reported at once, with the line that names it and the nearest known name."""
    errors: list[ProjectError] = []
    source_names = {n.name: uid for uid, n in manifest.sources.items()}
    for node in manifest.nodes.values():
        deps: list[str] = []
        for ref in node.refs:
            uid = manifest.by_name.get(ref)
            if uid is None:
                errors.append(ProjectError(
                    f"{node.name} refers to {ref!r}, which is not a model or seed", node.path,
                    line_of(node.raw_code, ref),
                    hint=did_you_mean(ref, manifest.by_name) or "check the name passed to ref()"))
            elif uid not in deps:
                deps.append(uid)
        for src, table in node.sources:
            uid = source_names.get(f"{src}.{table}")
            if uid is None:
                errors.append(ProjectError(
                    f"{node.name} uses source('{src}', '{table}'), which is not declared", node.path,
                    line_of(node.raw_code, table),
                    hint=did_you_mean(f"{src}.{table}", source_names) or
                    "declare it under sources: in a schema .yml file"))
            elif uid not in deps:
                deps.append(uid)
        node.depends_on = deps
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)


def line_of(text: str, needle: str) -> int | None:
    """The first line of text that mentions needle as a quoted name or call."""
    pattern = re.compile(rf"""(['"]){re.escape(needle)}\1|\b{re.escape(needle)}\s*\(""")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            return number
    return None
