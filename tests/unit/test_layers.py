"""The house's layering: no import cycle among pds, pds_core and pds_adapters, and no file over 400 lines.

Every import counts, also one inside a function (a cycle hidden in a function is still a cycle);
imports under `if TYPE_CHECKING:` do not. The adapters live in adapters/pds_adapters/ (or, before
that move, in pds_adapters/): both places are searched.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400


def package_roots() -> dict[str, Path]:
    """Import name -> the folder that holds it (its parent is the import root)."""
    found = {"pds": ROOT / "pds", "pds_core": ROOT / "pds_core"}
    for candidate in (ROOT / "adapters" / "pds_adapters", ROOT / "pds_adapters"):
        if candidate.is_dir():
            found["pds_adapters"] = candidate
            break
    return found


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for name, folder in package_roots().items():
        for path in folder.rglob("*.py"):
            parts = [name, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(sub) for sub in ast.walk(child))
    return skip


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - (node.level - 1)] + ([base] if base else []))
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            # a package's __init__ importing its own submodules is how a package exports names
            if name and name != module and not name.startswith(module + "."):
                found.add(name)
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(edges[root])))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles() -> None:
    found = modules()
    edges = {name: imports_of(name, path, set(found)) for name, path in found.items()}
    assert "pds_core.plan" in edges and "pds_adapters" in edges  # the walk found the packages
    assert cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]


def test_no_file_over_400_lines() -> None:
    over = {str(path.relative_to(ROOT)): n for path in modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert over == {}


def test_parsing_and_compiling_know_nothing_of_quality_publish_or_execution() -> None:
    found = modules()
    lower = ("pds_core.parser", "pds_core.compiler", "pds_core.render", "pds_core.nodes", "pds_core.validate",
             "pds_core.graph", "pds_core.lineage", "pds_core.state")
    upper = ("pds_core.quality", "pds_core.publish", "pds_core.execute", "pds_core.runners", "pds_core.commands",
             "pds_core.plan", "pds_core.api", "pds_core.cli")
    for name in lower:
        deps = imports_of(name, found[name], set(found))
        assert not [d for d in deps if d.startswith(upper)], name


def test_quality_and_publish_do_not_reach_into_each_other() -> None:
    found = modules()
    for name, path in found.items():
        for side, other in (("pds_core.quality", "pds_core.publish"), ("pds_core.publish", "pds_core.quality")):
            if name.startswith(side):
                assert not [d for d in imports_of(name, path, set(found)) if d.startswith(other)], name
