"""BigQuery through google-cloud-bigquery: jobs instead of DB-API cursors, datasets as schemas.

BigQuery has no multi-statement transactions for DDL, so a table is replaced by building it in a
staged table first and copying that over the old one with a copy job (WRITE_TRUNCATE), which is
atomic and not billed: a failing query never touches the table that stood. DataFrames and seeds
go in with a Parquet load job, never row by row. Catalog look-ups use the REST API (free) rather
than INFORMATION_SCHEMA queries (billed).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from sqlglot import exp

from pds_adapters import statements as st
from pds_adapters.base import Adapter
from pds_adapters.bigquery_arrow import arrow_to_dataframe, dataframe_to_arrow, load_arrow, plain_arrow
from pds_core.errors import ConnectionFailed, ProjectError
from pds_core.nodes import Relation
from pds_core.profiles import Target

SCOPES = ("https://www.googleapis.com/auth/bigquery", "https://www.googleapis.com/auth/cloud-platform")
METHODS = ("oauth", "service-account", "service-account-json", "anonymous")
PROBE_DEADLINE = 10.0  # seconds to keep retrying the first call before calling the warehouse unreachable
PARAM_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "BOOL"), (int, "INT64"), (float, "FLOAT64"), (decimal.Decimal, "NUMERIC"), (str, "STRING"),
    (bytes, "BYTES"), (dt.datetime, "DATETIME"), (dt.date, "DATE"), (dt.time, "TIME"))


class BigQueryAdapter(Adapter):
    """One google-cloud-bigquery Client per thread; relations are project.dataset.table."""

    type: ClassVar[str] = "bigquery"
    dialect: ClassVar[str] = "bigquery"
    supports_transactional_ddl: ClassVar[bool] = False
    supports_merge: ClassVar[bool] = True
    supports_create_or_replace_table: ClassVar[bool] = True  # atomic; replace_table stages anyway
    connection_keys: ClassVar[tuple[str, ...]] = (
        "project", "dataset", "schema", "location", "method", "keyfile", "keyfile_json", "priority",
        "job_timeout_seconds", "maximum_bytes_billed", "api_endpoint")
    required_keys: ClassVar[tuple[str, ...]] = ("project",)

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        s = target.settings
        self.project = str(s["project"])
        self.method = str(s.get("method") or ("anonymous" if s.get("api_endpoint") else "oauth"))
        problems = [
            (not (s.get("dataset") or s.get("schema")), "is missing dataset", "set 'dataset:' (the BigQuery schema)"),
            (self.method not in METHODS, f"has unknown method {self.method!r}", f"use one of {', '.join(METHODS)}"),
            (str(s.get("priority") or "interactive").lower() not in ("interactive", "batch"),
             f"has unknown priority {s.get('priority')!r}", "use interactive or batch"),
            (self.method.startswith("service-account") and not (s.get("keyfile") or s.get("keyfile_json")),
             "uses a service account but has no keyfile or keyfile_json",
             "set keyfile: /path/to/key.json, or keyfile_json: \"{{ env_var('BQ_KEYFILE_JSON') }}\""),
        ]
        for failed, what, hint in problems:
            if failed:
                raise ProjectError(f"target {target.name!r} (bigquery) {what}", target.profile_path, hint=hint)
        timeout = s.get("job_timeout_seconds")
        self.job_timeout = float(timeout) if timeout else None

    # ---- connecting -------------------------------------------------------------------------------
    def _describe_target(self) -> str:
        where = f" at {self.target.settings['api_endpoint']}" if self.target.settings.get("api_endpoint") else ""
        return f"bigquery project {self.project}{where}, {self.method} credentials"

    def _credentials(self) -> Any:
        s = self.target.settings
        if self.method == "anonymous":
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        if self.method == "oauth":
            import google.auth
            from google.auth.exceptions import DefaultCredentialsError

            try:
                return google.auth.default(scopes=list(SCOPES))[0]
            except DefaultCredentialsError:
                raise ConnectionFailed(
                    f"cannot connect to target {self.target.name!r} ({self._describe_target()}): "
                    "no Application Default Credentials found", self.target.profile_path,
                    hint="run `gcloud auth application-default login`, or set method: service-account "
                         "with keyfile or keyfile_json") from None
        from google.oauth2 import service_account

        if s.get("keyfile"):
            return service_account.Credentials.from_service_account_file(str(s["keyfile"]), scopes=SCOPES)
        info = s["keyfile_json"]
        try:
            info = json.loads(info) if isinstance(info, str) else dict(info)
        except ValueError:
            raise ProjectError(f"target {self.target.name!r}: keyfile_json is not valid JSON", self.target.profile_path,
                               hint="paste the service account key file's JSON, e.g. via env_var()") from None
        return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)

    def _connect(self) -> Any:
        from google.api_core.client_options import ClientOptions
        from google.cloud import bigquery

        s = self.target.settings
        job_config = bigquery.QueryJobConfig(priority=str(s.get("priority") or "interactive").upper())
        if s.get("maximum_bytes_billed"):
            job_config.maximum_bytes_billed = int(s["maximum_bytes_billed"])
        if self.job_timeout:
            job_config.job_timeout_ms = int(self.job_timeout * 1000)
        options = ClientOptions(api_endpoint=str(s["api_endpoint"])) if s.get("api_endpoint") else None
        client = bigquery.Client(project=self.project, credentials=self._credentials(), location=s.get("location"),
                                 client_options=options, default_query_job_config=job_config)
        # One cheap API call, so bad credentials or an unreachable endpoint fail here, before any work.
        list(client.list_datasets(max_results=1, retry=bigquery.DEFAULT_RETRY.with_deadline(PROBE_DEADLINE),
                                  timeout=PROBE_DEADLINE))
        return client

    def redact(self, text: str) -> str:
        """Also hide the private key inside keyfile_json, which may reach a message on its own."""
        text = super().redact(text)
        info = self.target.settings.get("keyfile_json")
        if isinstance(info, str):
            try:
                info = json.loads(info)
            except ValueError:
                info = None
        if isinstance(info, dict):
            for key in ("private_key", "private_key_id"):
                if info.get(key):
                    text = text.replace(str(info[key]), "****")
        return text

    @property
    def _client(self) -> Any:
        return self.connection()

    # ---- running queries ----------------------------------------------------------------------------
    def execute(self, statement: exp.Expression | str, params: Any = None) -> int | None:
        """DROP TABLE/VIEW goes through the API: no CASCADE on BigQuery, no query job, and bqemulator's
        SQL DROP leaves the table listed."""
        if isinstance(statement, exp.Drop) and str(statement.args.get("kind")).upper() in ("TABLE", "VIEW"):
            for table in statement.find_all(exp.Table):
                self.drop_relation(Relation(table.db, table.name, table.catalog or None))
            return None
        return super().execute(statement, params)

    def sql(self, statement: exp.Expression | str) -> str:
        if isinstance(statement, exp.Delete):
            statement = exists_delete(statement)
        return super().sql(statement)

    def _query(self, client: Any, sql: str, params: Any) -> tuple[Any, Any]:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=query_parameters(params)) if params else None
        job = client.query(sql, job_config=config)
        return job, job.result(timeout=self.job_timeout)

    def _execute(self, conn: Any, sql: str, params: Any) -> int | None:
        job, _rows = self._query(conn, sql, params)
        return job.num_dml_affected_rows

    def _fetch(self, conn: Any, sql: str, params: Any) -> tuple[list[str], list[tuple]]:
        _job, rows = self._query(conn, sql, params)
        return [f.name for f in rows.schema], [tuple(r.values()) for r in rows]

    def _job(self, job: Any) -> Any:
        """Wait for a load or copy job, counted like a statement."""
        self.count_statement()
        return job.result(timeout=self.job_timeout)

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        self.count_statement()
        _job, rows = self._query(self._client, self.sql(statement), None)
        return self._to_dataframe(rows)

    def read_dataframe(self, relation: Relation, limit: int | None = None) -> Any:
        """Tables are read with tabledata.list (not billed); views need a query."""
        if self.relation_kind(relation) != "table":
            return super().read_dataframe(relation, limit)
        self.count_statement()
        return self._to_dataframe(self._client.list_rows(self._table_id(relation), max_results=limit))

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        """The result's pages (page_size=chunksize over the REST API), each as a DataFrame."""
        query = st.select_star(self.table(source)) if isinstance(source, Relation) else source
        self.count_statement()
        _job = self._client.query(self.sql(query))
        for batch in _job.result(timeout=self.job_timeout, page_size=chunksize).to_arrow_iterable():
            yield arrow_to_dataframe(batch)

    def _to_dataframe(self, rows: Any) -> Any:
        # The Storage Read API (used when installed) is for real BigQuery; against an emulator stay on REST.
        return arrow_to_dataframe(rows.to_arrow(create_bqstorage_client=not self.target.settings.get("api_endpoint")))

    # ---- catalog --------------------------------------------------------------------------------------
    def _table_id(self, relation: Relation) -> str:
        return f"{relation.database or self.project}.{relation.schema}.{relation.identifier}"

    def _get_table(self, relation: Relation) -> Any:
        from google.api_core.exceptions import NotFound

        self.count_statement()
        try:
            return self._client.get_table(self._table_id(relation))
        except NotFound:
            return None

    def list_relations(self, schemas: list[str]) -> dict[tuple[str, str], str]:
        from google.api_core.exceptions import NotFound

        found: dict[tuple[str, str], str] = {}
        for schema in schemas:
            self.count_statement()
            try:
                tables = list(self._client.list_tables(f"{self.project}.{schema}"))
            except NotFound:  # no dataset yet: nothing in it
                continue
            for t in tables:
                found[(schema.lower(), t.table_id.lower())] = "view" if "VIEW" in (t.table_type or "") else "table"
        return found

    def ensure_schema(self, schema: str) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.project}.{schema}")
        dataset.location = self.target.settings.get("location")
        self.count_statement()
        self._client.create_dataset(dataset, exists_ok=True)

    def columns(self, relation: Relation) -> list[str]:
        table = self._get_table(relation)
        return [f.name for f in table.schema] if table is not None else []

    def drop_relation(self, relation: Relation) -> None:
        """Through the API: DROP ... CASCADE does not exist on BigQuery, and tables and views drop alike."""
        self.count_statement()
        self._client.delete_table(self._table_id(relation), not_found_ok=True)

    # ---- materializations -------------------------------------------------------------------------------
    def create_view(self, relation: Relation, query: exp.Expression) -> None:
        if self.relation_kind(relation) == "table":
            self.drop_relation(relation)
        self.execute(st.create_view_as(self.table(relation), query))

    def replace_table(self, relation: Relation, query: exp.Expression) -> int | None:
        """Build the query into a staged table; only when that worked, copy it over the old table."""
        staged = self.temp_relation(relation)
        return self._replace_from(staged, relation, lambda: self.execute(st.create_table_as(self.table(staged), query)))

    def _replace_from(self, staged: Relation, relation: Relation, fill: Callable[[], Any]) -> int:
        """fill() creates staged; then it is swapped in. staged never outlives the call, even on failure."""
        try:
            fill()
            kind = self.relation_kind(relation)
            self.swap_in(staged, relation, kind)
        finally:
            self.drop_relation(staged)
        table = self._get_table(relation)
        return int(table.num_rows) if table is not None and table.num_rows is not None else self.count(relation)

    def incremental(self, relation: Relation, query: exp.Expression, strategy: str,
                    unique_key: list[str]) -> int | None:
        """append and merge are one statement each; delete+insert runs as one script in one transaction."""
        if strategy != "delete+insert":
            return super().incremental(relation, query, strategy, unique_key)
        staged = self.temp_relation(relation, "incr")
        try:
            self.execute(st.create_table_as(self.table(staged), query))
            columns = self.columns(staged)
            delete = st.delete_matching(self.table(relation), self.table(staged), unique_key)
            insert = st.insert_select(self.table(relation), st.select_star(self.table(staged)), columns)
            self.execute(f"BEGIN TRANSACTION;\n{self.sql(delete)};\n{self.sql(insert)};\nCOMMIT TRANSACTION")
            table = self._get_table(staged)
            return int(table.num_rows) if table is not None and table.num_rows is not None else None
        finally:
            self.drop_relation(staged)

    def swap_in(self, staged: Relation, relation: Relation, kind: str | None) -> None:
        """A copy job with WRITE_TRUNCATE: atomic, not billed, and it takes the staged table's schema."""
        from google.cloud import bigquery

        if kind == "view":
            self.drop_relation(relation)  # a copy cannot overwrite a view
        config = bigquery.CopyJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
        self._job(self._client.copy_table(self._table_id(staged), self._table_id(relation), job_config=config))
        self.drop_relation(staged)

    def write_dataframe(self, relation: Relation, df: Any) -> int:
        staged = self.temp_relation(relation, "df")
        return self._replace_from(staged, relation, lambda: self._load(staged, dataframe_to_arrow(df, str(relation))))

    def stage_dataframe(self, relation: Relation, df: Any) -> Relation:
        staged = self.temp_relation(relation, "df")
        self._load(staged, dataframe_to_arrow(df, str(relation)))
        return staged

    def _load(self, staged: Relation, data: Any) -> None:
        self.count_statement()
        load_arrow(self._client, self._table_id(staged), data, self.job_timeout)

    def load_seed(self, relation: Relation, path: str, column_types: dict[str, str], delimiter: str = ",") -> int:
        """Seeds are read and typed by DuckDB's CSV reader, as on the default engine, then loaded as Parquet.

        column_types may be written in BigQuery's or the generic SQL names (INT64, integer, varchar, ...).
        """
        import duckdb

        try:
            types = {c: exp.DataType.build(t, dialect="bigquery").sql("duckdb") for c, t in column_types.items()}
        except Exception:  # sqlglot's parse error: say which setting is wrong instead
            raise ProjectError(f"column_types of seed {relation.identifier}: {column_types} has a value that is not "
                               "a SQL type", hint="write types such as INT64, STRING, DATE, NUMERIC(10, 2)") from None
        with duckdb.connect() as con:
            data = plain_arrow(con.read_csv(path, header=True, sep=delimiter, dtype=types or None).to_arrow_table())
        staged = self.temp_relation(relation, "seed")
        return self._replace_from(staged, relation, lambda: self._load(staged, data))


