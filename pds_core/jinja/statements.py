"""`{% call statement(...) %}`, `run_query()` and `load_result()`: SQL a template runs while rendering.

They run only when the render is connected (`execute` true: the run-time render of a node that
introspects, see plan.decide). While parsing they run nothing, return what dbt's parse returns
(run_query: None, load_result: None) and mark the node `deferred`, so it is rendered again with
the warehouse. ref()/source() markers in the SQL are replaced by the relations' names first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2

from pds_core.errors import ProjectError
from pds_core.jinja.table import Table


@dataclass
class Live:
    """What a connected render has: the adapter, and how relation markers in SQL become names."""

    adapter: Any
    substitute: Callable[[str], str]  # SQL with ref()/source()/this markers -> with the relations' names
    parts: Callable[[str, str], tuple[str | None, str | None, str | None, str | None] | None]  # (db, schema, id, type)
    graph: dict[str, Any] = field(default_factory=dict)
    selected: list[str] = field(default_factory=list)


@dataclass
class Response:
    """dbt's AdapterResponse, as `load_result(name).response` shows it."""

    code: str = "SUCCESS"
    rows_affected: int = -1
    _message: str = "OK"

    def __str__(self) -> str:
        return self._message


class Statements:
    """The statement functions over the current render's frame (given by `frame()`)."""

    def __init__(self, frame: Callable[[], Any]) -> None:
        self._frame = frame

    def _live(self) -> Any:
        frame = self._frame()
        if frame is None or frame.live is None or frame.live.adapter is None:
            if frame is not None:
                frame.state.deferred = True
            return None
        return frame

    def run(self, sql: str, fetch: bool) -> tuple[Response, Table]:
        """Send one statement over the run's connection; SELECTs come back as a Table."""
        frame = self._live()
        if frame is None:
            return Response(), Table((), ())
        text = frame.live.substitute(sql).strip().rstrip(";")
        adapter = frame.live.adapter
        if fetch:
            names, rows = adapter.fetch(text)
            return Response(rows_affected=len(rows), _message=f"SELECT {len(rows)}"), Table(names, rows)
        affected = adapter.execute(text)
        return Response(rows_affected=-1 if affected is None else affected), Table((), ())

    def statement(self, name: str | None = None, fetch_result: bool = False, auto_begin: bool = True,
                  language: str = "sql", caller: Any = None) -> str:
        frame = self._live()
        if frame is None:
            return ""  # as dbt's statement macro: nothing runs (and the body is not rendered) while parsing
        if language != "sql":
            raise ProjectError(f"statement(language={language!r}): only SQL statements run from templates")
        sql = str(caller()) if caller is not None else ""
        response, table = self.run(sql, fetch_result)
        if name is not None:
            self.store_result(name, response, table)
        return ""

    def store_result(self, name: str, response: Any = None, agate_table: Any = None) -> str:
        frame = self._frame()
        if frame is not None:
            table = agate_table if agate_table is not None else Table((), ())
            frame.results[name] = {"response": response, "data": [tuple(r) for r in table.rows], "table": table}
        return ""

    def store_raw_result(self, name: str, message: str | None = None, code: str | None = None,
                         rows_affected: int | None = None, agate_table: Any = None) -> str:
        return self.store_result(name, Response(code or "SUCCESS", rows_affected or -1, message or "OK"),
                                 agate_table)

    def load_result(self, name: str) -> Any:
        frame = self._frame()
        if frame is None:
            return None
        if frame.live is None or frame.live.adapter is None:
            frame.state.deferred = True
        return _AttrDict(frame.results[name]) if name in frame.results else None

    def run_query(self, sql: str) -> Table | jinja2.Undefined:
        frame = self._live()
        if frame is None:
            # dbt's run_query while parsing returns load_result(...).table of None: an undefined that prints
            # as nothing and is false, and whose use (`r.columns`) is an error, in dbt as here
            return jinja2.Undefined(obj=None, name="table")
        _response, table = self.run(str(sql), True)
        self.store_result("run_query_statement", _response, table)
        return table


class _AttrDict(dict):  # type: ignore[type-arg]
    """load_result(...): keys by item or attribute (`result['data']`, `result.table`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
