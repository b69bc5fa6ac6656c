"""Snowflake through snowflake-connector-python: flags, and only what its SQL needs beyond the base.

Names: Snowflake folds unquoted names to upper case; pds leaves plain lower-case names unquoted (as
dbt-snowflake does), so `models/churn_scores.py` becomes ANALYTICS.CHURN_SCORES and
`select * from analytics.churn_scores` finds it (folds_to_upper; relation.py's policy).

Tables are replaced by building the new one beside the old and `ALTER TABLE ... SWAP WITH`: a failed
build never touches the old table. DDL commits on its own on Snowflake, but DML is transactional, so
delete+insert runs inside BEGIN/COMMIT once the rows are staged (the base does both from the flags).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from sqlglot import exp

import pds_adapters.snowflake.auth as auth
import pds_adapters.snowflake.bulk as bulk
from pds_adapters.base import Adapter
from pds_adapters.relation import Relation, identifier
from pds_adapters.seed_types import SEED_TYPES


class SnowflakeAdapter(Adapter):
    """One connector session per thread; DataFrames are loaded with write_pandas (PUT + COPY INTO)."""

    type: ClassVar[str] = "snowflake"
    dialect: ClassVar[str] = "snowflake"
    supports_transactional_ddl: ClassVar[bool] = False  # every DDL statement commits on its own
    supports_merge: ClassVar[bool] = True
    supports_create_or_replace_table: ClassVar[bool] = False  # pds stages and SWAPs: see the docstring
    dml_transaction: ClassVar[str] = "statements"  # BEGIN; DELETE; INSERT; COMMIT
    qualify_database: ClassVar[bool] = True  # the session's current database never matters
    qualified_rename: ClassVar[bool] = True  # an unqualified new name would move the table
    folds_to_upper: ClassVar[bool] = True
    drop_cascade: ClassVar[frozenset[str]] = frozenset({"TABLE"})  # DROP VIEW has no CASCADE here
    supports_cancel: ClassVar[bool] = True  # SYSTEM$CANCEL_ALL_QUERIES(<session>)
    lock_kind: ClassVar[str] = "table"  # no session lock a client can take: pds_build_lock (locks.py)
    snapshot_time_sql: ClassVar[str] = "to_timestamp_ntz(convert_timezone('UTC', current_timestamp()))"  # dbt-snowflake's snapshot_get_time()
    grants_style: ClassVar[str | None] = "show"
    comment_style: ClassVar[str] = "snowflake"
    constraint_support: ClassVar[dict[str, str]] = {"check": "not_supported", "not_null": "enforced",
                                                    "unique": "not_enforced", "primary_key": "not_enforced",
                                                    "foreign_key": "not_enforced"}
    quote_seed_columns: ClassVar[bool] = False  # dbt-snowflake's default: seed columns unquoted (folded)
    unquoted_case: ClassVar[str | None] = "upper"
    # dbt-snowflake's seed types (dbt's SQLAdapter ones); its integer is NUMBER(38,0): no widening needed
    seed_types: ClassVar[dict[str, str]] = {**SEED_TYPES, "bigint": "integer", "decimal": "integer",
                                            "datetime": "timestamp_ntz"}
    connection_keys: ClassVar[tuple[str, ...]] = (
        "account", "user", "password", "authenticator", "token", "private_key", "private_key_path",
        "private_key_passphrase", "warehouse", "role", "database", "schema", "host", "port", "protocol",
        "client_session_keep_alive", "query_tag", "connect_timeout")
    keys_not_acted_on: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("oauth_client_id", "oauth_client_secret", "workload_identity_provider",
                         "workload_identity_entra_resource", "platform_detection_timeout_seconds"),
                        "this way of logging in is not supported; use password, key pair, authenticator or token"),
        **dict.fromkeys(("proxy_host", "proxy_port", "insecure_mode", "s3_stage_vpce_dns_name"),
                        "the connector's defaults apply"),
        **dict.fromkeys(("connect_retries", "retry_on_database_errors", "retry_all"), "nothing is retried"),
        "reuse_connections": "connections are kept for the run",
    }
    required_keys: ClassVar[tuple[str, ...]] = ("account", "user", "database", "schema")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        auth.check_credentials(self.target)

    # ---- connections ----------------------------------------------------------------------------
    def _describe_target(self) -> str:
        s = self.target.settings
        where = f"snowflake account {s.get('account')!r}, user {s.get('user')!r}"
        return where + (f", host {s['host']}:{s.get('port', 443)}" if s.get("host") else "")

    def _connect(self) -> Any:
        import snowflake.connector

        kwargs = auth.connect_kwargs(self.target, self.stored_name(self.default_database()),
                                     self.stored_name(self.target.schema))
        return snowflake.connector.connect(**kwargs)

    def _cancel_running(self, conn: Any, handle: Any) -> None:
        """SYSTEM$CANCEL_ALL_QUERIES(<the busy session>) from a short session of its own: the busy one
        takes no second call while its statement runs. Each cancelled statement then raises in its thread."""
        session = getattr(conn, "session_id", None)
        if session is None:
            return
        control = self._connect()
        try:
            cur = control.cursor()
            cur.execute("SELECT SYSTEM$CANCEL_ALL_QUERIES(?)", [session])
            cur.close()
        finally:
            control.close()

    def default_database(self) -> str:
        return str(self.target.settings["database"])

    def _execute(self, conn: Any, sql: str, params: Any) -> int | None:
        """Rows affected for DML only: Snowflake answers DDL with one status row, which is not a count."""
        cur = conn.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            first = str(cur.description[0][0]).lower() if cur.description else ""
            return cur.rowcount if first.startswith("number of rows") and cur.rowcount is not None else None
        finally:
            cur.close()

    # ---- what differs in the operations --------------------------------------------------------
    def swap_in(self, staged: Relation, relation: Relation, kind: str | None) -> None:
        """SWAP WITH over an old table (the staged table then holds the old rows and is dropped by the
        caller); the first build, or a view being replaced, renames the staged table into place."""
        if kind == "table":
            self.execute(exp.Alter(this=self.table(relation), kind="TABLE",
                                   actions=[exp.SwapTable(this=self.table(staged))]))
            return
        super().swap_in(staged, relation, kind)

    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        """From the target database's information_schema, whatever the session's current database.

        Snowflake lists views in TABLES too; the UNION with VIEWS (deduplicated) also finds them where
        an emulator lists them only there.
        """
        if not schemas:
            return []

        def listing(view: str, kind: exp.Expression) -> exp.Select:
            info = exp.Table(this=exp.to_identifier(view), db=exp.to_identifier("information_schema"),
                             catalog=identifier(self.default_database(), self.dialect))
            where = exp.func("lower", exp.column("table_schema")).isin(*[exp.Placeholder() for _ in schemas])
            return exp.select("table_schema", "table_name", kind.as_("table_type")).from_(info).where(where)

        query = exp.union(listing("tables", exp.column("table_type")), listing("views", exp.Literal.string("VIEW")))
        _cols, rows = self.fetch(query, [s.lower() for s in schemas] * 2)
        return [(s, n, "view" if "VIEW" in t.upper() else "table") for s, n, t in rows]

    def information_schema(self, view: str) -> exp.Table:
        """The target database's information_schema, whatever the session's current database."""
        return exp.Table(this=exp.to_identifier(view), db=exp.to_identifier("information_schema"),
                         catalog=identifier(self.default_database(), self.dialect))

    def _bulk_load(self, staged: Relation, df: Any) -> int:
        return bulk.load_frame(self, staged, df)

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        return bulk.as_read(super().query_dataframe(statement))

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        for chunk in super().read_chunks(source, chunksize):
            yield bulk.as_read(chunk)
