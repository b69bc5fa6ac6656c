"""The Python code Jinja compiles macro files into, kept in the user's shared cache folder.

Why: compiling pds's own macros (and a project's packages: dbt_utils alone has hundreds) into Python
costs every command that renders about 0.1 s before it renders anything, and the same text always
compiles to the same code. Jinja's own BytecodeCache serves only templates read through a loader;
macro files are compiled here macro by macro (jinja/macros.py), so their code objects are kept here,
keyed by everything the code depends on: the text and its file name, the environment's extensions
and undefined type, Jinja's and Python's versions, and pds's own code (shared_cache.code_digest).
"""

from __future__ import annotations

import marshal
import sys
from pathlib import Path
from types import CodeType
from typing import Any

KIND = "jinja"  # the shared folder's subfolder
KEEP = 4_000  # macro files kept there (the least recently used dropped)

Compiled = list[tuple[str, CodeType]]  # (macro name, its template's code), in file order


def _entry(folder: Path, env: Any, text: str, path: str) -> Path:
    import jinja2

    from pds_core.cache import digest
    from pds_core.shared_cache import code_digest

    key = digest(jinja2.__version__, sys.version, code_digest(), sorted(env.extensions),
                 getattr(env.undefined, "__qualname__", repr(env.undefined)), path, text)
    return folder / KIND / f"{key}.marshal"


def load(folder: Path | None, env: Any, text: str, path: str) -> Compiled | None:
    """The macros' code compiled from this text before, or None."""
    if folder is None:
        return None
    from pds_core import shared_cache

    data = shared_cache.read(_entry(folder, env, text, path))
    if data is None:
        return None
    try:
        found = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(found, list) or not all(isinstance(item, tuple) and len(item) == 2
                                              and isinstance(item[1], CodeType) for item in found):
        return None
    return found


def store(folder: Path | None, env: Any, text: str, path: str, compiled: Compiled) -> None:
    if folder is not None:
        from pds_core import shared_cache

        shared_cache.write(_entry(folder, env, text, path), marshal.dumps(compiled), KEEP)
