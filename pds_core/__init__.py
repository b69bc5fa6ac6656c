"""pds: a project of SQL and Python models becomes a DAG that is built, checked and published.

The public API is `import pds` (pds/__init__.py); the same functions are here. The CLI is a thin
layer over them, which work the same from a notebook:

    import pds
    project = pds.load("my_project")
    result = pds.build(project, select=["+scores"])
    df = pds.show(project, "scores")
"""

__version__ = "0.1.0"

from pds_core.api import (  # noqa: E402
    build,
    clean,
    compile,
    debug,
    docs,
    init,
    lineage,
    load,
    ls,
    metrics,
    parse,
    publish,
    retry,
    run,
    seed,
    show,
    test,
)

__all__ = ["__version__", "build", "clean", "compile", "debug", "docs", "init", "lineage", "load", "ls", "metrics",
           "parse", "publish", "retry", "run", "seed", "show", "test"]