def query_parameters(params: Any) -> list[Any]:
    """BigQuery query parameters: a mapping for @name placeholders, a sequence for ? placeholders."""
    from google.cloud import bigquery

    def one(name: str | None, value: Any) -> Any:
        kind = next((t for py, t in PARAM_TYPES if isinstance(value, py)), "STRING")
        return bigquery.ScalarQueryParameter(name, kind, value)

    if isinstance(params, dict):
        return [one(str(k), v) for k, v in params.items()]
    return [one(None, v) for v in params]


def exists_delete(delete: exp.Delete) -> exp.Delete:
    """DELETE ... WHERE (a, b) IN (SELECT a, b FROM s) as a correlated EXISTS, which BigQuery accepts.

    BigQuery's IN takes a one-column subquery (a composite key needs SELECT AS STRUCT, which
    bqemulator rejects); EXISTS means the same, NULL keys included, and runs on both.
    """
    where = delete.args.get("where")
    cond = where.this if where is not None else None
    if not (isinstance(cond, exp.In) and isinstance(cond.this, exp.Tuple)
            and isinstance(cond.args.get("query"), exp.Subquery)):
        return delete
    sub = cond.args["query"].this
    tables = list(sub.find_all(exp.Table)) if isinstance(sub, exp.Select) else []
    outer = cond.this.expressions
    if (len(tables) != 1 or sub.args.get("where") or sub.args.get("joins") or len(sub.expressions) != len(outer)
            or not all(isinstance(e, exp.Column) for e in [*outer, *sub.expressions])):
        return delete
    target, source = delete.this.copy(), tables[0].copy()
    target.set("alias", exp.TableAlias(this=exp.to_identifier("__pds_target")))
    source.set("alias", exp.TableAlias(this=exp.to_identifier("__pds_source")))
    on = exp.and_(*[exp.EQ(this=st.col(i.name, "__pds_source"), expression=st.col(o.name, "__pds_target"))
                    for o, i in zip(outer, sub.expressions, strict=True)])
    match = exp.select(exp.Literal.number(1)).from_(source).where(on)
    return exp.Delete(this=target, where=exp.Where(this=exp.Exists(this=match)))
