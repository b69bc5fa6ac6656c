"""Map a position in a model's compiled SQL back to the line and column of the model's file.

Jinja keeps most lines where they were, but a false `{% if %}` drops lines, a macro can add
lines, and ref()/source() expand to names of another length. sqlglot reports positions in
the SQL it parsed, so before a position reaches the user it is aligned back to the file:
lines by a diff of the two texts, then columns by a diff of the two lines.
"""

from __future__ import annotations

import difflib
from bisect import bisect_right
from functools import cached_property


class SourceMap:
    """Positions in `sql` (what sqlglot parsed) -> positions in `raw` (the model file)."""

    def __init__(self, raw: str, sql: str) -> None:
        self.raw_lines = raw.splitlines()
        self.sql_lines = sql.splitlines()
        self._starts = [0]
        for line in sql.splitlines(keepends=True):
            self._starts.append(self._starts[-1] + len(line))

    @cached_property
    def _line_map(self) -> list[int]:
        """For each SQL line (0-based), the file line (0-based) it came from."""
        raw, sql = self.raw_lines, self.sql_lines
        mapping = [0] * len(sql)
        matcher = difflib.SequenceMatcher(None, raw, sql, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                for k in range(j2 - j1):
                    mapping[j1 + k] = i1 + k
            elif tag in ("replace", "insert"):
                mapping[j1:j2] = _align_block(raw, i1, i2, sql[j1:j2])
        return mapping

    def locate(self, line: int, column: int = 1) -> tuple[int, int]:
        """The file's (line, column), 1-based, for a 1-based position in the SQL."""
        if not self.sql_lines or line < 1:
            return (max(line, 1), max(column, 1))
        index = min(line, len(self.sql_lines)) - 1
        raw_index = self._line_map[index]
        if raw_index >= len(self.raw_lines):
            return (raw_index + 1, 1)
        return (raw_index + 1, _map_column(self.raw_lines[raw_index], self.sql_lines[index], column))

    def locate_offset(self, offset: int) -> tuple[int, int]:
        """The file's (line, column) for a 0-based character offset into the SQL."""
        index = max(bisect_right(self._starts, offset) - 1, 0)
        return self.locate(index + 1, offset - self._starts[index] + 1)


def _align_block(raw: list[str], i1: int, i2: int, sql: list[str]) -> list[int]:
    """Map lines of a differing block to the most similar file lines, never moving backwards."""
    if i2 <= i1:  # lines only in the SQL (a macro's output): blame the line before
        return [max(i1 - 1, 0)] * len(sql)
    out, floor = [], i1
    for line in sql:
        best, best_ratio = floor, -1.0
        for i in range(floor, i2):
            ratio = difflib.SequenceMatcher(None, raw[i], line, autojunk=False).ratio() if line.strip() else 0.0
            if ratio > best_ratio:
                best, best_ratio = i, ratio
        out.append(best)
        floor = best
    return out


def _map_column(raw_line: str, sql_line: str, column: int) -> int:
    """Column in the file line for a column in the SQL line; text from a {{ }} maps to the tag's start."""
    if raw_line == sql_line:
        return column
    offset = column - 1
    matcher = difflib.SequenceMatcher(None, raw_line, sql_line, autojunk=False)
    for tag, i1, _i2, j1, j2 in matcher.get_opcodes():
        if j1 <= offset < j2 or (j1 == j2 == offset):
            return (i1 + (offset - j1) if tag == "equal" else i1) + 1
    return min(column, len(raw_line) + 1)
