"""The decorators a project's tests/*.py use: @check, @metric and @unit_test.

pds finds decorated functions statically (ast) while parsing, so the DAG is known without
running user code; at run time the decorators only tag the function with what they were
given, and the runner calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ATTRIBUTE = "__pds_quality__"


def _tag(kind: str, model: str | None, options: dict[str, Any]) -> Callable[[Callable], Callable]:
    if not isinstance(model, str) or not model:
        raise TypeError(f"@{kind} needs the model it applies to, e.g. @{kind}(model='orders')")

    def wrap(func: Callable) -> Callable:
        setattr(func, ATTRIBUTE, {"kind": kind, "model": model, **options})
        return func

    return wrap


def check(model: str | None = None, **options: Any) -> Callable[[Callable], Callable]:
    """A Python check: `func(df)` gets the model's rows and returns a bool or a boolean Series.

    Options: severity ('error' | 'warn'), name, description, warn_if, error_if, store_failures.
    """
    return _tag("check", model, options)


def metric(model: str | None = None, **options: Any) -> Callable[[Callable], Callable]:
    """A Python metric: `func(df)` returns a number (or a mapping of group -> number).

    Options: name, description, severity, min, max, max_change_pct, max_zscore, window.
    """
    return _tag("metric", model, options)


def unit_test(model: str | None = None, **options: Any) -> Callable[[Callable], Callable]:
    """A unit test fixture: `func()` returns (given, expect): given maps each ref/source name to rows
    (a DataFrame or a list of dicts), expect is the rows the model must return. Options: name, vars.
    """
    return _tag("unit_test", model, options)
