"""Static fast path: a model whose only Jinja is `{{ name(literal, ...) }}` renders without a template.

Why: most models of a large project only call ref(), source(), config() and var() with literal
arguments, and compiling each one into a Jinja template (lexer, parser, code generator, Python's
compile()) costs more than everything else its render does. Such a text is split here into its
literal parts and its calls; the renderer calls the very objects Jinja would call (looked up in the
same scope, so a project's own `ref` macro still wins) and joins `str()` of each result with the
text, as Jinja's generated code does with autoescape off, no finalize and keep_trailing_newline.

Anything else falls back to Jinja: `{% %}` and `{# #}` tags, whitespace control (`{{-`), `\\r`
line ends (Jinja normalizes them), filters, attributes, operators, names used as values, string
literals with backslashes or prefixes, a callable that wants Jinja's context, and any exception
raised by a call (so errors carry Jinja's line numbers). tests/unit/test_jinja_static.py renders
many shapes of model both ways and compares the SQL and everything the render recorded.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

NAMES = frozenset({"ref", "source", "config", "var"})
_TAG = re.compile(r"\{\{(.*?)\}\}", re.S)
_INT = re.compile(r"0|[1-9](?:_?[0-9])*")
_CONSTANTS = {"true": True, "false": False, "none": None, "True": True, "False": False, "None": None}


@dataclass(frozen=True)
class Call:
    """One `{{ name(args, kwargs) }}` with literal arguments."""

    name: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]


class _NotStatic(Exception):
    """The text needs Jinja."""


def split(text: str) -> list[str | Call] | None:
    """The text as literal parts and calls, or None when it needs Jinja."""
    if "{%" in text or "{#" in text or "\r" in text:
        return None
    parts: list[str | Call] = []
    pos = 0
    for match in _TAG.finditer(text):
        if match.start() > pos:
            parts.append(text[pos:match.start()])
        call = _call(match.group(1))
        if call is None:
            return None
        parts.append(call)
        pos = match.end()
    rest = text[pos:]
    if "{{" in rest:
        return None
    if rest:
        parts.append(rest)
    return parts


def render(parts: list[str | Call], scope: Any, env: Any) -> str | None:
    """The parts joined as Jinja would output them; None when a call must go through Jinja after all."""
    from jinja2.utils import _PassArg

    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if part.name not in scope:
            return None
        func = scope[part.name]
        if not callable(func) or not env.is_safe_callable(func) or _PassArg.from_obj(func) is not None:
            return None
        if hasattr(func, "__call__") and _PassArg.from_obj(func.__call__) is not None:  # noqa: B004 - as Jinja
            return None
        if any(key in ("_loop_vars", "_block_vars") for key, _ in part.kwargs):  # Jinja drops these
            return None
        out.append(str(func(*part.args, **dict(part.kwargs))))
    return "".join(out)


def _call(source: str) -> Call | None:
    expr = source.strip()
    if not expr or source[:1] in "-+" or source[-1:] in "-+":
        return None
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name) or tree.func.id not in NAMES:
        return None
    try:
        args = tuple(_literal(a, expr) for a in tree.args)
        kwargs = tuple((_keyword(k), _literal(k.value, expr)) for k in tree.keywords)
    except _NotStatic:
        return None
    return Call(tree.func.id, args, kwargs)


def _keyword(node: ast.keyword) -> str:
    if node.arg is None:  # **mapping
        raise _NotStatic
    return node.arg


def _literal(node: ast.AST, expr: str) -> Any:
    """A literal as Jinja reads it: plain quoted strings without backslashes, digits, booleans and none,
    and lists and dicts of those."""
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.List):
        return [_literal(e, expr) for e in node.elts]
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {_literal(k, expr): _literal(v, expr) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.Constant):
        text = ast.get_source_segment(expr, node) or ""
        if text in _CONSTANTS:  # True, False, None (Python parses them as constants)
            return _CONSTANTS[text]
        if isinstance(node.value, str) and text[:1] in "'\"" and text[:3] not in ("'''", '"""') \
                and "\\" not in text and len(text) >= 2 and text[0] == text[-1]:
            return node.value
        if isinstance(node.value, int) and not isinstance(node.value, bool) and _INT.fullmatch(text):
            return node.value
    raise _NotStatic
