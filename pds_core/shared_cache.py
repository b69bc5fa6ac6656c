"""The user's cache folder, shared by every project, clone and branch on this machine.

Why: target/ belongs to one checkout. A new clone, a CI job whose cache folder is restored, or a
branch switch that changes a macro (a new parse-cache key) would otherwise compile everything from
nothing although this machine compiled the very same files before. What goes here is keyed by the
content it was computed from (and by pds's own code), so an entry can only be reused for the same
inputs: the parse cache per key (cache.py) and Jinja's compiled macro code (jinja/code_cache.py).

Where: $PDS_CACHE_DIR, else $XDG_CACHE_HOME/pds, else ~/.cache/pds. PDS_CACHE_DIR=off turns it off.
Files are the user's only (folder 0700, files 0600); the least recently used go first beyond a
count per kind, so the folder stays bounded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from importlib.util import find_spec
from pathlib import Path

ENV = "PDS_CACHE_DIR"
OFF = frozenset({"", "off", "none", "0", "false", "no"})
CODE_PACKAGES = ("pds_core", "pds_adapters", "pds")
LIBRARIES = ("sqlglot", "jinja2", "yaml", "networkx")

Stat = tuple[int, int, int, int]


def shared_folder() -> Path | None:
    """The shared cache folder, or None when PDS_CACHE_DIR turns it off or the folder is not the user's
    own (what is read from it is unpickled: a folder others may write to is never used, and said so)."""
    value = os.environ.get(ENV)
    if value is not None:
        if value.strip().lower() in OFF:
            return None
        folder = Path(value).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = Path(base) / "pds"
    return folder if _private(folder) else None


def _private(folder: Path) -> bool:
    """A folder that does not exist yet (it is made 0700), or one owned by this user that neither group
    nor others may write to."""
    try:
        st = folder.stat()
    except OSError:
        return True
    getuid = getattr(os, "getuid", None)
    if (getuid is None or st.st_uid == getuid()) and not st.st_mode & 0o022:
        return True
    import warnings

    from pds_core.not_acted_on import ProjectWarning

    warnings.warn(ProjectWarning(f"the cache folder {folder} is not used: others may write to it",
                                 hint=f"make it yours only (chmod 700 {folder}), or point {ENV} at another "
                                      f"folder ({ENV}=off turns the shared cache off)"), stacklevel=3)
    return False


def read(path: Path) -> bytes | None:
    """An entry's bytes (and it counts as used now), or None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # least recently used goes first
    return data


def write(path: Path, data: bytes, keep: int) -> None:
    """Write an entry atomically (private to the user), then drop the oldest beyond `keep` of its folder.
    A shared cache that cannot be written is no error: the command has its result already."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(path.parent, keep)
    except OSError:
        return


def _prune(folder: Path, keep: int) -> None:
    entries = []
    with os.scandir(folder) as found:
        for entry in found:
            if not entry.name.startswith(".") and entry.is_file():
                entries.append((entry.stat().st_mtime_ns, entry.path))
    if len(entries) > keep:
        for _mtime, path in sorted(entries)[: len(entries) - keep]:
            Path(path).unlink(missing_ok=True)


def stat(path: Path | str) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@functools.cache
def code_digest() -> str:
    """A digest of code_stats(), for keys (computed once per process)."""
    return hashlib.sha256(repr(code_stats()).encode()).hexdigest()


@functools.cache
def code_stats() -> tuple[tuple[str, Stat | None], ...]:
    """pds's own files and the libraries' (a change to pds's code is a change to every cached result);
    read once per process."""
    out: list[tuple[str, Stat | None]] = []
    for name in CODE_PACKAGES:
        spec = find_spec(name)
        for folder in spec.submodule_search_locations or [] if spec is not None else []:
            for dirpath, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                out.extend((os.path.join(dirpath, f), stat(os.path.join(dirpath, f)))
                           for f in sorted(files) if f.endswith((".py", ".sql", ".yml")))
    for name in LIBRARIES:
        spec = find_spec(name)
        origin = spec.origin if spec is not None else None
        out.append((name, stat(origin) if origin else None))
    return tuple(out)
