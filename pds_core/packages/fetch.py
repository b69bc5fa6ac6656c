"""Getting a package's files: a git checkout (the git command line), a tarball unpacked safely, a local folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from pds_core.errors import ProjectError

_SHA = re.compile(r"^[0-9a-f]{40}$")


def git(args: list[str], cwd: Path | None, what: str) -> str:
    """Run git; a failure is a project error naming the package (git's own message, credentials removed)."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"})
    except FileNotFoundError:
        raise ProjectError(f"{what} is a git package, but git is not installed",
                           hint="install git (https://git-scm.com) and run `pds deps` again") from None
    if done.returncode != 0:
        message = re.sub(r"://[^/@\s]+@", "://****@", (done.stderr or done.stdout).strip().splitlines()[-1]
                         if (done.stderr or done.stdout).strip() else f"git {args[0]} failed")
        raise ProjectError(f"{what}: {message}", hint="check the git URL and revision in packages.yml")
    return done.stdout.strip()


def git_checkout(url: str, revision: str | None, into: Path, what: str) -> str:
    """Clone `url` into `into` at `revision` (a branch, tag or commit; None: the default branch);
    returns the commit checked out."""
    git(["clone", "--quiet", "--no-checkout", url, str(into)], None, what)
    target = revision or "HEAD"
    if revision and not _SHA.match(revision):
        tags = git(["tag", "--list", revision], into, what)
        if not tags and git(["branch", "--remotes", "--list", f"origin/{revision}"], into, what):
            target = f"origin/{revision}"
    try:
        git(["checkout", "--quiet", "--detach", target], into, what)
    except ProjectError:
        raise ProjectError(f"{what}: revision {revision!r} is not a branch, tag or commit of {_scrub(url)}",
                           hint="check revision: in packages.yml") from None
    return git(["rev-parse", "HEAD"], into, what)


def _scrub(url: str) -> str:
    return re.sub(r"://[^/@\s]+@", "://****@", url)


def unpack(tarball: Path, into: Path, what: str) -> Path:
    """Unpack a package tarball into `into`; returns the package's folder (the tarball's one top folder,
    or `into` itself). Members that would land outside, links and devices are refused."""
    try:
        with tarfile.open(tarball, "r:*") as archive:
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ProjectError(f"cannot unpack {what}: {exc}", hint="the download may be broken; run `pds deps` again"
                           ) from None
    entries = [p for p in into.iterdir() if not p.name.startswith("pax_global_header")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


def place(source: Path, dest: Path, link: bool) -> None:
    """Put a package's folder at dest: a symlink to a local package (a copy where links are not allowed),
    otherwise moved there."""
    if link:
        try:
            dest.symlink_to(source.resolve(), target_is_directory=True)
            return
        except OSError:
            shutil.copytree(source, dest, symlinks=True)
            return
    shutil.move(str(source), str(dest))
    git_dir = dest / ".git"
    if git_dir.is_dir():
        shutil.rmtree(git_dir)
