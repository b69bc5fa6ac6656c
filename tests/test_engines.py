"""One end-to-end suite for every engine: build the same projects twice, compare the tables they hold.

Engine modules
--------------
Each engine lives in its own module ``tests/engine_<name>.py``; this suite finds them by file name,
so adding an engine is adding one file. A module provides::

    NAME: str                                  # the profiles.yml `type:` it tests, e.g. "postgres"
    def unavailable() -> str | None            # why the engine cannot run here (the test is skipped), or None
    @contextlib.contextmanager
    def target(schema: str) -> Iterator[dict]  # yields a profiles.yml target mapping (type + keys) that
                                               # builds into a fresh `schema`; afterwards cleans up
                                               # (drops the schema, stops any server it started)
    def read_table(settings: dict, schema: str, table: str) -> pandas.DataFrame
                                               # a table's or view's rows, read with the engine's own driver
                                               # (not through pds), settings being what target() yielded
    def column_types(settings: dict, schema: str, table: str) -> dict[str, str]
                                               # column name -> the engine's own type name for it
                                               # (tests/test_engines_seeds.py)

What the suite does
-------------------
For each project (project_template and tests/projects/engines) and each engine: copy the project to
a temporary folder, write a profiles.yml whose only target is the engine's, run `pds build` through
the real CLI, apply the project's second-build change (engines: a new events.csv seed with corrected
and new rows, so every incremental strategy does real work), run `pds build` again, then read every
table and view the manifest lists. Each engine's tables must equal DuckDB's (the reference) after
normalising: column names lower-cased, rows sorted, numbers compared as floats with a tolerance,
dates and timestamps compared as naive UTC timestamps, NULL/NaN/NaT all as missing. Known values of
the engines project (merge updated a row, append did not, ...) are checked on every engine too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import json
import math
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, TEMPLATE, engine_params, run_pds

ENGINES = sorted(p.stem.removeprefix("engine_") for p in Path(__file__).parent.glob("engine_*.py"))
PROJECTS = {"template": TEMPLATE, "engines": ROOT / "tests" / "projects" / "engines"}
Tables = dict[str, list[tuple[Any, ...]]]


def load_engine(name: str) -> Any:
    engine = importlib.import_module(f"tests.engine_{name}")
    reason = engine.unavailable()
    if reason:
        pytest.skip(f"{name}: {reason}")
    return engine


def second_build(project: str, folder: Path) -> None:
    """What changes between the two builds."""
    if project == "engines":
        shutil.copy(folder / "second_build" / "events.csv", folder / "seeds" / "events.csv")


def build_twice(engine: Any, project: str, workdir: Path) -> tuple[Tables, dict[str, list[str]]]:
    """Build the project on the engine twice and read back every relation; returns rows and columns."""
    folder = workdir / project
    shutil.copytree(PROJECTS[project], folder, ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    profile = yaml.safe_load((folder / "pds_project.yml").read_text())["profile"]
    schema = f"pds_{project}_{uuid.uuid4().hex[:8]}"
    with engine.target(schema) as settings:
        (folder / "profiles.yml").write_text(
            yaml.safe_dump({profile: {"target": "engine", "outputs": {"engine": settings}}}))
        for step in ("first", "second"):
            if step == "second":
                second_build(project, folder)
            result = run_pds("build", "--project-dir", str(folder))
            assert result.returncode == 0, f"{step} build on {engine.NAME}:\n{result.stdout}\n{result.stderr}"
        manifest = json.loads((folder / "target" / "manifest.json").read_text())
        tables: Tables = {}
        columns: dict[str, list[str]] = {}
        for node in manifest["nodes"].values():
            if node["resource_type"] not in ("model", "seed") or node["config"].get("materialized") == "ephemeral":
                continue
            rel_schema, name = node["relation"].split(".")[-2:]
            df = engine.read_table(settings, rel_schema, name)
            columns[name] = [str(c).lower() for c in df.columns]
            tables[name] = sorted((tuple(canonical(v) for v in row) for row in df.itertuples(index=False)),
                                  key=sort_key)
    return tables, columns


def canonical(value: Any) -> Any:
    """One representation per value whatever the driver returned: float, str, bool, timestamp text or None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | decimal.Decimal | np.integer | np.floating):
        number = float(value)
        return None if math.isnan(number) else number
    if isinstance(value, dt.datetime | np.datetime64):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return f"{value.isoformat()} 00:00:00.000000"
    return str(value)


def sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((0, "") if v is None else (1, round(v, 6)) if isinstance(v, float) else (2, str(v)) for v in row)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
    return a == b


