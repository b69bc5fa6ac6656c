"""The one error type a user can cause, carrying where it happened and what to do.

Defined in the bottom layer (pds_adapters.errors), which the adapters raise without knowing pds_core;
re-exported here so the core imports it from its own package.
"""

from pds_adapters.errors import ConnectionFailed, Location, ProjectError, ProjectErrors, did_you_mean

__all__ = ["ConnectionFailed", "Location", "ProjectError", "ProjectErrors", "did_you_mean"]
