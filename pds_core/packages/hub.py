"""The dbt package hub: a package's versions from its public API, and the version a requirement picks.

GET <hub>/api/v1/<org>/<package>.json answers {"name", "versions": {"1.1.1": {"name": <project name>,
"packages": [<its packages.yml entries>], "downloads": {"tarball": <url>}, "require_dbt_version": [...]}}}.
The hub is https://hub.getdbt.com/ unless DBT_PACKAGE_HUB_URL (or PDS_PACKAGE_HUB_URL) names another,
as dbt allows (a mirror, or a test's server).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pds_core.dbt_keys import DBT_COMPATIBLE_VERSION
from pds_core.errors import ProjectError

DEFAULT_HUB = "https://hub.getdbt.com/"


def hub_url() -> str:
    base = os.environ.get("PDS_PACKAGE_HUB_URL") or os.environ.get("DBT_PACKAGE_HUB_URL") or DEFAULT_HUB
    return base if base.endswith("/") else base + "/"


@dataclass
class HubPackage:
    """What the hub says of one package."""

    package: str  # org/name
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    redirect: str | None = None  # the package's new org/name, when it moved


class Hub:
    """The hub's answers, fetched once per package per `pds deps`."""

    def __init__(self, base: str | None = None, timeout: float = 30) -> None:
        self.base = base or hub_url()
        self.timeout = timeout
        self._cache: dict[str, HubPackage] = {}

    def package(self, name: str, path: str | None = None, line: int | None = None) -> HubPackage:
        if name not in self._cache:
            url = f"{self.base}api/v1/{name}.json"
            data = fetch_json(url, f"package {name!r}", path, line, self.timeout)
            if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
                raise ProjectError(f"the package hub answered {url} without a versions: mapping", path, line,
                                   hint="check DBT_PACKAGE_HUB_URL, or try again later")
            redirect = None
            if data.get("redirectnamespace") or data.get("redirectname"):
                redirect = f"{data.get('redirectnamespace') or data.get('namespace')}/" \
                           f"{data.get('redirectname') or data.get('name')}"
            self._cache[name] = HubPackage(name, data["versions"], redirect)
        return self._cache[name]

    def pick(self, name: str, requirements: list[str], prerelease: bool, path: str | None = None,
             line: int | None = None) -> tuple[str, str, dict[str, Any]]:
        """(version, latest installable version, that version's metadata) for the requirements: the highest
        version that meets them all among those that declare dbt 1.11 compatible, as `dbt deps` picks."""
        info = self.package(name, path, line)
        spec = requirement(requirements, name, path, line)
        wants_pre = prerelease or any(_is_prerelease(r) for r in requirements)
        installable = sorted((v for v, meta in info.versions.items()
                              if _version(v) is not None and _compatible(meta) and (wants_pre or not _version(v).is_prerelease)),
                             key=_version)  # type: ignore[arg-type, return-value]
        matching = [v for v in installable if spec.contains(_version(v), prereleases=True)]  # type: ignore[arg-type]
        if not matching:
            shown = ", ".join(installable[-8:]) or "none"
            raise ProjectError(f"no version of {name} meets {', '.join(requirements)} (and dbt {DBT_COMPATIBLE_VERSION})",
                               path, line, hint=f"versions on the hub: {shown}")
        return matching[-1], installable[-1], info.versions[matching[-1]]


def requirement(requirements: list[str], name: str, path: str | None, line: int | None) -> SpecifierSet:
    """dbt's version requirements (`1.1.1`, `=1.1.1`, `>=1.0.0`, a list of them: all must hold)."""
    parts = [p.strip() for r in requirements for p in str(r).split(",") if p.strip()]
    text = ",".join("==" + p.lstrip("=") if p[0].isdigit() or (p.startswith("=") and p[1:2] != "=") else p
                    for p in parts)
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ProjectError(f"version {requirements!r} of {name} is not a version or range", path, line,
                           hint='e.g. version: [">=1.0.0", "<2.0.0"] or version: 1.3.0') from None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _is_prerelease(text: str) -> bool:
    version = _version(str(text).lstrip("<>=!~ "))
    return bool(version and version.is_prerelease)


def _compatible(meta: Any) -> bool:
    """Does this version declare itself compatible with the dbt version pds reads projects of?"""
    required = meta.get("require_dbt_version") if isinstance(meta, dict) else None
    if not required:
        return True
    try:
        return requirement(required if isinstance(required, list) else [required], "", None, None).contains(
            DBT_COMPATIBLE_VERSION, prereleases=True)
    except ProjectError:
        return True


def fetch_json(url: str, what: str, path: str | None, line: int | None, timeout: float = 30) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (the hub's own URL)
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise ProjectError(f"{what} is not on the package hub ({url})", path, line,
                               hint="check the org/name on hub.getdbt.com") from None
        raise ProjectError(f"the package hub answered {exc.code} for {url}", path, line,
                           hint="try again later, or set DBT_PACKAGE_HUB_URL to a mirror") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ProjectError(f"cannot read {url}: {reason}", path, line,
                           hint="check the network (and DBT_PACKAGE_HUB_URL); installed packages stay as they are"
                           ) from None


def download(url: str, dest: str, what: str, timeout: float = 60) -> None:
    """Fetch a file (a package tarball) to dest."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:  # noqa: S310
            while chunk := response.read(1 << 16):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise ProjectError(f"cannot download {what} from {url}: {getattr(exc, 'reason', exc)}",
                           hint="check the network; installed packages stay as they are") from None