def assert_close(got: dict[Any, tuple], want: dict[Any, tuple]) -> None:
    """Dictionaries of tuples equal, floats within 1e-6 (pytest.approx does not promise nested data)."""
    assert sorted(got, key=str) == sorted(want, key=str), f"keys differ: {sorted(got, key=str)}"
    for key, values in want.items():
        assert len(got[key]) == len(values) and all(same(float(a) if isinstance(b, float) else a, b)
                                                    for a, b in zip(got[key], values, strict=True)), \
            f"{key}: {got[key]} != {values}"


def assert_same_tables(reference: Tables, ref_columns: dict, got: Tables, got_columns: dict, engine: str) -> None:
    assert sorted(got) == sorted(reference), f"{engine} built other relations than duckdb"
    for name, rows in reference.items():
        assert got_columns[name] == ref_columns[name], f"{name}: columns differ on {engine}"
        assert len(got[name]) == len(rows), f"{name}: {len(got[name])} rows on {engine}, {len(rows)} on duckdb"
        for want, have in zip(rows, got[name], strict=True):
            assert len(want) == len(have) and all(same(a, b) for a, b in zip(want, have, strict=True)), \
                f"{name} differs on {engine}:\n  duckdb: {want}\n  {engine}: {have}"


def by_key(rows: list[tuple], columns: list[str], *key: str) -> dict[Any, dict[str, Any]]:
    idx = [columns.index(k) for k in key]
    out = {}
    for row in rows:
        k = tuple(row[i] for i in idx)
        out[k[0] if len(k) == 1 else k] = dict(zip(columns, row, strict=True))
    return out


def check_known_values(tables: Tables, columns: dict[str, list[str]]) -> None:
    """What the engines project must hold after its two builds, on any engine."""
    append = by_key(tables["events_append"], columns["events_append"], "event_id")
    assert sorted(append) == [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0]
    assert append[4.0]["amount"] == pytest.approx(99.99)  # append never revisits a loaded row
    merged = by_key(tables["events_merge"], columns["events_merge"], "event_id")
    assert sorted(merged) == sorted(append)
    assert merged[4.0]["amount"] == pytest.approx(89.99) and merged[4.0]["note"] == "ünïcödé (corrected)"
    assert merged[5.0]["note"] == 'quote "x" and tab\there' and merged[2.0]["note"] == "comma, inside"
    assert merged[3.0]["note"] is None and merged[3.0]["amount"] is None
    days = by_key(tables["user_days"], columns["user_days"], "user_id", "event_date")
    got_days = {(int(u), d[:10]): (row["events"], row["amount"]) for (u, d), row in days.items()}
    assert_close(got_days, {(1, "2024-01-01"): (2, 21.75), (2, "2024-01-02"): (2, 99.99),
                            (3, "2024-01-03"): (1, 15.0), (4, "2024-01-04"): (1, -5.5),
                            (1, "2024-01-05"): (1, 30.0), (4, "2024-01-06"): (1, 2.5)})
    purchases = by_key(tables["purchases_py"], columns["purchases_py"], "event_id")
    assert sorted(purchases) == [2.0, 4.0, 5.0, 8.0]
    assert purchases[4.0]["amount_with_tax"] == pytest.approx(107.99)
    users = by_key(tables["users"], columns["users"], "user_id")
    assert users[1.0]["zip"] == "01234" and users[3.0]["zip"] == "00501"  # column_types kept the zeros
    segments = by_key(tables["segments"], columns["segments"], "segment")
    assert_close({k: (v["users"], v["amount"]) for k, v in segments.items()},
                 {"high": (2, 141.74), "low": (2, 12.0), "none": (1, 0.0)})
    features = by_key(tables["user_features"], columns["user_features"], "user_id")
    assert features[1.0]["is_active"] is True and features[5.0]["is_active"] is False
    assert features[1.0]["scored_at"].startswith("2024-02-01 12:30:00")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Tables, dict]]:
    """DuckDB's tables for a project, built once per test module."""
    cache: dict[str, tuple[Tables, dict]] = {}

    def get(project: str) -> tuple[Tables, dict]:
        if project not in cache:
            cache[project] = build_twice(load_engine("duckdb"), project, tmp_path_factory.mktemp("duckdb"))
        return cache[project]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("project", sorted(PROJECTS))
@pytest.mark.parametrize("engine_name", engine_params(ENGINES))
def test_same_tables_on_every_engine(engine_name: str, project: str, reference: Callable, tmp_path: Path) -> None:
    engine = load_engine(engine_name)
    ref_tables, ref_columns = reference(project)
    if engine_name == "duckdb":
        tables, columns = ref_tables, ref_columns
    else:
        tables, columns = build_twice(engine, project, tmp_path)
        assert_same_tables(ref_tables, ref_columns, tables, columns, engine_name)
    if project == "engines":
        check_known_values(tables, columns)
    else:
        assert len(tables["customers"]) == 60 and len(tables["churn_scores"]) == 60
