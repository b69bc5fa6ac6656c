"""Grants: read what a relation grants now, and send the REVOKE and GRANT that make it what the config says.

dbt's semantics (its apply_grants macro): the config maps a privilege to the grantees that must hold it
(`{select: [reporter, bi]}`). Where grants may have carried over (an incremental model, a table whose
grants the engine copies), the current grants are read and only the difference is sent: a revoke for
each grantee no longer listed, a grant for each new one; compared case-insensitively, as dbt's
diff_of_two_dicts does. The owner's own grants are never touched. Per engine (the adapter's
`grants_style` flag):

- "information_schema" (Postgres): information_schema.role_table_grants of the current role;
  `GRANT select ON <relation> TO a, b`, `REVOKE select ON <relation> FROM "a"`;
- "show" (Snowflake): `SHOW GRANTS ON <relation>`, without OWNERSHIP and shares (dbt-snowflake's
  standardize_grants_dict); `GRANT select ON TABLE|VIEW <relation> TO ROLE`-less role names;
- "object_privileges" (BigQuery): `region-<location>`.INFORMATION_SCHEMA.OBJECT_PRIVILEGES without the
  session user; `GRANT \\`roles/bigquery.dataViewer\\` ON TABLE|VIEW <relation> TO "user:a@b.com"`;
- None (DuckDB): the engine has no grants; the caller warns.

Every statement is a sqlglot expression: privileges and grantees are checked to be names (or, on
BigQuery, a role path and a member string) and rendered by the dialect, never pasted.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation

GrantMap = dict[str, list[str]]

_PRIVILEGE = re.compile(r"^[A-Za-z][A-Za-z_ ]*$")  # select, insert, references, all privileges
_ROLE_PATH = re.compile(r"^roles/[A-Za-z0-9_.]+$")  # BigQuery: roles/bigquery.dataViewer
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")  # a grantee written unquoted, folded by the engine as dbt does
_MEMBER = re.compile(r"^[a-zA-Z]+:[^\s'\"`\\]+$")  # BigQuery: user:a@b.com, group:..., serviceAccount:...


def diff(wanted: GrantMap, current: GrantMap) -> GrantMap:
    """What `wanted` has that `current` has not, per privilege, compared case-insensitively (dbt's
    diff_of_two_dicts); keys and grantees keep the case of `wanted`."""
    lowered = {k.casefold(): {g.casefold() for g in v} for k, v in current.items()}
    out: GrantMap = {}
    for privilege, grantees in wanted.items():
        have = lowered.get(privilege.casefold())
        missing = list(grantees) if have is None else [g for g in grantees if g.casefold() not in have]
        if missing:
            out[privilege] = missing
    return out


def merge(old: Any, new: Any) -> GrantMap:
    """dbt's DictKeyAppend for grants in config: a privilege's grantees replace the inherited ones, or,
    written `+privilege`, are added to them."""
    as_list = lambda v: [] if v is None else [v] if isinstance(v, str) else list(v)  # noqa: E731
    merged = {str(k).lstrip("+"): as_list(v) for k, v in old.items()}
    for key, value in new.items():
        name = str(key).lstrip("+")
        merged[name] = [*merged[name], *as_list(value)] if str(key).startswith("+") and name in merged \
            else as_list(value)
    return merged


def normalize(config: Any, where: str | None = None) -> GrantMap:
    """The `grants` config as privilege -> list of grantees (a single grantee may be a string);
    a privilege with no grantees means "nobody": its current grantees are revoked."""
    if not isinstance(config, dict):
        raise ProjectError(f"grants must map a privilege to grantees, got {config!r}", where,
                           hint="e.g. grants: {select: [reporter, bi_user]}")
    out: GrantMap = {}
    for privilege, grantees in config.items():
        items = [] if grantees is None else [grantees] if isinstance(grantees, str) else list(grantees)
        if not all(isinstance(g, str) and g.strip() for g in items):
            raise ProjectError(f"the grantees of {privilege!r} must be names, got {grantees!r}", where,
                               hint="e.g. grants: {select: [reporter, bi_user]}")
        out[str(privilege).lstrip("+")] = [g.strip() for g in items]
    return out


def show(adapter: Any, relation: Relation, kind: str) -> GrantMap:
    """The relation's current grants (the owner's excluded), as privilege -> grantees."""
    style = adapter.grants_style
    if style == "show":
        return _snowflake_grants(*adapter.fetch(_snowflake_show(adapter, relation)))
    query = _bigquery_show(adapter, relation) if style == "object_privileges" else \
        _information_schema_show(adapter, relation)
    _cols, rows = adapter.fetch(query)
    found: GrantMap = {}
    for privilege, grantee in rows:
        found.setdefault(str(privilege), []).append(str(grantee))
    return found


def statements(adapter: Any, relation: Relation, kind: str, revoke: GrantMap, grant: GrantMap) -> list[exp.Expression]:
    """The REVOKE statements (first) and GRANT statements that take the grants from current to wanted."""
    out: list[exp.Expression] = []
    for privileges, action, quoted in ((revoke, exp.Revoke, True), (grant, exp.Grant, False)):
        for privilege, grantees in privileges.items():
            if not grantees:
                continue
            out.append(action(privileges=[exp.GrantPrivilege(this=_privilege(adapter, privilege))],
                              kind=_kind(adapter, kind), securable=adapter.table(relation),
                              principals=[exp.GrantPrincipal(this=_grantee(adapter, g, quoted)) for g in grantees]))
    return out


def apply(adapter: Any, relation: Relation, kind: str, wanted: GrantMap, carried_over: bool = True) -> list[str]:
    """Make the relation's grants what `wanted` says, sending only the difference; returns the SQL sent.

    Every privilege the relation grants that `wanted` does not list is revoked too (dbt's apply_grants).
    `carried_over` false (a relation just created, with no grants yet) skips reading them, as dbt's
    should_revoke does.
    """
    current = show(adapter, relation, kind) if carried_over else {}
    to_revoke, to_grant = diff(current, wanted), diff(wanted, current)
    sent = []
    for statement in statements(adapter, relation, kind, to_revoke, to_grant):
        adapter.execute(statement)
        sent.append(statement.sql(dialect=adapter.dialect))
    return sent


# ---- per engine ---------------------------------------------------------------------------------------
def _kind(adapter: Any, kind: str) -> str | None:
    """The object type after ON: Postgres infers it (as dbt writes it); Snowflake and BigQuery name it."""
    return None if adapter.grants_style == "information_schema" else ("VIEW" if kind == "view" else "TABLE")


def _privilege(adapter: Any, privilege: str) -> exp.Expression:
    if adapter.grants_style == "object_privileges":
        if not _ROLE_PATH.match(privilege):
            raise ProjectError(f"BigQuery grants name IAM roles, e.g. roles/bigquery.dataViewer, not {privilege!r}",
                               hint="grants: {'roles/bigquery.dataViewer': ['user:someone@example.com']}")
        return exp.to_identifier(privilege, quoted=True)
    if not _PRIVILEGE.match(privilege):
        raise ProjectError(f"{privilege!r} is not a privilege", hint="e.g. grants: {select: [reporter]}")
    return exp.Var(this=privilege)


def _grantee(adapter: Any, grantee: str, exact: bool) -> exp.Expression:
    """A grantee as the engine reads it: BigQuery members as strings; elsewhere a plain name unquoted
    (the engine folds it, as dbt's grant does), any other name, and every name read back from the
    catalog (to revoke), quoted exactly."""
    if adapter.grants_style == "object_privileges":
        if not _MEMBER.match(grantee):
            raise ProjectError(f"BigQuery grantees are members such as user:someone@example.com, not {grantee!r}")
        return exp.Literal.string(grantee)
    return exp.to_identifier(grantee, quoted=exact or not _NAME.match(grantee))


def _information_schema_show(adapter: Any, relation: Relation) -> exp.Select:
    info = exp.table_("role_table_grants", db="information_schema")
    role = exp.column("current_role")
    return (exp.select("privilege_type", "grantee").from_(info)
            .where(exp.column("grantor").eq(role))
            .where(exp.column("grantee").neq(role))
            .where(exp.column("table_schema").eq(exp.Literal.string(adapter.stored_name(relation.schema))))
            .where(exp.column("table_name").eq(exp.Literal.string(adapter.stored_name(relation.identifier)))))


def _snowflake_show(adapter: Any, relation: Relation) -> str:
    return f"SHOW GRANTS ON {adapter.table(relation).sql(dialect=adapter.dialect)}"


def _snowflake_grants(cols: list[str], rows: list[tuple]) -> GrantMap:
    """dbt-snowflake's standardize_grants_dict: no OWNERSHIP, nothing granted to a share or a database role."""
    index = {c.lower(): i for i, c in enumerate(cols)}
    found: GrantMap = {}
    for row in rows:
        privilege, granted_to = str(row[index["privilege"]]), str(row[index["granted_to"]])
        if privilege != "OWNERSHIP" and granted_to not in ("SHARE", "DATABASE_ROLE"):
            found.setdefault(privilege, []).append(str(row[index["grantee_name"]]))
    return found


def _bigquery_show(adapter: Any, relation: Relation) -> exp.Select:
    location = str(adapter.target.settings.get("location") or "US").lower()
    info = exp.Table(this=exp.to_identifier("INFORMATION_SCHEMA.OBJECT_PRIVILEGES", quoted=True),
                     db=exp.to_identifier(f"region-{location}", quoted=True),
                     catalog=exp.to_identifier(relation.database or adapter.default_database(), quoted=True))
    member = exp.Bracket(this=exp.func("split", exp.column("grantee"), exp.Literal.string(":")),
                         expressions=[exp.func("offset", exp.Literal.number(1))])
    return (exp.select("privilege_type", "grantee").from_(info)
            .where(exp.column("object_schema").eq(exp.Literal.string(relation.schema)))
            .where(exp.column("object_name").eq(exp.Literal.string(relation.identifier)))
            .where(member.neq(exp.func("session_user"))))
