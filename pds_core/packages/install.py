"""`pds deps`: resolve packages.yml (and what each package needs in turn) to exact versions, write them in
package-lock.yml as `dbt deps` writes it, and install them into packages-install-path (dbt_packages/).

As dbt: a lock written for the same packages.yml is installed as it is (its hash says so); --upgrade
resolves again. Hub packages take the highest version every requirement allows; a git package is pinned
to the commit its revision names; a local package is linked. The new dbt_packages/ replaces the old
one only once every package is in place, so a failed `pds deps` leaves the installed packages as they were.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pds_core.config import DBT_PROJECT_FILE
from pds_core.errors import ProjectError
from pds_core.packages.fetch import git_checkout, place, unpack
from pds_core.packages.hub import Hub, download
from pds_core.packages.spec import LOCK_FILE, PackageSpec, _spec, read_package_specs, specs_hash
from pds_core.yamlio import load_yaml_file


@dataclass
class Pinned:
    """A package at one exact version: what is installed, and its line of package-lock.yml."""

    spec: PackageSpec
    version: str | None = None  # hub: the version; git: the commit
    latest: str | None = None  # hub: the newest installable version (to say an update is available)
    name: str = ""  # its project name (the folder it is installed as)
    folder: Path | None = None  # its files, fetched (local: the folder itself)
    tarball: str | None = None
    needs: list[PackageSpec] = field(default_factory=list)

    def lock_entry(self) -> dict[str, Any]:
        spec = self.spec
        if spec.kind == "hub":
            entry: dict[str, Any] = {"package": spec.source, "version": self.version}
        elif spec.kind == "git":
            entry = {"git": spec.unrendered.get("git", spec.source), "revision": self.version}
            if spec.subdirectory:
                entry["subdirectory"] = spec.subdirectory
        else:
            entry = {spec.kind: spec.source}
        return {**entry, "name": self.name}


@dataclass
class DepsResult:
    installed: list[Pinned]
    lock_written: bool
    messages: list[str]


class Installer:
    """One `pds deps`: a download folder, the hub's answers, and the packages fetched so far."""

    def __init__(self, root: Path, cli_vars: dict[str, Any], say: Callable[[str], None]) -> None:
        self.root, self.cli_vars, self.say = root, cli_vars, say
        self.hub = Hub()
        self.work = Path(tempfile.mkdtemp(prefix="pds-deps-"))
        self._fetched: dict[tuple[Any, ...], Pinned] = {}

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    # ---- resolving -------------------------------------------------------------------------------
    def resolve(self, specs: list[PackageSpec]) -> list[Pinned]:
        """Every package the project needs, directly or through another, each pinned once."""
        wanted: dict[str, PackageSpec] = {}
        pending = list(specs)
        while pending:
            more: list[PackageSpec] = []
            for spec in pending:
                key = _key(spec)
                if key in wanted:
                    wanted[key] = _merge(wanted[key], spec)
                else:
                    wanted[key] = spec
                more += self.pin(wanted[key]).needs
            pending = [s for s in more if _key(s) not in wanted or _adds(wanted[_key(s)], s)]
        pinned = [self.pin(spec) for spec in wanted.values()]
        names: dict[str, Pinned] = {}
        for p in pinned:
            if p.name in names:
                raise ProjectError(f"two packages are named {p.name!r}: {names[p.name].spec.source} and {p.spec.source}",
                                   p.spec.path, p.spec.line, hint="list the package once")
            names[p.name] = p
        return pinned

    def pin(self, spec: PackageSpec, version: str | None = None) -> Pinned:
        """The spec at an exact version (the lock's, or the one its requirements pick), fetched."""
        key = (_key(spec), tuple(spec.versions), version)
        if key in self._fetched:
            return self._fetched[key]
        what = f"package {spec.source!r}"
        pinned = Pinned(spec)
        if spec.kind == "hub":
            if version is None:
                version, latest, meta = self.hub.pick(spec.source, spec.versions, spec.install_prerelease,
                                                      spec.path, spec.line)
            else:
                latest, meta = None, self.hub.package(spec.source, spec.path, spec.line).versions.get(version)
                if meta is None:
                    raise ProjectError(f"{spec.source} {version} is not on the package hub", LOCK_FILE,
                                       hint="run `pds deps --upgrade` to resolve packages.yml again")
            info = self.hub.package(spec.source)
            if info.redirect:
                self.say(f"Warning: {spec.source} has moved to {info.redirect}; update packages.yml")
            pinned.version, pinned.latest, pinned.name = version, latest, str(meta.get("name") or "")
            pinned.tarball = str((meta.get("downloads") or {}).get("tarball") or "")
            pinned.needs = [_spec(e, e, f"{spec.source}@{version}", None) for e in meta.get("packages") or []]
        elif spec.kind == "local":
            pinned.folder = (self.root / spec.source).resolve()
            if not (pinned.folder / DBT_PROJECT_FILE).is_file():
                raise ProjectError(f"local package {spec.source!r}: no {DBT_PROJECT_FILE} in {pinned.folder}",
                                   spec.path, spec.line, hint="local: is a path from the project folder to a dbt project")
        elif spec.kind == "git":
            checkout = self.work / f"git-{len(self._fetched)}"
            revision = version or (spec.versions[0] if spec.versions else None)
            pinned.version = git_checkout(spec.source, revision, checkout, what)
            if revision in (None, "HEAD", "main", "master") and spec.warn_unpinned and version is None:
                self.say(f"Warning: git package {spec.unrendered.get('git', spec.source)} is not pinned to a tag or "
                         "commit (revision: " + (revision or "HEAD") + "); package-lock.yml pins this commit")
            pinned.folder = checkout / spec.subdirectory if spec.subdirectory else checkout
        else:  # tarball
            pinned.tarball = spec.source
        if pinned.tarball and pinned.folder is None:
            archive = self.work / f"download-{len(self._fetched)}.tar.gz"
            download(pinned.tarball, str(archive), what)
            target = self.work / f"unpacked-{len(self._fetched)}"
            target.mkdir()
            pinned.folder = unpack(archive, target, what)
        if spec.kind != "hub":
            pinned.name, pinned.needs = self._project_of(pinned, what)
        self._fetched[key] = pinned
        return pinned

    def _project_of(self, pinned: Pinned, what: str) -> tuple[str, list[PackageSpec]]:
        folder = pinned.folder
        assert folder is not None
        if not (folder / DBT_PROJECT_FILE).is_file():
            raise ProjectError(f"{what} has no {DBT_PROJECT_FILE}" + (f" in {pinned.spec.subdirectory}/"
                               if pinned.spec.subdirectory else ""), pinned.spec.path, pinned.spec.line,
                               hint="a package is a dbt project; for a repository holding one in a folder, "
                                    "set subdirectory:")
        data = load_yaml_file(folder / DBT_PROJECT_FILE, f"{pinned.spec.source}/{DBT_PROJECT_FILE}")
        name = data.get("name") if isinstance(data, dict) else None
        if not name:
            raise ProjectError(f"{what}: its {DBT_PROJECT_FILE} has no name:", pinned.spec.path, pinned.spec.line)
        return str(pinned.spec.name or name), read_package_specs(folder, self.cli_vars, strict=False)[0]

    # ---- installing ------------------------------------------------------------------------------
    def install(self, pinned: list[Pinned], dest: Path) -> None:
        """Put every package in a new folder, then swap it for dest (the old one is removed last)."""
        fresh = dest.with_name(f".{dest.name}.installing")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        try:
            for p in pinned:
                self.say(f"Installing {p.spec.source}" + (f" ({p.version})" if p.version else ""))
                assert p.folder is not None
                target = fresh / p.name
                if target.resolve().parent != fresh.resolve():
                    raise ProjectError(f"package name {p.name!r} would install outside {dest.name}/")
                place(p.folder, target, link=p.spec.kind == "local")
                if p.latest and p.latest != p.version:
                    self.say(f"  an update is available: {p.spec.source} {p.latest}")
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            if dest.exists() or dest.is_symlink():
                dest.rename(old)
            fresh.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)


