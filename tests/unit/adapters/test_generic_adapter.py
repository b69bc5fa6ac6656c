"""What a new adapter gets from the base with nothing but _connect(): DataFrames and seeds included."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest

from pds_adapters.base import Adapter
from pds_adapters.target import Target
from tests.unit.adapters.recording import Connection, Warehouse, fixed_names, rel


class Minimal(Adapter):
    type: ClassVar[str] = "minimal"
    dialect: ClassVar[str] = "postgres"
    supports_create_or_replace_table: ClassVar[bool] = False

    def __init__(self, target: Target, warehouse: Warehouse) -> None:
        super().__init__(target)
        self.warehouse = warehouse

    def _connect(self) -> Any:
        return Connection(self.warehouse)


def minimal() -> tuple[Minimal, Warehouse]:
    warehouse = Warehouse("minimal", columns={"kinds__pds_df_00000000": ["id", "zip"]})
    adapter = Minimal(Target("t", "minimal", {"schema": "an"}), warehouse)
    adapter.relation_lookup = lambda r: "table" if r.identifier == "kinds" else None
    return adapter, warehouse


def test_a_dataframe_goes_in_through_create_and_executemany_then_a_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter, warehouse = minimal()
    with fixed_names(monkeypatch):
        assert adapter.write_dataframe(rel("kinds"), pd.DataFrame({"id": [1, 2], "name": ["a", None]})) == 2
    assert warehouse.sent == [
        "BEGIN",
        'CREATE TABLE an.kinds__pds_df_00000000 ("id" BIGINT, "name" TEXT)',
        'INSERT INTO an.kinds__pds_df_00000000 ("id", "name") VALUES (%s, %s) -- 2 rows',
        "DROP TABLE IF EXISTS an.kinds CASCADE",
        "ALTER TABLE an.kinds__pds_df_00000000 RENAME TO kinds",
        "COMMIT",
    ]


def test_a_seed_with_column_types_is_cast_by_the_warehouse_in_one_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter, warehouse = minimal()
    path = tmp_path / "kinds.csv"
    path.write_text("id,zip\n1,01234\n2,98765\n")
    with fixed_names(monkeypatch):
        adapter.load_seed(rel("kinds"), str(path), {"zip": "varchar(5)"})
    assert warehouse.sent == [
        "BEGIN",
        'CREATE TABLE an.kinds__pds_df_00000000 ("id" BIGINT, "zip" TEXT)',
        'INSERT INTO an.kinds__pds_df_00000000 ("id", "zip") VALUES (%s, %s) -- 2 rows',
        # every column cast: id to the adapter's type for a whole number (dbt's integer), zip to its column_types
        'CREATE TABLE an.kinds__pds_tmp_00000000 AS SELECT CAST("id" AS INT) AS "id", CAST("zip" AS VARCHAR(5)) AS "zip" '
        "FROM an.kinds__pds_df_00000000",
        "DROP TABLE IF EXISTS an.kinds CASCADE",
        "ALTER TABLE an.kinds__pds_tmp_00000000 RENAME TO kinds",
        "SELECT COUNT(*) FROM an.kinds",  # this driver reports no row count for CREATE TABLE AS
        "DROP TABLE IF EXISTS an.kinds__pds_df_00000000",
        "COMMIT",
    ]


def test_a_column_types_key_that_is_no_column_is_a_project_error(tmp_path: Path) -> None:
    from pds_adapters.errors import ProjectError

    adapter, _ = minimal()
    path = tmp_path / "kinds.csv"
    path.write_text("id,zip\n1,01234\n")
    with pytest.raises(ProjectError) as error:
        adapter.load_seed(rel("kinds"), str(path), {"zipp": "varchar"})
    assert "zipp" in str(error.value) and "did you mean 'zip'" in str(error.value)
