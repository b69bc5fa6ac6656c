"""Errors raised while rendering, pointed at the template line that raised them.

An error inside a macro names the macro's file and line (the innermost template frame), and the
model's line that called into it; Jinja's compiled frames are mapped back to template lines by
jinja2.debug (what Template.render does on an error).
"""

from __future__ import annotations

import sys
from types import TracebackType

import jinja2
from jinja2.debug import rewrite_traceback_stack

from pds_core.errors import ProjectError


def template_frames(tb: TracebackType | None, known: set[str]) -> list[tuple[str, int]]:
    """(file, line) of each frame that belongs to a rendered template, outermost first."""
    frames: list[tuple[str, int]] = []
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in known:
            frames.append((name, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def render_error(path: str, known: set[str]) -> ProjectError:
    """The exception being handled (call inside `except`), as a ProjectError at its template line."""
    exc = sys.exc_info()[1]
    assert exc is not None
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return ProjectError(f"Jinja syntax error: {exc.message}", exc.filename or path, exc.lineno,
                            hint="check the {{ }} and {% %} tags near this line")
    try:
        rewritten = rewrite_traceback_stack(source=None)
    except Exception:  # noqa: BLE001 - the original error matters more than its mapping
        rewritten = exc
    frames = template_frames(rewritten.__traceback__, known | {path})
    where, line = frames[-1] if frames else (path, None)
    called = next((ln for p, ln in frames if p == path), None)
    via = f" (in {where}, called from {path}:{called})" if where != path and called else ""
    if isinstance(exc, ProjectError):
        if exc.location.path is None:
            exc.location.path, exc.location.line = where, exc.location.line or line
            if via:
                exc.hint = exc.hint or f"called from {path}:{called}"
        return exc
    if isinstance(exc, jinja2.UndefinedError):
        return ProjectError(f"undefined in template: {exc.message}", where, line,
                            hint=(f"called from {path}:{called}; " if via else "") +
                            "check the spelling; variables come from var(), macros and config, and a package's "
                            "macros need the package installed (pds deps)")
    return ProjectError(f"error while rendering: {type(exc).__name__}: {exc}", where, line,
                        hint=(f"called from {path}:{called}; " if via else "") +
                        "check the Jinja expression on this line (templates run sandboxed)")
