"""What a project's own Python files import: `from pds import check, metric, unit_test`.

The engine lives in pds_core; this package is the short, stable name for user code.
"""

from pds_core import __version__
from pds_core.quality.decorators import check, metric, unit_test

__all__ = ["__version__", "check", "metric", "unit_test"]
