"""Query results as dbt macros read them: the small part of agate's Table that packages use.

`run_query()` and `load_result(name).table` return one: `table.columns[0].values()`,
`table.columns['name']`, `table.rows[0]['name']`, `table.column_names`, `table.print_table()`.
Numbers that are not integers come back as Decimal, as agate gives them, so that a value
printed into SQL reads the same as in dbt.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any


def _value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else value
    return value


class Row(Sequence[Any]):
    """One row: by position or by column name."""

    def __init__(self, values: tuple[Any, ...], names: tuple[str, ...]) -> None:
        self._values = values
        self._names = names

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._names.index(key)]
            except ValueError:
                raise KeyError(key) from None
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._names else default

    def keys(self) -> list[str]:
        return list(self._names)

    def values(self) -> list[Any]:
        return list(self._values)

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._names, self._values, strict=True))

    dict = lambda self: dict(self.items())  # noqa: E731

    def __repr__(self) -> str:
        return f"<Row {self._values!r}>"


class Column(Sequence[Any]):
    """One column's values, with its name."""

    def __init__(self, name: str, values: list[Any], type_name: str = "") -> None:
        self.name = name
        self._values = values
        self.data_type = type_name

    def values(self) -> list[Any]:
        return list(self._values)

    def values_distinct(self) -> list[Any]:
        return list(dict.fromkeys(self._values))

    def values_without_nulls(self) -> list[Any]:
        return [v for v in self._values if v is not None]

    def __getitem__(self, index: Any) -> Any:
        return self._values[index]

    def __len__(self) -> int:
        return len(self._values)


class Columns(Sequence[Column]):
    """The table's columns, by position or by name."""

    def __init__(self, columns: list[Column]) -> None:
        self._columns = columns

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for column in self._columns:
                if column.name == key:
                    return column
            raise KeyError(key)
        return self._columns[key]

    def __len__(self) -> int:
        return len(self._columns)

    def keys(self) -> list[str]:
        return [c.name for c in self._columns]

    def values(self) -> list[Column]:
        return list(self._columns)

    def items(self) -> list[tuple[str, Column]]:
        return [(c.name, c) for c in self._columns]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self.keys() else default


class Table:
    """A query's result: column names, rows and columns."""

    def __init__(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.column_names = tuple(str(n) for n in names)
        self.rows = [Row(tuple(_value(v) for v in row), self.column_names) for row in rows]
        self.columns = Columns([Column(name, [r[i] for r in self.rows]) for i, name in enumerate(self.column_names)])

    @property
    def column_types(self) -> tuple[str, ...]:
        return tuple("" for _ in self.column_names)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def print_table(self, max_rows: int = 20, max_columns: int = 6, output: Any = None, **_kw: Any) -> None:
        """A plain text table, as agate prints it (to stdout)."""
        out = output or sys.stdout
        names = self.column_names[:max_columns]
        shown = [[str(v) for v in row.values()[:max_columns]] for row in self.rows[:max_rows]]
        widths = [max([len(n), *(len(r[i]) for r in shown)]) for i, n in enumerate(names)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
        print(line(list(names)), file=out)
        print("| " + " | ".join("-" * w for w in widths) + " |", file=out)
        for row in shown:
            print(line(row), file=out)

    def print_csv(self, output: Any = None, **_kw: Any) -> None:
        import csv

        writer = csv.writer(output or sys.stdout)
        writer.writerow(self.column_names)
        writer.writerows(row.values() for row in self.rows)

    def __repr__(self) -> str:
        return f"<Table {len(self.rows)} rows: {', '.join(self.column_names)}>"


def empty_table() -> Table:
    return Table((), ())
