"""`{% docs name %}...{% enddocs %}` blocks and `doc()` in descriptions, as dbt reads them.

Blocks live in .md files under the project's docs paths (by default every resource folder, as
in dbt) and in its packages; a description that holds Jinja (`'{{ doc("orders_status") }}'`) is
rendered with doc(), var() and env_var(), once, while parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pds_core.errors import ProjectError, did_you_mean

BLOCK = re.compile(r"{%-?\s*docs\s+([A-Za-z_][\w]*)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.S)


class DocBlocks:
    """Every docs block of the project and its packages, by (package, name)."""

    def __init__(self, root_package: str) -> None:
        self.root = root_package
        self.blocks: dict[tuple[str, str], str] = {}
        self.where: dict[tuple[str, str], str] = {}

    def read(self, package: str, path: str, text: str) -> None:
        for match in BLOCK.finditer(text):
            key = (package, match.group(1))
            if key in self.blocks:
                raise ProjectError(f"docs block {match.group(1)!r} is defined twice: in {self.where[key]} and {path}",
                                   path, text[:match.start()].count("\n") + 1, hint="rename one of them")
            self.blocks[key] = match.group(2).strip("\n")
            self.where[key] = path

    def read_files(self, package: str, root: Path, files: Iterable[str], display: Callable[[str], str]) -> None:
        for rel in files:
            text = (root / rel).read_text(encoding="utf-8")
            if "docs" in text:
                self.read(package, display(rel), text)

    def doc(self, *args: str) -> str:
        """doc('name') or doc('package', 'name'); the root project's block wins over a package's."""
        if len(args) == 1:
            name = args[0]
            found = self.blocks.get((self.root, name))
            if found is None:
                found = next((t for (p, n), t in self.blocks.items() if n == name), None)
        elif len(args) == 2:
            name = args[1]
            found = self.blocks.get((args[0], name))
        else:
            raise ProjectError("doc() takes a block name, or a package and a block name")
        if found is None:
            names = [n for _p, n in self.blocks]
            raise ProjectError(f"doc({', '.join(repr(a) for a in args)}): no docs block with that name",
                               hint=did_you_mean(name, names) or "define it in a .md file: {% docs name %}...{% enddocs %}")
        return found


def docs_files(root: Path, folders: Iterable[str]) -> list[str]:
    from pds_core.jinja.packages import walk

    return walk(root, dict.fromkeys(folders), ".md")


def render_descriptions(manifest: Any, render: Callable[[str, str | None], str]) -> None:
    """Render every description that holds Jinja (models, seeds, sources and their columns), in place."""
    for node in [*manifest.nodes.values(), *manifest.sources.values()]:
        where = getattr(node, "patch_path", None) or node.path
        if _has_jinja(node.description):
            node.description = render(node.description, where)
        for column in node.columns.values():
            if _has_jinja(column.description):
                column.description = render(column.description, where)


def _has_jinja(text: Any) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)
