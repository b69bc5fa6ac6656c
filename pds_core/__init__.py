"""pds: a project of SQL and Python models becomes a DAG that is built, checked and published.

The public API is `import pds` (pds/__init__.py); the same functions are here. The CLI is a thin
layer over them, which work the same from a notebook:

    import pds
    project = pds.load("my_project")
    result = pds.build(project, select=["+scores"])
    df = pds.show(project, "scores")
"""

__version__ = "0.1.0"

from pds_core.api import *  # noqa: E402, F403  # the commands, as functions (pds/__init__.py is the public name)
from pds_core.api import __all__ as _commands  # noqa: E402

__all__ = ["__version__", *_commands]
