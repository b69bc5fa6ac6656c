"""Version requirements: require-pds-version against pds, require-dbt-version against the dbt-core version
whose projects pds reads (dbt_keys.DBT_COMPATIBLE_VERSION)."""

from __future__ import annotations

from typing import Any

from pds_core.dbt_keys import DBT_COMPATIBLE_VERSION
from pds_core.errors import ProjectError


def check_pds_version(required: Any, path: str, line: int | None) -> None:
    """require-pds-version, as dbt's require-dbt-version: a range (">=0.1,<0.3") or a list of them;
    a bare version means exactly that one. Outside the range, the project does not load."""
    if required is None:
        return
    spec, wanted = version_spec(required, "require-pds-version", path, line)
    installed = installed_version()
    if not spec.contains(installed, prereleases=True):
        raise ProjectError(f"this project requires pds {wanted}, but pds {installed} is installed", path, line,
                           hint=f"install a pds in that range (pip install 'pds{wanted}'), "
                                "or change require-pds-version in pds_project.yml")


def version_spec(required: Any, key: str, path: str, line: int | None) -> tuple[Any, str]:
    """A dbt-style version requirement (a range, a list of ranges, a bare version) as a SpecifierSet."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    items = required if isinstance(required, list) else [required]
    parts = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    wanted = ",".join(f"=={p}" if p[0].isdigit() else "==" + p[1:] if p.startswith("=") and p[1:2] != "="
                      else p for p in parts)
    try:
        return SpecifierSet(wanted), wanted
    except InvalidSpecifier:
        raise ProjectError(f"{key} {required!r} is not a version range", path, line,
                           hint=f'e.g. {key}: ">=1.0.0,<2.0.0" (or a list of such ranges)') from None


def installed_version() -> str:
    """pds's version as `pds --version` says it (the installed distribution's), else the package's."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pds")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return str(sys.modules["pds_core"].__version__)


def check_dbt_version(required: Any, path: str, line: int | None) -> None:
    """require-dbt-version, checked as dbt checks it, against the dbt version pds reads projects of."""
    if required is None:
        return
    spec, wanted = version_spec(required, "require-dbt-version", path, line)
    if not spec.contains(DBT_COMPATIBLE_VERSION, prereleases=True):
        raise ProjectError(f"this project requires dbt {wanted}; pds reads the projects of dbt {DBT_COMPATIBLE_VERSION}",
                           path, line, hint="pds builds dbt projects as dbt-core "
                           f"{DBT_COMPATIBLE_VERSION} does; widen require-dbt-version if the project works with it")
