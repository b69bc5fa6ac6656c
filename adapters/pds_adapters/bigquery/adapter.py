"""BigQuery through google-cloud-bigquery: jobs instead of DB-API cursors, datasets as schemas.

BigQuery has no transactions around DDL, so a table is replaced by building it in a staged table first
and copying that over the old one with a copy job (WRITE_TRUNCATE), which is atomic and not billed: a
failing query never touches the table that stood. Delete+insert runs as one script (BEGIN TRANSACTION
... COMMIT TRANSACTION). DataFrames and seeds go in with a Parquet load job (bulk.py), never row by
row. Catalog look-ups and drops use the REST API (free) rather than INFORMATION_SCHEMA queries (billed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from sqlglot import exp

import pds_adapters.bigquery.auth as auth
from pds_adapters import statements as st
from pds_adapters.base import Adapter
from pds_adapters.bigquery.bulk import arrow_to_dataframe, dataframe_to_arrow, load_job
from pds_adapters.bigquery.descriptions import update_descriptions
from pds_adapters.bigquery.queries import exists_delete, query_parameters
from pds_adapters.relation import Relation
from pds_adapters.target import Target


class BigQueryAdapter(Adapter):
    """One google-cloud-bigquery Client per thread; relations are project.dataset.table."""

    type: ClassVar[str] = "bigquery"
    dialect: ClassVar[str] = "bigquery"
    supports_transactional_ddl: ClassVar[bool] = False
    supports_merge: ClassVar[bool] = True
    supports_create_or_replace_table: ClassVar[bool] = False  # staged table + copy job: see the docstring
    dml_transaction: ClassVar[str] = "script"
    qualify_database: ClassVar[bool] = True  # project.dataset.table: the client's project never matters
    drop_cascade: ClassVar[frozenset[str]] = frozenset()  # drops go through the API (execute())
    supports_cancel: ClassVar[bool] = True  # jobs.cancel for the running jobs
    lock_kind: ClassVar[str] = "table"  # no session lock on BigQuery: pds_build_lock (locks.py)
    snapshot_time_sql: ClassVar[str] = "current_timestamp()"  # dbt-bigquery's snapshot_get_time()
    grants_style: ClassVar[str | None] = "object_privileges"
    # dbt-bigquery's seed types; whole numbers beyond int64 (dbt fails) widen to BIGNUMERIC
    seed_types: ClassVar[dict[str, str]] = {"integer": "int64", "bigint": "int64", "decimal": "bignumeric",
                                            "number": "float64", "boolean": "bool", "date": "date",
                                            "datetime": "datetime", "text": "string"}
    comment_style: ClassVar[str] = "api"  # descriptions through tables.patch (descriptions.py), as dbt-bigquery
    constraint_support: ClassVar[dict[str, str]] = {"check": "not_supported", "not_null": "enforced",
                                                    "unique": "not_supported", "primary_key": "not_enforced",
                                                    "foreign_key": "not_enforced"}
    connection_keys: ClassVar[tuple[str, ...]] = (
        "project", "dataset", "schema", "location", "method", "keyfile", "keyfile_json", "priority",
        "job_timeout_seconds", "maximum_bytes_billed", "api_endpoint")
    required_keys: ClassVar[tuple[str, ...]] = ("project",)
    key_aliases: ClassVar[dict[str, str]] = {"database": "project", "timeout_seconds": "job_timeout_seconds",
                                             "job_execution_timeout_seconds": "job_timeout_seconds"}
    keys_not_acted_on: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("execution_project", "quota_project", "reservation", "impersonate_service_account",
                         "target_project", "target_dataset"), "jobs run in the target's project as its user"),
        **dict.fromkeys(("job_retry_deadline_seconds", "job_retries", "retries", "job_creation_timeout_seconds"),
                        "a failed job is not retried"),
        "job_link_info_level_log": "job links are not logged", "scopes": "the default scopes are asked for",
        **dict.fromkeys(("refresh_token", "client_id", "client_secret", "token_uri", "token",
                         "workload_pool_provider_path", "service_account_impersonation_url", "token_endpoint"),
                        "this way of logging in is not supported (oauth, service-account, service-account-json)"),
        **dict.fromkeys(("compute_region", "dataproc_region", "dataproc_cluster_name", "gcs_bucket",
                         "submission_method", "dataproc_batch"), "Python models do not run on Dataproc"),
    }

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        auth.check_target(target)
        self.project = str(target.settings["project"])
        self.method = auth.method_of(target)
        timeout = target.settings.get("job_timeout_seconds")
        self.job_timeout = float(timeout) if timeout else None

    # ---- connecting -------------------------------------------------------------------------------
    def _describe_target(self) -> str:
        where = f" at {self.target.settings['api_endpoint']}" if self.target.settings.get("api_endpoint") else ""
        return f"bigquery project {self.project}{where}, {self.method} credentials"

    def _connect(self) -> Any:
        return auth.make_client(self.target, self.project, self.job_timeout, self._describe_target())

    def _cancel_running(self, conn: Any, handle: Any) -> None:
        if handle is not None:  # a job: jobs.cancel; its result() then raises in the waiting thread
            handle.cancel()

    def redact(self, text: str) -> str:
        return auth.redact_keyfile(self.target, super().redact(text))

    def default_database(self) -> str:
        return self.project

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
        with self.connections.running(client, job):
            return job, job.result(timeout=self.job_timeout)

    def _execute(self, conn: Any, sql: str, params: Any) -> int | None:
        job, _rows = self._query(conn, sql, params)
        return job.num_dml_affected_rows

    def _fetch(self, conn: Any, sql: str, params: Any) -> tuple[list[str], list[tuple]]:
        _job, rows = self._query(conn, sql, params)
        return [f.name for f in rows.schema], [tuple(r.values()) for r in rows]

    def _job(self, job: Any) -> Any:
        """Wait for a load or copy job, counted like a statement and cancellable like one."""
        self.count_statement()
        with self.connections.running(self.connection(), job):
            return job.result(timeout=self.job_timeout)

    def query_dataframe(self, statement: exp.Expression | str) -> Any:
        self.count_statement()
        _job, rows = self._query(self.connection(), self.sql(statement), None)
        return self._to_dataframe(rows)

    def read_dataframe(self, relation: Relation, limit: int | None = None) -> Any:
        """Tables are read with tabledata.list (not billed); views need a query."""
        if self.relation_kind(relation) != "table":
            return super().read_dataframe(relation, limit)
        self.count_statement()
        return self._to_dataframe(self.connection().list_rows(self._table_id(relation), max_results=limit))

    def read_chunks(self, source: Relation | str, chunksize: int) -> Iterator[Any]:
        """The result's pages (page_size=chunksize over the REST API), each as a DataFrame."""
        query = st.select_star(self.table(source)) if isinstance(source, Relation) else source
        self.count_statement()
        job = self.connection().query(self.sql(query))
        with self.connections.running(self.connection(), job):
            pages = job.result(timeout=self.job_timeout, page_size=chunksize)
        for batch in pages.to_arrow_iterable():
            yield arrow_to_dataframe(batch)

    def _to_dataframe(self, rows: Any) -> Any:
        # The Storage Read API (used when installed) is for real BigQuery; against an emulator stay on REST.
        return arrow_to_dataframe(rows.to_arrow(create_bqstorage_client=not self.target.settings.get("api_endpoint")))

    # ---- catalog: the REST API ----------------------------------------------------------------------
    def _table_id(self, relation: Relation) -> str:
        return f"{relation.database or self.project}.{relation.schema}.{relation.identifier}"

    def _get_table(self, relation: Relation) -> Any:
        from google.api_core.exceptions import NotFound

        self.count_statement()
        try:
            return self.connection().get_table(self._table_id(relation))
        except NotFound:
            return None

    def relation_names(self, schemas: list[str]) -> list[tuple[str, str, str]]:
        from google.api_core.exceptions import NotFound

        found = []
        for schema in schemas:
            self.count_statement()
            try:
                tables = list(self.connection().list_tables(f"{self.project}.{schema}"))
            except NotFound:  # no dataset yet: nothing in it
                continue
            found += [(schema, t.table_id, "view" if "VIEW" in (t.table_type or "") else "table") for t in tables]
        return found

    def ensure_schema(self, schema: str) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.project}.{schema}")
        dataset.location = self.target.settings.get("location")
        self.count_statement()
        self.connection().create_dataset(dataset, exists_ok=True)

    def columns(self, relation: Relation) -> list[str]:
        table = self._get_table(relation)
        return [f.name for f in table.schema] if table is not None else []

    def column_types(self, relation: Relation) -> list[tuple[str, str]]:
        """From the table's schema through the REST API (free, where INFORMATION_SCHEMA is billed)."""
        table = self._get_table(relation)
        return [(f.name, f"ARRAY<{f.field_type}>" if f.mode == "REPEATED" else f.field_type)
                for f in table.schema] if table is not None else []

    def count(self, relation: Relation) -> int:
        """A table's row count from its metadata (free); a view's by a query."""
        table = self._get_table(relation)
        if table is not None and table.table_type == "TABLE" and table.num_rows is not None:
            return int(table.num_rows)
        return super().count(relation)

    def drop_relation(self, relation: Relation) -> None:
        """Through the API: DROP ... CASCADE does not exist on BigQuery, and tables and views drop alike."""
        self.count_statement()
        self.connection().delete_table(self._table_id(relation), not_found_ok=True)

    # ---- what differs in the operations ----------------------------------------------------------------
    def swap_in(self, staged: Relation, relation: Relation, kind: str | None) -> None:
        """A copy job with WRITE_TRUNCATE: atomic and not billed. When the columns change (a seed or a
        snapshot that gained one, sync_all_columns), one CREATE OR REPLACE TABLE ... AS SELECT instead,
        as atomic: a copy job there fails on bqemulator (500, retried without end)."""
        from google.cloud import bigquery

        if kind == "view":
            self.drop_relation(relation)  # a copy cannot overwrite a view
        elif kind == "table" and self.column_types(staged) != self.column_types(relation):
            self.execute(st.create_table_as(self.table(relation), st.select_star(self.table(staged)), replace=True))
            return
        config = bigquery.CopyJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
        self._job(self.connection().copy_table(self._table_id(staged), self._table_id(relation), job_config=config))

    def update_descriptions(self, relation: Relation, docs: Any) -> list[str]:
        return update_descriptions(self, relation, docs)

    def _bulk_load(self, staged: Relation, df: Any) -> int:
        job = load_job(self.connection(), self._table_id(staged), dataframe_to_arrow(df, str(staged)))
        self._job(job)
        return int(job.output_rows or 0)
