"""pds, the public API: everything the `pds` command does, as functions, for notebooks and orchestrators,
and the decorators a project's own Python files use.

    import pds
    project = pds.load("my_project")                 # pds_project.yml + the target from profiles.yml
    result = pds.build(project, select=["+churn_scores"])
    pds.show(project, "churn_scores")                # a pandas DataFrame
    pds.retry(project)                               # what failed or did not run, on the last run's target

    from pds import check, metric, unit_test         # in tests/*.py of a project

The engine lives in pds_core (see docs/architecture.md); this package is the short, stable name. Its
names are imported on first use, so `import pds` costs little until a command runs.
"""

from __future__ import annotations

from typing import Any

from pds_core import COMMANDS, __version__

DECORATORS = ("check", "metric", "unit_test")
__all__ = ["__version__", *COMMANDS, *DECORATORS]


def __getattr__(name: str) -> Any:
    if name in COMMANDS:
        from pds_core import api

        return getattr(api, name)
    if name in DECORATORS:
        from pds_core.quality import decorators

        return getattr(decorators, name)
    raise AttributeError(f"module 'pds' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *COMMANDS, *DECORATORS])
