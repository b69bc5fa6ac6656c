"""pds: a project of SQL and Python models becomes a DAG that is built, checked and published.

The public API is `import pds` (pds/__init__.py); the same functions are here. The CLI is a thin
layer over them, which work the same from a notebook:

    import pds
    project = pds.load("my_project")
    result = pds.build(project, select=["+scores"])
    df = pds.show(project, "scores")

The commands are imported on first use (PEP 562): `pds --version` and `import pds_core.cli` must not
pay for sqlglot, pandas and DuckDB (docs/performance.md, start-up).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# the names pds_core.api exports; tests/unit/test_startup.py checks that this list is api.__all__
COMMANDS = ("build", "clean", "compile", "debug", "deps", "docs", "format_models", "init", "lineage", "load", "ls",
            "metrics", "parse", "publish", "retry", "run", "seed", "show", "snapshot", "source_freshness", "test")
__all__ = ["__version__", *COMMANDS]


def __getattr__(name: str) -> Any:
    if name in COMMANDS:
        from pds_core import api

        return getattr(api, name)
    raise AttributeError(f"module 'pds_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *COMMANDS])
