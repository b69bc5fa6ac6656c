"""sqlglot, imported when an adapter first builds a statement rather than when its class is imported.

Why: `import pds_adapters.duckdb` happens on every command that loads a project (profiles.yml is
checked against the adapter's keys), and importing sqlglot costs ~60 ms. `pds ls`, a warm `pds compile`
(a replay: warm.py), `pds clean` or `pds debug` build no SQL and should not pay it (issue 17, start-up).

The adapter modules write `exp.Table(...)` as usual; `exp` here is a stand-in that imports
sqlglot.expressions on its first attribute access and then keeps each name it hands out as its own
attribute, so later look-ups are plain attribute reads. Type checkers see the real modules:

    if TYPE_CHECKING:
        from sqlglot import exp
    else:
        from pds_adapters.lazy import exp
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """A module imported on first use (attribute access); each attribute is kept once read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # copy/pickle/inspect probing the stand-in itself: never an import
            raise AttributeError(attr)
        value = getattr(importlib.import_module(self._name), attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


exp = LazyModule("sqlglot.expressions")
sqlglot = LazyModule("sqlglot")
