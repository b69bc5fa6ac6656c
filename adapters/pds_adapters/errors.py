"""The one error type a user can cause, carrying where it happened and what to do.

It lives here, in the bottom layer, because the adapters raise it too (an unreachable warehouse, a
bad profile key) and they know nothing of pds_core; pds_core.errors re-exports it unchanged.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Location:
    """A place in a project file; line and column are 1-based."""

    path: Path | str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [str(self.path)] if self.path else []
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts)


class ProjectError(Exception):
    """A problem in the project or its configuration: the CLI prints it without a traceback and exits 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = Location(path, line, column)
        self.hint = hint

    def __str__(self) -> str:
        where = str(self.location)
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ProjectErrors(ProjectError):
    """Several project errors found in one pass, reported together."""

    def __init__(self, errors: list[ProjectError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} errors found")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors) + f"\n{len(self.errors)} errors found"


class ConnectionFailed(ProjectError):
    """The warehouse could not be reached; the message names the target, never the password."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidates to a misspelt name."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"
