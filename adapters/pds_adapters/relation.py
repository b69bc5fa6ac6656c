"""Relations and how they are spelt in SQL: the one quoting policy of pds.

Every name of a relation or schema that pds writes into SQL — in the DDL the adapters send, in the
SELECT the compiler produces for ref()/source(), in the results tables — is rendered by
render_relation() / render_schema() here, so the warehouse always sees the same name for the same
relation. The policy:

- a plain lower-case name that is not a keyword of the dialect (`churn_scores`, `analytics`) is written
  unquoted: Snowflake then stores it as CHURN_SCORES and Postgres as churn_scores, which is what a
  person typing `select * from analytics.churn_scores` finds on every engine (dbt's default too);
- any other name (mixed case, spaces, a keyword) is quoted and kept exactly;
- a source's `quoting:` mapping may force quotes per part (database, schema, identifier).

Which parts a name has is the adapter's decision (Adapter.qualify): on DuckDB and Snowflake the
database (catalog) is always written, so a schema named like the database file (`pds.pds.pds_runs`)
is never ambiguous and the session's current database never matters.

Column names are not rendered here: pds quotes a column exactly as the warehouse reports it
(statements.col), since it reads them back from the warehouse before using them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # sqlglot loads when a relation is first rendered, not with every `import pds_core`
    from sqlglot import exp

_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")

Quoting = bool | Mapping[str, Any]


@dataclass(frozen=True)
class Relation:
    """Where a node lives in the warehouse: database (optional), schema, identifier."""

    schema: str
    identifier: str
    database: str | None = None
    external: str | None = None  # a source read from files (dbt-duckdb's external_location): a FROM item in
    #                              DuckDB SQL such as read_parquet('/data/orders.parquet'), rendered instead

    def key(self) -> tuple[str, str]:
        """Case-insensitive lookup key used to match relations listed by the warehouse."""
        return (self.schema.lower(), self.identifier.lower())

    def __str__(self) -> str:
        return ".".join(p for p in (self.database, self.schema, self.identifier) if p)

    def in_database(self, database: str | None) -> Relation:
        """This relation with its database filled in when it has none."""
        if self.database is not None or database is None:
            return self
        return Relation(self.schema, self.identifier, database, self.external)

    def table(self, dialect: str = "duckdb", quote_all: Quoting = False) -> exp.Table:
        """This relation as a sqlglot Table (render_relation with the parts it has)."""
        return render_relation(self, dialect, quote_all)

    def sql(self, dialect: str = "duckdb") -> str:
        return self.table(dialect).sql(dialect=dialect)


def identifier(name: str, dialect: str = "duckdb", quote_all: bool = False) -> exp.Identifier:
    """A sqlglot identifier, quoted unless it is a plain lower-case name that is not a keyword."""
    from sqlglot import exp

    quoted = quote_all or not _PLAIN.match(name) or name.upper() in _keywords(dialect)
    return exp.Identifier(this=name, quoted=quoted)


def render_relation(relation: Relation, dialect: str, quoting: Quoting = False) -> exp.Table:
    """THE rendering of a relation name: each part through identifier(), quotes forced per `quoting`."""
    from sqlglot import exp

    if relation.external is not None:
        return external_table(relation.external).copy()

    def part(name: str | None, which: str) -> exp.Identifier | None:
        force = bool(quoting.get(which)) if isinstance(quoting, Mapping) else bool(quoting)
        return None if name is None else identifier(name, dialect, force)

    return exp.Table(this=part(relation.identifier, "identifier"), db=part(relation.schema, "schema"),
                     catalog=part(relation.database, "database"))


def render_schema(schema: str, database: str | None, dialect: str) -> exp.Table:
    """A schema name (CREATE SCHEMA, information_schema look-ups), qualified like the relations in it."""
    from sqlglot import exp

    return exp.Table(this=identifier(schema, dialect),
                     db=identifier(database, dialect) if database is not None else None)


@functools.lru_cache(maxsize=1024)
def external_table(text: str) -> exp.Table:
    """A source's external location (DuckDB SQL of one FROM item: a quoted path or a table function) as
    the table expression it stands for; anything more (a join, a subquery, a second statement) is refused."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    from pds_adapters.errors import ProjectError

    try:
        parsed = sqlglot.parse_one(f"SELECT * FROM {text}", read="duckdb")
    except SqlglotError:
        parsed = None
    source = parsed.args.get("from_") or parsed.args.get("from") if isinstance(parsed, exp.Select) else None
    table = source.this if source is not None else None
    extra = parsed is None or any(parsed.args.get(k) for k in ("joins", "where", "group", "limit"))
    if not isinstance(table, exp.Table) or extra or table.find(exp.Select) is not None:
        raise ProjectError(f"external_location {text!r} is not a file path or a table function such as "
                           "read_parquet('...')", hint="e.g. external_location: \"read_parquet('data/{name}.parquet')\"")
    return table


@functools.cache
def _keywords(dialect: str) -> frozenset[str]:
    """The dialect's reserved words (a pure function of the dialect, so it is computed once)."""
    from sqlglot.dialects.dialect import Dialect

    return frozenset(Dialect.get_or_raise(dialect).tokenizer_class.KEYWORDS)