def deps(root: Path, install_path: str, cli_vars: dict[str, Any], upgrade: bool = False, lock_only: bool = False,
         say: Callable[[str], None] = lambda _m: None) -> DepsResult:
    """Resolve (or read package-lock.yml), write the lock, install. See the module's docstring."""
    specs, spec_file = read_package_specs(root, cli_vars)
    lock_path = root / LOCK_FILE
    messages: list[str] = []
    installer = Installer(root, cli_vars, lambda m: (messages.append(m), say(m)))
    try:
        if not specs:
            say(f"No packages listed in {spec_file}: nothing to install")
            return DepsResult([], False, messages)
        current = specs_hash(specs)
        lock = load_yaml_file(lock_path, LOCK_FILE) if lock_path.is_file() else None
        use_lock = isinstance(lock, dict) and lock.get("sha1_hash") == current and not upgrade
        if use_lock:
            entries = lock.get("packages") or []
            pinned = [installer.pin(_spec(e, e, LOCK_FILE, entries.line_of(i)), _locked_version(e))
                      for i, e in enumerate(entries)]
        else:
            pinned = installer.resolve(specs)
            write_lock(lock_path, pinned, current)
            say(f"Updated {LOCK_FILE}")
        if not lock_only:
            installer.install(pinned, root / install_path)
        return DepsResult(pinned, not use_lock, messages)
    finally:
        installer.close()


def write_lock(path: Path, pinned: list[Pinned], digest: str) -> None:
    """package-lock.yml as dbt 1.7+ writes it (same keys, order and indentation)."""

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
            return super().increase_indent(flow, False)

    data = {"packages": [p.lock_entry() for p in pinned], "sha1_hash": digest}
    path.write_text(yaml.dump(data, Dumper=Dumper, default_flow_style=False), encoding="utf-8")


def _locked_version(entry: dict[str, Any]) -> str | None:
    value = entry.get("version") if "package" in entry else entry.get("revision")
    return str(value) if value is not None else None


def _key(spec: PackageSpec) -> str:
    """How two entries name the same package (a git URL with or without .git is one package)."""
    if spec.kind == "git":
        url = spec.source[:-4] if spec.source.endswith(".git") else spec.source
        return f"git:{url}/{spec.subdirectory or ''}"
    return f"{spec.kind}:{spec.source}"


def _merge(old: PackageSpec, new: PackageSpec) -> PackageSpec:
    if old.kind != new.kind:
        raise ProjectError(f"package {new.source!r} is listed as {old.kind} and as {new.kind}", new.path, new.line)
    if old.kind == "hub":
        return PackageSpec(**{**old.__dict__, "versions": list(dict.fromkeys(old.versions + new.versions)),
                              "install_prerelease": old.install_prerelease or new.install_prerelease})
    if old.kind == "git" and new.versions and old.versions and new.versions != old.versions:
        raise ProjectError(f"git package {new.source!r} is wanted at two revisions: {old.versions[0]} and "
                           f"{new.versions[0]}", new.path, new.line, hint="pin one revision in packages.yml")
    return old if old.versions or not new.versions else new


def _adds(old: PackageSpec, new: PackageSpec) -> bool:
    """Does a newly found requirement narrow what is already wanted (so it must be resolved again)?"""
    return old.kind == "hub" and not set(new.versions) <= set(old.versions)
