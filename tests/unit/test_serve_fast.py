"""The read path's fast pieces give what the plain ways give: the query-string reader and parse_qsl,
the generated row builder and dict(zip()), the per-column getters and takers and pyarrow's
to_pylist (every type, with NULLs), the integer-key finder and a binary search; and the ASGI fast
path answers exactly as the FastAPI routes it stands in front of."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
from urllib.parse import parse_qsl

import httpx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pds_core.serve.app import create_app
from pds_core.serve.columns import ColumnData, QueryError
from pds_core.serve.query import Loaded
from pds_core.serve.reads import query_params
from pds_core.serve.rowmaker import row_maker
from pds_core.serve.served import Served
from pds_core.serve.store import SnapshotInfo, SnapshotStore


@given(st.text(alphabet="ab=&%+;,.~_-2é", max_size=40))
def test_query_params_is_parse_qsl(text):
    assert query_params(text) == parse_qsl(text, keep_blank_values=True)


def test_row_maker_is_dict_zip_and_names_are_never_code():
    names = ["a", "b", "a", "k0", "v1", "x y", "}", "__import__('os').system('false')", "é"]
    values = list(range(len(names)))
    assert row_maker(names)(*values) == dict(zip(names, values, strict=True))
    assert row_maker([])() == {}


def _column(values: list, kind: pa.DataType) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values, kind)])


STAMP = 1_700_000_000_123_456_789
CASES = [
    ([3, None, -7, 2**40], pa.int64()), ([3, None, -7], pa.int32()), ([0, 255, None], pa.uint8()),
    ([0.5, None, float("nan"), -1e300], pa.float64()), ([0.25, None], pa.float32()),
    ([True, None, False], pa.bool_()), ([True, False], pa.bool_()),
    (["high", None, "low", "é", "high"], pa.string()), (["b", "a", "b"], pa.large_string()),
    ([None, None], pa.string()), ([dt.date(2024, 2, 29), None, dt.date(1900, 1, 1)], pa.date32()),
    ([decimal.Decimal("1.25"), None], pa.decimal128(10, 2)), ([b"x", None], pa.binary()),
    *[([STAMP // per, None, -5], pa.timestamp(unit, tz)) for unit, per in
      (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)) for tz in (None, "UTC", "America/New_York")],
]


def _expected(value):
    if isinstance(value, decimal.Decimal):
        return float(value)  # served as JSON numbers
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp (ns): Python datetimes stop at microseconds
        return value.floor("us").to_pydatetime()
    if isinstance(value, float) and value != value:
        return None  # NaN: NULL in JSON either way
    return value


@pytest.mark.parametrize(("values", "kind"), CASES, ids=lambda c: str(c) if isinstance(c, pa.DataType) else "")
def test_getters_and_takers_give_what_pyarrow_gives(values, kind):
    column = _column(values, kind)
    data = ColumnData.build("c", column)
    want = [_expected(v) for v in column.to_pylist()]
    getter, taker = data.getter(column), data.taker()
    got_one = [_expected(getter(p)) for p in range(len(values))]
    positions = np.arange(len(values))[::-1].copy()
    got_many = [_expected(v) for v in taker(positions)] if taker else None
    assert got_one == want  # datetimes of another zone compare as instants
    if taker is not None:
        assert got_many == want[::-1]
    if kind.equals(pa.timestamp("us")):
        assert type(got_one[0]) is dt.datetime and got_one[0].tzinfo is None


@pytest.mark.parametrize("kind", [pa.int64(), pa.int32(), pa.uint16()])
def test_integer_key_lookups(kind):
    keys = [1, 2, 5, 9, 400]
    table = pa.table({"id": pa.array(keys, kind), "v": list("abcde")})
    loaded = Loaded(SnapshotInfo("m", "s1", len(keys), ("id",)), table)
    assert loaded._find is not None
    assert [loaded.lookup(str(k)) for k in keys] == [0, 1, 2, 3, 4]
    assert [loaded.lookup(t) for t in ("0", "3", "401", "-1", "99999999999999999999", " 5")] == \
        [None, None, None, None, None, 2]
    with pytest.raises(QueryError, match="not a valid integer"):
        loaded.lookup("abc")
    empty = Loaded(SnapshotInfo("m", "s0", 0, ("id",)), table.slice(0, 0))
    assert empty.lookup("1") is None


def test_the_fast_path_answers_as_the_fastapi_routes(tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    store = SnapshotStore(tmp_path)
    store.publish("scores", pa.table({
        "id": rng.permutation(n) + 1, "p": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
        "band": rng.choice(["high", "low"], n),
        "at": pa.array(rng.integers(0, 10**12, n), pa.timestamp("ms")),
        "ok": rng.random(n) < 0.5}), ["id"])
    served = Served(store, poll=0)
    served.refresh()
    app = create_app(served, watch=False)
    requests = [("/models/scores/rows/42", {}), ("/models/scores/rows/0", {}), ("/models/scores/rows/x", {}),
                ("/models/scores/rows/42", {"columns": "band,id"}), ("/models/nope/rows/1", {}),
                ("/models/scores/rows", {"band": "high", "p__gt": "0.5", "limit": "50"}),
                ("/models/scores/rows", {"p__isnull": "true", "columns": "id,p"}),
                ("/models/scores/rows", {"band": "high", "format": "csv", "limit": "7"}),
                ("/models/scores/rows", {"band": "hi gh", "id__in": "1,2,3"}),
                ("/models/scores/rows", {"bnd": "x"}), ("/models/scores/rows", {"limit": "0"})]

    async def both(path: str, params: dict) -> tuple[httpx.Response, httpx.Response]:
        answers = []
        for target in (app, app.api):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url="http://t") as client:
                answers.append(await client.get(path, params=params))
        return answers[0], answers[1]

    async def check() -> None:
        for path, params in requests:
            fast, routed = await both(path, params)
            assert (fast.status_code, fast.content) == (routed.status_code, routed.content), (path, params)
            for header in ("content-type", "x-pds-snapshot", "x-next-cursor", "link", "www-authenticate"):
                assert fast.headers.get(header) == routed.headers.get(header), (path, params, header)
        cursor = None  # a chain of pages through the fast path covers the filter exactly once
        seen = []
        for _ in range(100):
            fast, routed = await both("/models/scores/rows", {"band": "low", "limit": "300",
                                                             **({"cursor": cursor} if cursor else {})})
            assert fast.content == routed.content
            seen += [row["id"] for row in fast.json()["rows"]]
            cursor = fast.json()["next_cursor"]
            if cursor is None:
                break
        table = served.get("scores").table
        want = sorted(i for i, b in zip(table["id"].to_pylist(), table["band"].to_pylist(), strict=True) if b == "low")
        assert seen == want

    asyncio.run(check())
