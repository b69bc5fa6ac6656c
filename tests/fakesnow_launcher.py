"""Start a fakesnow server for the Snowflake tests, with four gaps of fakesnow 0.12.1 filled.

Run as `PYTHON tests/fakesnow_launcher.py` with a Python that has `fakesnow[server]` (its own venv:
fakesnow pins a sqlglot that pds cannot share). It prints the port it listens on (127.0.0.1, a free
port) and serves until SIGTERM/SIGINT.

Each patch makes the emulator accept SQL that real Snowflake accepts and that pds or
snowflake-connector-python 4.x sends; none changes what pds does:
1. COPY INTO ... FROM (SELECT ... FROM '@stage'): connector 4.x quotes the stage in write_pandas.
2. IDENTIFIER('"DB"."SCHEMA"."NAME"'): a fully quoted, dotted name is three identifiers, not one.
3. ALTER TABLE a SWAP WITH b: DuckDB has no SWAP; it is run here as three renames in one
   transaction. The atomicity of SWAP itself is Snowflake's and is not verified by these tests.
4. NULL timestamps: fakesnow sends them as epoch 0 (1970-01-01); here the Arrow struct it
   sends carries the NULLs, as Snowflake's results do.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any


def patch_fakesnow() -> None:
    import fakesnow.arrow as arrow
    import fakesnow.copy_into as copy_into
    import fakesnow.transforms as transforms
    import pyarrow as pa
    import pyarrow.compute as pc
    from fakesnow.cursor import FakeSnowflakeCursor
    from sqlglot import exp

    from_source = copy_into._from_source

    def _from_source(expr: exp.Copy) -> str:
        select = expr.args["files"][0].this
        if isinstance(select, exp.Select) and select.args.get("from_") is not None:
            table = select.args["from_"].this
            if isinstance(table, exp.Table) and isinstance(table.this, exp.Literal) and table.name.startswith("@"):
                table.set("this", exp.Var(this=table.this.name))
        return from_source(expr)

    copy_into._from_source = _from_source

    identifier = transforms.identifier

    def _identifier(expression: exp.Expression, params: Any) -> exp.Expression:
        result = identifier(expression, params)
        if isinstance(result, exp.Table) and result.this is not expression.this and '"."' in result.name:
            return exp.to_table(f'"{result.name}"', dialect="snowflake")
        return result

    transforms.identifier = _identifier

    explode = FakeSnowflakeCursor._transform_explode

    def _transform_explode(self: Any, expression: exp.Expression) -> list[exp.Expression]:
        actions = (expression.args.get("actions") or []) if isinstance(expression, exp.Alter) else []
        if len(actions) == 1 and isinstance(actions[0], exp.SwapTable):
            a, b = expression.this, actions[0].this
            swap = exp.Table(this=exp.to_identifier(f"{a.name}__fs_swap", quoted=True), db=a.args.get("db"),
                             catalog=a.args.get("catalog"))

            def rename(src: exp.Table, dst: exp.Table) -> exp.Expression:
                return exp.Alter(this=src.copy(), kind="TABLE", actions=[exp.AlterRename(this=dst.copy())])

            return [exp.Transaction(), rename(a, swap), rename(b, a), rename(swap, b), exp.Commit()]
        return explode(self, expression)

    FakeSnowflakeCursor._transform_explode = _transform_explode

    to_struct = arrow.timestamp_to_sf_struct

    def timestamp_to_sf_struct(ts: Any) -> Any:
        ts = ts.combine_chunks() if isinstance(ts, pa.ChunkedArray) else ts
        struct = to_struct(ts)
        if not ts.null_count:
            return struct
        children = [pc.fill_null(struct.field(i), 0) for i in range(struct.type.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(struct.type), mask=ts.is_null())

    arrow.timestamp_to_sf_struct = timestamp_to_sf_struct


def main() -> int:
    import faulthandler

    import fakesnow

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` shows where a stuck server is
    patch_fakesnow()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with fakesnow.server(host="127.0.0.1") as conn:
        print(conn["port"], flush=True)
        # The tests read only that line: from here on stdout (uvicorn's access log) goes to the log file
        # on stderr, or a full pipe would block the server mid-request after a few hundred queries.
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
