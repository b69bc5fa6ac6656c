"""What happens once a node's relation is built, inside the same transaction: its descriptions are written
(persist_docs) and its grants made what the config says (grants), as dbt's materializations do before
they commit. Where DDL is transactional (DuckDB, Postgres) a failing GRANT or COMMENT rolls the new
relation back with it: the old one stays, whole.

- `persist_docs: {relation: true, columns: true}`: the model's description on the table or view, and
  each column's description from schema YAML on its column (pds_adapters.comments);
- `grants: {select: [reporter]}`: the difference between what the relation grants and the config is
  revoked and granted (pds_adapters.grants). A relation that did not exist before has no grants to
  read (dbt's should_revoke). On an engine without grants (DuckDB) a warning says they are not
  applied, once per run, as dbt-duckdb's does.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from pds_adapters import comments, grants
from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.not_acted_on import ProjectWarning

PERSIST_KEYS = ("relation", "columns")


@contextlib.contextmanager
def building(node: Node, ctx: Any, kind: str) -> Iterator[None]:
    """Around a materialization's build of node's relation (kind: 'table' or 'view'): one transaction,
    and the descriptions and grants applied at its end."""
    adapter = ctx.adapter
    decision = ctx.decisions.get(node.unique_id) if ctx.decisions else None
    existed = decision.existing if decision is not None else adapter.relation_kind(node.relation)
    with adapter.transaction():
        yield
        finish(node, adapter, kind, existed is not None, ctx.warned)


def finish(node: Node, adapter: Any, kind: str, existed: bool, warned: set[str] | None = None) -> None:
    """Descriptions, then grants, on the relation just built. `warned`: the run's warnings said so far
    (one that concerns the whole target is said once)."""
    if node.relation is None:
        return
    relation_docs, column_docs = persist_docs(node)
    if relation_docs or column_docs:
        missing = comments.persist(adapter, node.relation, kind, descriptions(node, relation_docs, column_docs))
        if missing:
            warnings.warn(ProjectWarning(
                f"in relation {node.relation}: the following columns are described in schema YAML but are not "
                f"in the {kind}: {', '.join(missing)}", node.patch_path or node.path, node.patch_line,
                hint="remove them from schema YAML, or fix their names"), stacklevel=2)
    config = node.config.get("grants")
    if not config:
        return
    wanted = grants.normalize(config, node.patch_path or node.path)
    if adapter.grants_style is None:
        if warned is None or "grants" not in warned:
            warnings.warn(ProjectWarning(f"grants are set but {adapter.type} has no grants: they are not applied",
                                         hint="grants take effect on Postgres, Snowflake and BigQuery targets"),
                          stacklevel=2)
        if warned is not None:
            warned.add("grants")
        return
    grants.apply(adapter, node.relation, kind, wanted, carried_over=existed)


def persist_docs(node: Node) -> tuple[bool, bool]:
    """(relation, columns): which descriptions the node's persist_docs config asks to write."""
    config = node.config.get("persist_docs")
    if not config:
        return False, False
    if not isinstance(config, dict) or set(config) - set(PERSIST_KEYS):
        raise ProjectError(f"persist_docs of {node.name} takes relation: and columns:, got {config!r}",
                           node.patch_path or node.path, node.patch_line,
                           hint="e.g. persist_docs: {relation: true, columns: true}")
    return config.get("relation") is True, config.get("columns") is True


def descriptions(node: Node, relation: bool, columns: bool) -> comments.Descriptions:
    """What dbt writes: the description when there is one; every described column, an empty description too."""
    return comments.Descriptions(
        relation=node.description or None if relation else None,
        columns={c.name: (c.description or "", bool(c.quote)) for c in node.columns.values()} if columns else {})
