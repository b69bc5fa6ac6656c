"""Columns as dbt macros see them: adapter.get_columns_in_relation's results and `api.Column`, with each
adapter's rules for what a type is and how DDL spells it (dbt's Column classes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_STRINGS = ("text", "character varying", "character", "varchar")
_INTEGERS = ("smallint", "integer", "bigint", "smallserial", "serial", "bigserial", "int2", "int4", "int8",
             "serial2", "serial4", "serial8", "tinyint", "hugeint", "utinyint", "usmallint", "uinteger", "ubigint",
             "int1", "int", "int64")
_FLOATS = ("real", "float4", "float", "double precision", "float8", "double", "float64")
_NUMERICS = ("numeric", "decimal")
_SNOWFLAKE_NUMERICS = ("int", "integer", "bigint", "smallint", "tinyint", "byteint", "numeric", "decimal", "number")
_PASSTHROUGH = ("bigquery", "spark", "databricks")  # their Column.data_type is the type as described


@dataclass
class JinjaColumn:
    """A column as adapter.get_columns_in_relation returns it (dbt's Column, with its adapter's rules)."""

    column: str
    dtype: str
    char_size: int | None = None
    numeric_precision: Any = None
    numeric_scale: Any = None
    adapter_type: str = "duckdb"

    @property
    def name(self) -> str:
        return self.column

    @property
    def quoted(self) -> str:
        char = "`" if self.adapter_type in _PASSTHROUGH else '"'
        return f"{char}{self.column}{char}"

    def is_string(self) -> bool:
        if self.adapter_type == "bigquery":
            return self.dtype.lower() == "string"
        return self.dtype.lower() in _STRINGS or (self.adapter_type == "spark" and self.dtype.lower() == "string")

    def is_integer(self) -> bool:
        if self.adapter_type == "snowflake":
            return False  # every integer is a NUMBER(38,0) there
        return self.dtype.lower() in _INTEGERS

    def is_float(self) -> bool:
        return self.dtype.lower() in _FLOATS

    def is_numeric(self) -> bool:
        names = _SNOWFLAKE_NUMERICS if self.adapter_type == "snowflake" else _NUMERICS
        return self.dtype.lower() in names

    def is_number(self) -> bool:
        return self.is_integer() or self.is_float() or self.is_numeric()

    def string_size(self) -> int:
        if self.dtype == "text" or self.char_size is None:
            return 16777216 if self.adapter_type == "snowflake" else 256
        return int(self.char_size)

    @property
    def data_type(self) -> str:
        """The type as dbt spells it in DDL: strings as character varying(size), numerics with their scale."""
        if self.adapter_type in _PASSTHROUGH:
            return self.dtype
        if self.is_string():
            return f"character varying({self.string_size()})"
        if self.is_numeric() and self.numeric_precision is not None and self.numeric_scale is not None:
            return f"{self.dtype}({self.numeric_precision},{self.numeric_scale})"
        return self.dtype

    expanded_data_type = data_type

    def literal(self, value: Any) -> str:
        return f"{value}::{self.data_type}"

    def can_expand_to(self, other: JinjaColumn) -> bool:
        return self.is_string() and other.is_string() and other.string_size() > self.string_size()

    def __repr__(self) -> str:
        return f"<Column {self.name} ({self.data_type})>"


class ColumnFactory:
    """`api.Column`: dbt's class-level type translation for the target's adapter."""

    def __init__(self, adapter_type: str) -> None:
        self.adapter_type = adapter_type

    def translate_type(self, dtype: str) -> str:
        """dbt's TYPE_LABELS per adapter: 'string' is TEXT on most, STRING on BigQuery; Spark keeps every name."""
        if self.adapter_type in ("spark", "databricks"):
            return dtype
        if self.adapter_type == "bigquery":
            return {"TEXT": "STRING", "FLOAT": "FLOAT64", "INTEGER": "INT64"}.get(dtype.upper(), dtype)
        return {"STRING": "TEXT"}.get(dtype.upper(), dtype)

    def numeric_type(self, dtype: str, precision: Any, scale: Any) -> str:
        if self.adapter_type == "bigquery":
            return dtype
        if self.adapter_type in ("spark", "databricks"):
            return "decimal" if precision is None or scale is None else f"decimal({precision},{scale})"
        return dtype if precision is None or scale is None else f"{dtype}({precision},{scale})"

    def string_type(self, size: int) -> str:
        return "string" if self.adapter_type in ("bigquery", "spark", "databricks") else f"character varying({size})"

    def create(self, name: str, label_or_dtype: str) -> JinjaColumn:
        return JinjaColumn(name, self.translate_type(label_or_dtype), adapter_type=self.adapter_type)

    def __call__(self, column: str, dtype: str, char_size: int | None = None, numeric_precision: Any = None,
                 numeric_scale: Any = None) -> JinjaColumn:
        return JinjaColumn(column, dtype, char_size, numeric_precision, numeric_scale, self.adapter_type)
