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
        "packages": "the Python model runs with the packages installed where pds runs",
    },
    "pds_project.yml": {  # the project file's own keys (pds_project.yml or dbt_project.yml)
        "analyses": "analyses are not compiled yet",
        "asset-paths": "assets are not copied into the docs site", "log-path": "pds writes no log file",
        "dbt-cloud": "dbt Cloud settings are not used", "quoting": "relation names are quoted where they need it",
        "query-comment": "no comment is added to the SQL sent",
        "flags": "dbt's behaviour flags do not apply (docs/dbt-compatibility.md says how pds behaves)",
        "unit_tests": "unit tests take their config from their own YAML only",
        "metrics": "the semantic layer is kept in the manifest, not executed",
        "semantic-models": "the semantic layer is kept in the manifest, not executed",
        "saved-queries": "the semantic layer is kept in the manifest, not executed",
        "exposures": "exposures are not read", "restrict-access": "model access is not checked",
        "functions": "user-defined functions are not created", "function-paths": "user-defined functions are not created",
        "sync": "nothing is synced",
    },
    "files": {  # files found in the project's folders that pds does not build yet
        "analyses": "analyses (analysis-paths) are not compiled yet",
    },
    "schema file": {
        "functions": "user-defined functions are not created",
    },
    "model entry": {
        "access": "models are not access-checked (any model may ref any other)",
        "group": "models are not access-checked (any model may ref any other)",
        "versions": "model versions are not built", "latest_version": "model versions are not built",
        "deprecation_date": "referring to a deprecated model gives no warning",
    },
    "column": {
        "policy_tags": "no policy tags are set", "column_mask": "no column masks are set",
        "databricks_tags": "no tags are set",
    },
    "source": {"overrides": "package sources are not overridden"},
    "unit test": {"versions": "model versions are not built: the unit test applies to the model's one definition"},
    "source table": {"external": "external tables are not created"},
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
