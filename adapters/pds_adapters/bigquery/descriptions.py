"""Descriptions on BigQuery through the API (tables.patch), as dbt-bigquery's persist_docs does: the
table's or view's description, and the description of each schema field that schema YAML documents."""

from __future__ import annotations

from typing import Any

from pds_adapters.comments import match_columns
from pds_adapters.relation import Relation


def update_descriptions(adapter: Any, relation: Relation, docs: Any) -> list[str]:
    """Patch the relation's description and its documented fields' descriptions; returns the documented
    columns the relation does not have."""
    table = adapter._get_table(relation)
    if table is None:
        return []
    fields: list[str] = []
    missing: list[str] = []
    if docs.relation:
        table.description = docs.relation
        fields.append("description")
    if docs.columns:
        found, missing = match_columns(docs.columns, [f.name for f in table.schema])
        if found:
            table.schema = [_described(f, found.get(f.name)) for f in table.schema]
            fields.append("schema")
    if fields:
        adapter.count_statement()
        adapter.connection().update_table(table, fields)
    return missing


def _described(schema_field: Any, description: str | None) -> Any:
    """The field with the new description (its type, mode and sub-fields unchanged)."""
    if description is None:
        return schema_field
    data = schema_field.to_api_repr()
    data["description"] = description
    return type(schema_field).from_api_repr(data)
