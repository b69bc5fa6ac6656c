"""pds, the public API: everything the `pds` command does, as functions, for notebooks and orchestrators,
and the decorators a project's own Python files use.

    import pds
    project = pds.load("my_project")                 # pds_project.yml + the target from profiles.yml
    result = pds.build(project, select=["+churn_scores"])
    pds.show(project, "churn_scores")                # a pandas DataFrame
    pds.retry(project)                               # what failed or did not run, on the last run's target

    from pds import check, metric, unit_test         # in tests/*.py of a project

The engine lives in pds_core (see docs/architecture.md); this package is the short, stable name.
"""

from pds_core import __version__
from pds_core.api import *  # noqa: F403  # the commands, as functions
from pds_core.api import __all__ as _commands
from pds_core.quality.decorators import check, metric, unit_test

__all__ = ["__version__", *_commands, "check", "metric", "unit_test"]
