"""Building the Renderer of a loaded project: its target, vars by package, dispatch orders, and every
macro (pds's `dbt` package, the installed packages', the project's) with the docs blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pds_core.jinja.context import target_context
from pds_core.jinja.macros import INTERNAL
from pds_core.jinja.packages import dispatch_orders, package_macros
from pds_core.render import Renderer
from pds_core.shared_cache import shared_folder

INTERNAL_MACROS = Path(__file__).parent / "macros"


def internal_macro_files(adapter_type: str) -> list[Path]:
    """pds's `dbt` package: the global macros, then the target adapter's versions."""
    files = sorted((INTERNAL_MACROS / "global").glob("*.sql"))
    own = INTERNAL_MACROS / "adapters" / f"{adapter_type}.sql"
    return files + ([own] if own.is_file() else [])


def make_renderer(project: Any, flags: dict[str, Any] | None = None) -> Renderer:
    """A Renderer for the project: its target (secrets left out), vars by package, dispatch orders."""
    from pds_core.profiles import is_secret_key

    target = project.target
    database = None
    try:
        from pds_adapters import adapter_class

        database = adapter_class(target.type)(target).default_database()
    except Exception:  # noqa: BLE001 - an adapter that cannot say keeps target.database unset
        database = None
    context = target_context(target, database, is_secret_key)
    context.setdefault("profile_name", getattr(project.config, "profile", None))
    packages = package_macros(project)
    raw = getattr(project.config, "raw", None) or {}
    renderer = Renderer(project.name, project.vars, context, cli_vars=getattr(project, "cli_vars", {}),
                        package_vars={p.name: p.vars for p in packages}, dispatch=dispatch_orders(project.config),
                        quoting=raw.get("quoting") if isinstance(raw.get("quoting"), dict) else None, flags=flags)
    renderer.packages = packages
    renderer.code_cache = shared_folder()
    return renderer


def load_macros(renderer: Renderer, project: Any, root_texts: dict[str, str]) -> dict[str, str]:
    """Compile every macro: pds's `dbt` package, then each installed package's, then the project's
    (returned: the project's macro names -> file). Docs blocks are read at the same time."""
    from pds_core.jinja.docs import docs_files

    for path in internal_macro_files(renderer.adapter_type):
        rel = path.relative_to(INTERNAL_MACROS).as_posix()
        renderer.add_macros(path.read_text(encoding="utf-8"), f"<pds>/macros/{rel}", INTERNAL)
    for package in getattr(renderer, "packages", []):
        for rel in package.macro_files:
            text = (package.root / rel).read_text(encoding="utf-8")
            renderer.add_macros(text, _display(project.root, package.root / rel), package.name)
        renderer.docs.read_files(package.name, package.root, package.docs_files,
                                 lambda rel, root=package.root: _display(project.root, root / rel))
    names: dict[str, str] = {}
    for path, text in root_texts.items():
        for name in renderer.add_macros(text, path):
            names[name] = path
    folders = getattr(project.files, "docs", None)
    if folders is None:
        config = project.config
        roots = [*config.model_paths, *config.seed_paths, *config.test_paths, *config.macro_paths,
                 *(raw_list(config, "docs-paths")), *(raw_list(config, "analysis-paths")),
                 *(raw_list(config, "snapshot-paths"))]
        folders = docs_files(project.root, roots)
    renderer.docs.read_files(project.name, project.root, folders, lambda rel: rel)
    return names


def raw_list(config: Any, key: str) -> list[str]:
    value = (getattr(config, "raw", None) or {}).get(key)
    return [str(v) for v in value] if isinstance(value, list) else []


def package_texts(renderer: Renderer) -> list[tuple[str, str, str]]:
    """(package, file, text) of every package macro file: what the parse cache key must cover."""
    out = []
    for package in getattr(renderer, "packages", []):
        for rel in package.macro_files:
            out.append((package.name, rel, (package.root / rel).read_text(encoding="utf-8")))
    return out


def _display(project_root: Path, path: Path) -> str:
    try:
        return path.relative_to(project_root).as_posix()
    except ValueError:
        return str(path)


def cache_key(project: Any, macro_texts: dict[str, str], packages: list[Any] | None = None) -> str:
    """Everything every file's rendering depends on: a change here invalidates the whole cache (pds's own
    code included: the key also names the cache in the user's shared folder)."""
    from pds_core import __version__
    from pds_core.cache import digest
    from pds_core.shared_cache import code_digest

    target = project.target
    internal = [p.read_text(encoding="utf-8") for p in internal_macro_files(target.type)]
    return digest(__version__, code_digest(), project.config.raw, [p.config.raw for p in project.packages], project.vars,
                  target.name, target.type, target.schema,
                  target.settings.get("database"), target.settings.get("project"), sorted(macro_texts.items()),
                  packages or [], internal)
