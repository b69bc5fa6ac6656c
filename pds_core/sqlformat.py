"""`pds format`: model SQL rewritten in sqlglot's style, with the Jinja left exactly as written.

Each `{{ ... }}` becomes a placeholder name sqlglot can carry (a table, column, function or
string content), each `{% ... %}` / `{# ... #}` is taken out and its position remembered as
"between these two SQL tokens". After formatting, the tokens of the old and new SQL are
aligned and every tag goes back between the same two tokens. Leading tags and comments
(config(), set) are kept verbatim. A file is refused, with the reason, when the formatted
SQL would parse differently, a placeholder would end up as an alias, a tag sits inside a
token, or a tag's neighbours cannot be found again.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

PLACEHOLDER = re.compile(r"__pds_j(\d+)__", re.IGNORECASE)
_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_WORDS = {TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER}


@dataclass
class Outcome:
    """What formatting did to one file."""

    path: str
    status: str  # unchanged | changed | refused
    text: str = ""
    reason: str = ""


def format_file(path: str, text: str, dialect: str) -> Outcome:
    """Format one model file's text; refused (with the reason) when it cannot be done safely."""
    try:
        result = format_sql(text, dialect)
        if format_sql(result, dialect) != result:
            raise CannotFormat("formatting it again would change it again")
    except CannotFormat as exc:
        return Outcome(path, "refused", reason=str(exc))
    return Outcome(path, "unchanged" if result == text else "changed", result)


class CannotFormat(Exception):
    """The file cannot be formatted without risking its meaning; the message says why."""


@dataclass
class Tag:
    start: int
    end: int
    text: str

    @property
    def kind(self) -> str:
        return {"{{": "expr", "{%": "block", "{#": "comment"}[self.text[:2]]


def jinja_tags(text: str) -> list[Tag]:
    """Every Jinja tag in the text, in order (quotes inside a tag are respected)."""
    tags, i = [], 0
    while True:
        i = min((p for p in (text.find(o, i) for o in _CLOSERS) if p >= 0), default=-1)
        if i < 0:
            return tags
        closer, j, quote = _CLOSERS[text[i:i + 2]], i + 2, None
        while j < len(text):
            ch = text[j]
            if quote:
                quote = None if ch == quote else quote
            elif ch in "'\"" and closer != "#}":
                quote = ch
            elif text.startswith(closer, j):
                break
            j += 1
        else:
            raise CannotFormat(f"a Jinja tag at line {text.count(chr(10), 0, i) + 1} is never closed")
        tags.append(Tag(i, j + 2, text[i:j + 2]))
        if re.match(r"\{%-?\s*raw\b", tags[-1].text):
            raise CannotFormat("{% raw %} blocks are not formatted")
        i = j + 2


def format_sql(text: str, dialect: str) -> str:
    """The file's text formatted; raises CannotFormat when that cannot be done safely."""
    tags = jinja_tags(text)
    start, end = _body_span(text, tags)
    if start >= end:
        return text
    body_tags = [t for t in tags if start <= t.start and t.end <= end]
    header, trailer = text[:start], text[end:].strip()
    formatted = _format_body(text[start:end], [Tag(t.start - start, t.end - start, t.text) for t in body_tags],
                             Dialect.get_or_raise(dialect), text.count("\n", 0, start))
    if header and not header.endswith("\n"):
        header = header.rstrip() + "\n"
    return header + formatted + ("\n" + trailer if trailer else "") + "\n"


def _body_span(text: str, tags: list[Tag]) -> tuple[int, int]:
    """Where the SQL starts and ends: leading config()/set tags, comments and trailing tags stay as written."""
    by_start = {t.start: t for t in tags}
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i) and "*/" in text[i:]:
            i = text.index("*/", i) + 2
        elif i in by_start and (by_start[i].kind != "expr" or re.match(r"\{\{-?\s*config\s*\(", by_start[i].text)):
            i = by_start[i].end
        else:
            break
    end = len(text)
    by_end = {t.end: t for t in tags}
    while end > i:
        if text[end - 1].isspace():
            end -= 1
        elif end in by_end and by_end[end].kind != "expr":
            end = by_end[end].start
        else:
            break
    return i, end


def _format_body(body: str, tags: list[Tag], dialect: Dialect, line_offset: int) -> str:
    stripped, blocks, exprs = _strip(body, tags)
    try:
        trees = [t for t in sqlglot.parse(stripped, dialect=dialect) if t is not None]
    except SqlglotError as exc:
        raise CannotFormat(f"sqlglot cannot parse it with the Jinja taken out ({str(exc).splitlines()[0]})") from None
    if len(trees) != 1:
        raise CannotFormat(f"expected one statement, found {len(trees)}")
    tree = trees[0]
    _check_placeholders(tree, exprs, body, line_offset)
    formatted = tree.sql(dialect=dialect, pretty=True)
    if sqlglot.parse_one(formatted, dialect=dialect) != tree:
        raise CannotFormat("sqlglot's output would not parse back to the same query")
    old, new = dialect.tokenize(stripped), dialect.tokenize(formatted)
    if sorted(c.strip() for t in old for c in t.comments) != sorted(c.strip() for t in new for c in t.comments):
        raise CannotFormat("a SQL comment would be lost or changed")
    mapping = _align(old, new)
    _check_aliasing(old, tree, exprs, body, line_offset)
    places: dict[tuple[int, int], list[str]] = {}
    for offset, tag in blocks:  # tags between the same two tokens go in together, in their order
        places.setdefault(_place(offset, old, new, mapping, formatted, body, tag, line_offset), []).append(tag.text)
    for (gap_from, start), texts in sorted(places.items(), reverse=True):  # from the end: offsets stay valid
        formatted = _insert(formatted, gap_from, start, texts)
    return PLACEHOLDER.sub(lambda m: exprs[int(m.group(1))].text, formatted)


