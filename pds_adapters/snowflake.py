"""Snowflake through snowflake-connector-python: only what differs from the base adapter.

Identifiers: Snowflake folds unquoted names to upper case. pds leaves plain lower-case names
unquoted (as dbt-snowflake does), so `models/churn_scores.py` becomes ANALYTICS.CHURN_SCORES and
`select * from analytics.churn_scores` finds it; any other name is quoted exactly. DataFrame
columns follow the same rule, and names read back that Snowflake folded are lower-cased again,
so Python models see the same column names on every engine.

Tables are replaced by building the new one beside the old and `ALTER TABLE ... SWAP WITH`: a
failed build never touches the old table. DDL commits on its own on Snowflake, but DML is
transactional, so delete+insert runs inside BEGIN/COMMIT once the rows are staged.
"""

from __future__ import annotations

import base64
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from sqlglot import exp

from pds_adapters import frames
from pds_adapters import statements as st
from pds_adapters.base import Adapter
from pds_core.errors import ProjectError
from pds_core.nodes import Relation, identifier

_FOLDED = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_AUTH_KEYS = ("password", "private_key", "private_key_path", "authenticator", "token")


class SnowflakeAdapter(Adapter):
    """One connector session per thread; DataFrames are loaded with write_pandas (PUT + COPY INTO)."""

    type: ClassVar[str] = "snowflake"
    dialect: ClassVar[str] = "snowflake"
    supports_transactional_ddl: ClassVar[bool] = False  # every DDL statement commits on its own
    supports_merge: ClassVar[bool] = True
    supports_create_or_replace_table: ClassVar[bool] = True  # atomic, but replace_table uses SWAP WITH
    connection_keys: ClassVar[tuple[str, ...]] = (
        "account", "user", "password", "authenticator", "token", "private_key", "private_key_path",
        "private_key_passphrase", "warehouse", "role", "database", "schema", "host", "port", "protocol",
        "client_session_keep_alive", "query_tag", "connect_timeout")
    required_keys: ClassVar[tuple[str, ...]] = ("account", "user", "database", "schema")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(self.target.settings.get(k) for k in _AUTH_KEYS):
            raise ProjectError(f"target {self.target.name!r} (snowflake) has no credentials",
                               self.target.profile_path,
                               hint="set password, private_key_path (or private_key), or authenticator; "
                                    "use env_var() for secrets")

    # ---- connections ----------------------------------------------------------------------------
    def _describe_target(self) -> str:
        s = self.target.settings
        where = f"snowflake account {s.get('account')!r}, user {s.get('user')!r}"
        return where + (f", host {s['host']}:{s.get('port', 443)}" if s.get("host") else "")

    def _connect(self) -> Any:
        import snowflake.connector

        s = self.target.settings
        kwargs: dict[str, Any] = {k: s[k] for k in ("account", "user", "password", "authenticator", "token",
                                                     "warehouse", "role", "host", "port", "protocol",
                                                     "client_session_keep_alive") if s.get(k) is not None}
        kwargs["database"] = stored_name(str(s["database"]))
        kwargs["schema"] = stored_name(str(s["schema"]))
        kwargs["application"] = "pds"
        kwargs["paramstyle"] = "qmark"  # sqlglot renders placeholders as ?; bound on the server
        if s.get("connect_timeout"):
            kwargs["login_timeout"] = int(s["connect_timeout"])
        if s.get("query_tag"):
            kwargs["session_parameters"] = {"QUERY_TAG": str(s["query_tag"])}
        key = self._private_key()
        if key is not None:
            kwargs["private_key"] = key
        return snowflake.connector.connect(**kwargs)

    def _private_key(self) -> bytes | None:
        """The key pair's private key as PKCS#8 DER, decrypted with the passphrase when there is one."""
        from cryptography.hazmat.primitives import serialization

        s = self.target.settings
        if s.get("private_key_path"):
            path = Path(str(s["private_key_path"])).expanduser()
            if not path.is_file():
                raise ProjectError(f"target {self.target.name!r}: private_key_path {str(path)!r} is not a file",
                                   self.target.profile_path, hint="point private_key_path at the .p8/.pem key file")
            data = path.read_bytes()
        elif s.get("private_key"):
            text = str(s["private_key"]).strip()
            data = text.encode() if text.startswith("-----BEGIN") else base64.b64decode(text)
        else:
            return None
        passphrase = s.get("private_key_passphrase")
        password = str(passphrase).encode() if passphrase else None
        try:
            load = serialization.load_pem_private_key if data.lstrip().startswith(b"-----BEGIN") \
                else serialization.load_der_private_key
            key = load(data, password=password)
        except (ValueError, TypeError) as exc:
            raise ProjectError(f"target {self.target.name!r}: cannot read the private key ({type(exc).__name__})",
                               self.target.profile_path,
                               hint="check the key file and private_key_passphrase (needed for an encrypted key)"
                               ) from None
        return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    # ---- statements -----------------------------------------------------------------------------
    def _execute(self, conn: Any, sql: str, params: Any) -> int | None:
        """Rows affected for DML only: Snowflake answers DDL with one status row, which is not a count."""
        cur = conn.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            first = str(cur.description[0][0]).lower() if cur.description else ""
            return cur.rowcount if first.startswith("number of rows") and cur.rowcount is not None else None
        finally:
            cur.close()

    def ensure_schema(self, schema: str) -> None:
        self.execute(st.create_schema(exp.Table(this=identifier(schema, self.dialect),
                                                db=identifier(str(self.target.settings["database"]), self.dialect))))

    def table(self, relation: Relation) -> exp.Table:
        """Fully qualified with the target's database, so a session's current database never matters."""
        if relation.database is None:
            relation = Relation(relation.schema, relation.identifier, str(self.target.settings["database"]))
        return relation.table(self.dialect)

    # ---- materializations -----------------------------------------------------------------------
    def replace_table(self, relation: Relation, query: exp.Expression) -> int | None:
        staged = self.temp_relation(relation)
        self.execute(st.create_table_as(self.table(staged), query))  # fails whole: nothing is left behind
        return self._put_in_place(staged, relation)

    def _put_in_place(self, staged: Relation, relation: Relation) -> int:
        """Put a fully built staged table where relation is; on any failure the staged table is dropped."""
        try:
            rows = self.count(staged)
            kind = self.relation_kind(relation)
            if kind == "table":
                self.execute(exp.Alter(this=self.table(relation), kind="TABLE",
                                       actions=[exp.SwapTable(this=self.table(staged))]))
                self.execute(st.drop(self.table(staged)))  # it now holds the old rows
                return rows
            if kind == "view":
                self.execute(st.drop(self.table(relation), "VIEW"))
            self.execute(exp.Alter(this=self.table(staged), kind="TABLE",
                                   actions=[exp.AlterRename(this=self.table(relation))]))
            return rows
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more
                self.execute(st.drop(self.table(staged)))
            raise

    def incremental(self, relation: Relation, query: exp.Expression, strategy: str,
                    unique_key: list[str]) -> int | None:
        """Stage the rows first (DDL commits on its own), then one MERGE, or DELETE+INSERT in one transaction."""
        if strategy == "append":
            return super().incremental(relation, query, strategy, unique_key)
        stored = {c.lower(): c for c in self.columns(relation)}
        keys = [k if k in stored.values() else stored.get(k.lower(), stored_name(k)) for k in unique_key]
        staged = self.temp_relation(relation, "incr")
        self.execute(st.create_table_as(self.table(staged), query))
        try:
            columns = self.columns(staged)
            target, source = self.table(relation), self.table(staged)
            if strategy == "merge":  # one statement: atomic on its own
                return self.execute(st.merge(target, source, keys, columns))
            with self.begin_commit():  # DML only: a DDL inside would commit early
                self.execute(st.delete_matching(target, source, keys))
                return self.execute(st.insert_select(target, st.select_star(source), columns))
        finally:
            self.execute(st.drop(self.table(staged)))

    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        """From the target database's information_schema, whatever the session's current database.

        Snowflake lists views in TABLES too; the UNION with VIEWS (deduplicated) also finds them where
        an emulator lists them only there.
        """
        if not schemas:
            return []

        def listing(view: str, kind: exp.Expression) -> exp.Select:
            info = exp.Table(this=exp.to_identifier(view), db=exp.to_identifier("information_schema"),
                             catalog=identifier(str(self.target.settings["database"]), self.dialect))
            where = exp.func("lower", exp.column("table_schema")).isin(*[exp.Placeholder() for _ in schemas])
            return exp.select("table_schema", "table_name", kind.as_("table_type")).from_(info).where(where)

        query = exp.union(listing("tables", exp.column("table_type")), listing("views", exp.Literal.string("VIEW")))
        _cols, rows = self.fetch(query, [s.lower() for s in schemas] * 2)
        return [(s, n, "view" if "VIEW" in t.upper() else "table") for s, n, t in rows]

    def list_relations(self, schemas: list[str]) -> dict[tuple[str, str], str]:
        return {(s.lower(), n.lower()): kind for s, n, kind in self.relation_names(schemas)}

    # ---- DataFrames -----------------------------------------------------------------------------
    def write_dataframe(self, relation: Relation, df: Any) -> int:
        return self._put_in_place(self.stage_dataframe(relation, df), relation)

    def stage_dataframe(self, relation: Relation, df: Any) -> Relation:
        """A new table beside relation holding the DataFrame, loaded in bulk with write_pandas."""
        from snowflake.connector.pandas_tools import write_pandas

        staged = self.temp_relation(relation, "df")
        frame = df.rename(columns={c: stored_name(str(c)) for c in df.columns})
        if frame.columns.duplicated().any():
            raise ProjectError(f"columns of the DataFrame for {relation} collide on Snowflake "
                               f"(names differing only in case): {list(df.columns)}",
                               hint="Snowflake folds unquoted names to upper case; rename the columns")
        columns = [exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=self._column_type(frame[name]))
                   for name in frame.columns]
        self.execute(exp.Create(this=exp.Schema(this=self.table(staged), expressions=columns), kind="TABLE"))
        try:
            database = staged.database or str(self.target.settings["database"])
            database, schema, name = (stored_name(p) for p in (database, staged.schema, staged.identifier))
            ok, _chunks, _rows, _ = write_pandas(self.connection(), frame.reset_index(drop=True), name,
                                                 database=database, schema=schema, quote_identifiers=True,
                                                 auto_create_table=False, use_logical_type=True)
            if not ok:
                raise RuntimeError(f"write_pandas could not load {staged}")
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more
                self.execute(st.drop(self.table(staged)))
            raise
        return staged

    @staticmethod
    def _column_type(series: Any) -> exp.DataType:
        dtype = frames.sql_type(series)
        if dtype.this == exp.DataType.Type.TIMESTAMP:  # TIMESTAMP alone follows a session parameter
            return exp.DataType.build("TIMESTAMP_NTZ", dialect="snowflake")
        return dtype

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        return as_read(super().query_dataframe(statement))

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        for chunk in super().read_chunks(source, chunksize):
            yield as_read(chunk)

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",") -> int:
        """The shared CSV reader (same inferred types as other engines), column_types cast in SQL."""
        df = frames.read_seed(path, delimiter, as_text=list(column_types))
        if not column_types:
            return self.write_dataframe(relation, df)
        staged = self.stage_dataframe(relation, df)
        try:
            types = {stored_name(k): v for k, v in column_types.items()}
            query = st.select_cast(self.table(staged), [stored_name(str(c)) for c in df.columns], types,
                                   self.dialect)
            return self.replace_table(relation, query) or 0
        finally:
            self.execute(st.drop(self.table(staged)))


def stored_name(name: str) -> str:
    """The name Snowflake stores for a pds name: plain lower-case names are folded to upper case."""
    return name if identifier(name, "snowflake").quoted else name.upper()


def as_read(df: Any) -> Any:
    """A DataFrame read from Snowflake as Python models see it on every engine: names and dtypes."""
    return frames.tidy_frame(df.rename(columns={c: unfolded_name(str(c)) for c in df.columns}))


def unfolded_name(name: str) -> str:
    """A column name as read back: names Snowflake folded to upper case are lower-cased again."""
    return name.lower() if _FOLDED.match(name) else name
