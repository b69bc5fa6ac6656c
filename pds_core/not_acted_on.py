"""Keys pds knows but does not act on yet: one list, one warning, no effect on fingerprints."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Keys pds accepts so dbt projects load, but does not act on yet: THE one list. Every place that
# accepts them (pds_project.yml, schema YAML, config() in SQL, ctx.config() in Python) warns through
# warn_not_acted_on(), naming the key and where it was written, and none of them changes a
# fingerprint (state.py). A key leaves this list the day pds acts on it. Mapping: where the key is
# written -> key -> what happens instead.
NOT_ACTED_ON: dict[str, dict[str, str]] = {
    "config": {
        "pre_hook": "no hook runs before the node",
        "post_hook": "no hook runs after the node",
        "grants": "no grants are given",
        "persist_docs": "descriptions are not written to the warehouse",
        "on_schema_change": "an incremental model behaves as with on_schema_change: ignore",
        "quote_columns": "seed columns are quoted only where their names need it",
        "packages": "the Python model runs with the packages installed where pds runs",
    },
    "pds_project.yml": {
        "sources": "configure sources in schema YAML (sources: in models/*.yml)",
    },
    "schema file": {
        "exposures": "exposures are not read", "macros": "macro properties are not read",
        "metrics": "dbt semantic-layer metrics are not read (pds metrics go under a model's metrics:)",
    },
    "model entry": {
        "access": "models are not grouped or access-checked", "versions": "model versions are not built",
        "latest_version": "model versions are not built",
    },
    "column": {
        "constraints": "constraints are not created (a contract checks names and types)",
        "quote": "column names are quoted where they need it",
    },
    "source": {"config": "source config is not applied (tags: and meta: on the source are)",
               "overrides": "package sources are not overridden"},
    "unit test": {"versions": "model versions are not built: the unit test applies to the model's one definition"},
    "source table": {"external": "external tables are not created",
                     "config": "source config is not applied (tags: and meta: on the table are)"},
}


class ProjectWarning(UserWarning):
    """Something in the project that does not stop it but must not pass silently (file:line + hint).

    Emitted with warnings.warn, so Python callers see it as any library warning; the CLI prints
    it as `Warning: file:line: ...` (or a JSON event), once per place.
    """

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.line, self.hint = message, path, line, hint

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.path, self.line) if p)
        text = f"{where}: {self.message}" if where else self.message
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


def warn_not_acted_on(data: Mapping[str, Any], path: Path | str | None, what: str, kind: str = "config",
                      line: int | None = None, text: str | None = None,
                      line_of: Any = None) -> list[str]:
    """Warn about each key of `data` that pds knows but does not act on yet; returns those keys.

    The line is the key's own (YAML, or `line_of`), else the line of `text` that names it, else `line`.
    """
    line_of = line_of or getattr(data, "line_of", None)
    found = [k for k in data if isinstance(k, str) and k.lstrip("+") in NOT_ACTED_ON[kind]]
    for key in found:
        where = line_of(key) if line_of else _line_naming(text, key.lstrip("+")) or line
        warnings.warn(ProjectWarning(f"{key!r} in {what} is accepted but not acted on yet: "
                                     f"{NOT_ACTED_ON[kind][key.lstrip('+')]}", path, where,
                                     hint="remove it to silence this warning"), stacklevel=2)
    return found


def _line_naming(text: str | None, key: str) -> int | None:
    pattern = re.compile(rf"\b{re.escape(key)}\b")
    return next((n for n, line in enumerate((text or "").splitlines(), 1) if pattern.search(line)), None)


def acted_on(keys: Iterable[str]) -> tuple[str, ...]:
    """The given config keys minus those pds does not act on yet (for fingerprints)."""
    return tuple(k for k in keys if k not in NOT_ACTED_ON["config"])
