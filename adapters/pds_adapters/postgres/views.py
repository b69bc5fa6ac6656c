"""Views that depend on a Postgres relation, kept across a drop of that relation.

Postgres binds a view to its table's OID, so dropping a table drops the views on it (CASCADE). Before
a swap pds reads the definitions of the views that depend on the relation (through any number of other
views) and re-creates them afterwards in the same transaction; a view that no longer fits the new
columns is left dropped and reported as a warning on the node, never silently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pds_adapters.relation import Relation

# Views (and materialized views) that depend on a relation, directly or through other views,
# deepest last so they can be re-created in order.
DEPENDENT_VIEWS = """
WITH RECURSIVE deps(oid, depth) AS (
    SELECT r.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = %(rel)s::regclass AND r.ev_class <> %(rel)s::regclass
    UNION
    SELECT r.ev_class, deps.depth + 1
    FROM deps JOIN pg_depend d ON d.refobjid = deps.oid
      AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> deps.oid AND deps.depth < 100
)
SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid), max(deps.depth) AS depth
FROM deps JOIN pg_class c ON c.oid = deps.oid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm')
GROUP BY n.nspname, c.relname, c.relkind, c.oid
ORDER BY depth, n.nspname, c.relname
"""


SWAP_LOCK = "SELECT pg_advisory_xact_lock(7357001)"  # pds's swap lock, released at commit or rollback


@contextlib.contextmanager
def keeping_dependent_views(adapter: Any, relation: Relation, kind: str | None) -> Iterator[None]:
    """Re-create, after the block, the views that depended on relation before it (inside a transaction).

    Swaps take one transaction-level advisory lock first: two tables replaced at once that share a
    dependent view (a view over both) would otherwise drop and re-create it in two transactions and
    deadlock, or read a view the other just dropped ("could not open relation with OID"). The lock is
    held only from the swap to the commit, after the long CREATE TABLE AS."""
    if kind:
        adapter.execute(SWAP_LOCK)
    _cols, views = adapter.fetch(DEPENDENT_VIEWS, {"rel": adapter.sql(adapter.table(relation))}) if kind else ([], [])
    yield
    from psycopg import sql

    for index, (schema, name, relkind, definition, _depth) in enumerate(views):
        create = sql.SQL("CREATE MATERIALIZED VIEW {} AS " if relkind == "m" else "CREATE VIEW {} AS ")
        statement = (create.format(sql.Identifier(schema, name)) + sql.SQL(definition)).as_string(
            adapter.connection().driver_connection)  # the server's own deparse of the view, not user input
        savepoint = f"pds_view_{index}"
        adapter.execute(f"SAVEPOINT {savepoint}")
        try:
            adapter.execute(statement)
        except Exception as exc:
            adapter.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
            adapter.warn(f"dependent view {schema}.{name} was dropped: it no longer fits {relation} "
                         f"({adapter.redact(str(exc).strip().splitlines()[0])}); rebuild it, e.g. "
                         f"`pds build --select {relation.identifier}+`")
        else:
            adapter.execute(f"RELEASE SAVEPOINT {savepoint}")
