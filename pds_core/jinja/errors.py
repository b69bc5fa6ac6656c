"""Errors raised while rendering, pointed at the template line that raised them.

An error inside a macro names the macro's file and line (the innermost template frame), and the
model's line that called into it; Jinja's compiled frames are mapped back to template lines with
each template's debug info.
"""

from __future__ import annotations

import sys
from types import TracebackType

import jinja2

from pds_core.errors import ProjectError


def template_frames(tb: TracebackType | None, known: set[str]) -> list[tuple[str, int]]:
    """(file, template line) of each frame that runs a rendered template's code, outermost first."""
    frames: list[tuple[str, int]] = []
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if name in known and template is not None:
            frames.append((name, template.get_corresponding_lineno(tb.tb_lineno)))
        tb = tb.tb_next
    return frames


def render_error(path: str, known: set[str]) -> ProjectError:
    """The exception being handled (call inside `except`), as a ProjectError at its template line."""
    exc = sys.exc_info()[1]
    assert exc is not None
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return ProjectError(f"Jinja syntax error: {exc.message}", exc.filename or path, exc.lineno,
                            hint="check the {{ }} and {% %} tags near this line")
    frames = template_frames(exc.__traceback__, known | {path})
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