def _strip(body: str, tags: list[Tag]) -> tuple[str, list[tuple[int, Tag]], list[Tag]]:
    """The SQL with {{ }} as placeholders and {% %}/{# #} taken out (with their offsets in it)."""
    out: list[str] = []
    blocks: list[tuple[int, Tag]] = []
    exprs: list[Tag] = []
    pos = size = 0
    for tag in tags:
        piece = body[pos:tag.start]
        out.append(piece)
        size += len(piece)
        if tag.kind == "expr":
            name = f"__pds_j{len(exprs)}__"
            exprs.append(tag)
            out.append(name)
            size += len(name)
        else:
            blocks.append((size, tag))
        pos = tag.end
    out.append(body[pos:])
    return "".join(out), blocks, exprs


def _check_placeholders(tree: exp.Expression, exprs: list[Tag], body: str, line_offset: int) -> None:
    """A {{ }} must stay a name, value or function: as an alias it was meant as SQL syntax sqlglot cannot see."""
    for ident in tree.find_all(exp.Identifier):
        found = PLACEHOLDER.search(ident.name)
        if found and (ident.arg_key == "alias" or isinstance(ident.parent, exp.TableAlias)):
            tag = exprs[int(found.group(1))]
            line = line_offset + body.count("\n", 0, tag.start) + 1
            raise CannotFormat(f"{tag.text} at line {line} stands where sqlglot reads an alias (SQL syntax "
                               "from Jinja cannot be formatted)")


def _norm(token: Any) -> tuple[Any, str]:
    if token.token_type in _WORDS:
        return token.token_type, token.text.upper() if token.token_type == TokenType.VAR else token.text
    return token.token_type, ""


def _align(old: list[Any], new: list[Any]) -> dict[int, int]:
    """Old token index -> new token index, for tokens the formatter kept."""
    matcher = difflib.SequenceMatcher(None, [_norm(t) for t in old], [_norm(t) for t in new], autojunk=False)
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                mapping[i1 + k] = j1 + k
    return mapping


def _check_aliasing(old: list[Any], tree: exp.Expression, exprs: list[Tag], body: str, line_offset: int) -> None:
    """`{{ x }} name` reads as `{{ x }} AS name`: refused, since {{ x }} may be a keyword such as DISTINCT."""
    tokens = {t.text.lower(): i for i, t in enumerate(old) if PLACEHOLDER.fullmatch(t.text)}
    for alias in tree.find_all(exp.Alias):
        found = PLACEHOLDER.fullmatch(alias.this.name) if isinstance(alias.this, exp.Column) else None
        i = tokens.get(alias.this.name.lower()) if found else None
        if i is not None and (i + 1 >= len(old) or old[i + 1].token_type != TokenType.ALIAS):
            tag = exprs[int(found.group(1))]  # type: ignore[union-attr]
            line = line_offset + body.count("\n", 0, tag.start) + 1
            raise CannotFormat(f"{tag.text} at line {line} is followed by a name that sqlglot reads as its alias; "
                               "write AS before the name")


def _place(offset: int, old: list[Any], new: list[Any], mapping: dict[int, int], formatted: str, body: str,
           tag: Tag, line_offset: int) -> tuple[int, int]:
    """Where a tag goes in the formatted SQL: (end of the token before it, start of the token after it)."""
    starts = [t.start for t in old]
    k = bisect_left(starts, offset)
    line = line_offset + body.count("\n", 0, tag.start) + 1
    if k > 0 and old[k - 1].end >= offset:
        raise CannotFormat(f"{tag.text} at line {line} is inside a SQL string or name")
    before = mapping.get(k - 1) if k > 0 else -1
    after = mapping.get(k) if k < len(old) else len(new)
    if before is None or after is None or after != before + 1:
        raise CannotFormat(f"{tag.text} at line {line} cannot be kept between the same SQL tokens")
    gap_from = new[before].end + 1 if before >= 0 else 0
    return gap_from, new[after].start if after < len(new) else len(formatted)


def _insert(formatted: str, gap_from: int, start: int, tags: list[str]) -> str:
    """Put tags on their own lines between two tokens, indented like the deeper of the two lines."""
    if start >= len(formatted):
        return formatted.rstrip() + "\n" + "\n".join(tags)
    prev_line = formatted.rfind("\n", 0, gap_from) + 1
    next_line = formatted.rfind("\n", 0, start) + 1
    indent = max(_indent(formatted, prev_line), _indent(formatted, next_line), key=len)
    block = "".join(indent + tag + "\n" for tag in tags)
    if "\n" in formatted[gap_from:start]:
        return formatted[:next_line] + block + formatted[next_line:]
    return formatted[:gap_from].rstrip(" ") + "\n" + block + _indent(formatted, next_line) + formatted[start:]


def _indent(text: str, line_start: int) -> str:
    line = text[line_start:text.find("\n", line_start) if "\n" in text[line_start:] else len(text)]
    return line[:len(line) - len(line.lstrip(" "))]
