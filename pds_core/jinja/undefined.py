"""Undefined values: strict in the project's own templates, as dbt has them in packages' macros, and
tolerated while parsing a model that asks the warehouse.

A model that reads `execute` or introspects (run_query, get_columns_in_relation...) gets empty answers
while parsing, so what it does with them (`results["kind"]`, `columns[0].name`) is undefined there; dbt
renders on and only keeps the refs. pds does the same for such a node (it is rendered again, connected,
where undefined is an error again). Packages are written for dbt, whose templates print an undefined
name as nothing (dbt_utils relies on it): their macros get jinja2.Undefined, the project's templates
StrictUndefined (a misspelt name is an error with its line, not an empty string).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jinja2


def parse_undefined(lenient: Callable[[], bool],
                    base: type[jinja2.Undefined] = jinja2.StrictUndefined) -> type[jinja2.Undefined]:
    """`base`, except that while `lenient()` holds it renders as nothing and absorbs any further use."""

    class ParseUndefined(base):  # type: ignore[valid-type,misc]
        __slots__ = ()

        def __getattr__(self, name: str) -> Any:
            if name.startswith("__") or not lenient():
                return super().__getattr__(name)
            return self

        def __getitem__(self, key: Any) -> Any:
            return self if lenient() else super().__getitem__(key)

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self if lenient() else super().__call__(*args, **kwargs)

        def __str__(self) -> str:
            return "" if lenient() else super().__str__()

        def __iter__(self) -> Iterator[Any]:
            return iter(()) if lenient() else super().__iter__()

        def __bool__(self) -> bool:
            return False if lenient() else super().__bool__()

        def __len__(self) -> int:
            return 0 if lenient() else super().__len__()

        def __eq__(self, other: object) -> bool:
            return isinstance(other, type(self)) if lenient() else super().__eq__(other)

        def __ne__(self, other: object) -> bool:
            return not self.__eq__(other)

        def __hash__(self) -> int:
            return id(type(self))

        def __contains__(self, item: Any) -> bool:
            if lenient():
                return False
            parent = getattr(super(), "__contains__", None)  # StrictUndefined fails; Undefined has none
            return bool(parent(item)) if parent is not None else False

    return ParseUndefined
