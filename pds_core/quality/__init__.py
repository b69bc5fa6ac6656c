"""Quality: tests, checks, metrics and unit tests, gating the build, with their history in the warehouse.

User code imports the decorators: `from pds import check, metric, unit_test`
(or `from pds_core.quality import check, metric, unit_test`).
"""

from pds_core.quality.decorators import check, metric, unit_test

__all__ = ["check", "metric", "unit_test"]
