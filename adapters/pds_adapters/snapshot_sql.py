"""The SQL of a dbt snapshot, as sqlglot expressions: the first build's SELECT and the staging SELECT of the
later runs, the same queries dbt-core 1.11 writes (global_project/macros/materializations/snapshots), so the
snapshot table holds dbt's rows and values (dbt_scd_id is dbt's md5 of the unique key and updated_at).

What differs per engine comes from the adapter: the snapshot time (snapshot_time(): dbt's snapshot_get_time())
and the hash (md5() renders as TO_HEX(MD5(...)) on BigQuery, as dbt-bigquery writes it). The user's unique_key,
updated_at, check_cols and dbt_valid_to_current are SQL in the target's dialect, parsed here; nothing is pasted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pds_adapters.errors import ProjectError

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    import sqlglot
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp, sqlglot

CHANGE_TYPE = "dbt_change_type"
HELPER_COLUMNS = ("dbt_change_type", "dbt_unique_key")  # staging-only columns (+ dbt_unique_key_<n>)


@dataclass(frozen=True)
class MetaColumns:
    """The names of the columns dbt adds to a snapshot (snapshot_meta_column_names)."""

    scd_id: str = "dbt_scd_id"
    updated_at: str = "dbt_updated_at"
    valid_from: str = "dbt_valid_from"
    valid_to: str = "dbt_valid_to"
    is_deleted: str = "dbt_is_deleted"


@dataclass(frozen=True)
class SnapshotSpec:
    """How one snapshot records changes; plain data made by the core from the snapshot's config."""

    strategy: str  # timestamp | check
    unique_key: tuple[str, ...]  # SQL expressions (usually column names)
    key_is_list: bool = False  # unique_key was written as a list: dbt_unique_key_1, _2, ...
    updated_at: str | None = None  # timestamp: the column; check: optional, else the snapshot time
    check_cols: str | tuple[str, ...] = "all"
    hard_deletes: str = "ignore"  # ignore | invalidate | new_record
    columns: MetaColumns = field(default_factory=MetaColumns)
    valid_to_current: str | None = None  # SQL for dbt_valid_to of current rows (else NULL)

    def meta_names(self) -> list[str]:
        names = [self.columns.scd_id, self.columns.updated_at, self.columns.valid_from, self.columns.valid_to]
        return names + [self.columns.is_deleted] if self.hard_deletes == "new_record" else names


def is_helper(name: str) -> bool:
    """A staging-only column that never goes into the snapshot table."""
    low = name.lower()
    return low in HELPER_COLUMNS or (low.startswith("dbt_unique_key_") and low[15:].isdigit())


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(_ident(name), table=_ident(table) if table else None)


def _lit(text: str) -> exp.Literal:
    return exp.Literal.string(text)


class SnapshotSQL:
    """The snapshot queries for one spec on one engine (dialect, snapshot time, hash)."""

    def __init__(self, spec: SnapshotSpec, dialect: str, now: exp.Expression) -> None:
        self.spec, self.dialect, self.now = spec, dialect, now
        self.cols = spec.columns
        self.keys = [self._parse(k, "unique_key") for k in spec.unique_key]
        if spec.strategy == "timestamp" or spec.updated_at:
            self.updated_at = self._parse(str(spec.updated_at), "updated_at")
        else:
            self.updated_at = now
        self.valid_to_current = self._parse(spec.valid_to_current, "dbt_valid_to_current") \
            if spec.valid_to_current else None

    def _parse(self, text: str, what: str) -> exp.Expression:
        try:
            return sqlglot.parse_one(text, read=self.dialect, into=exp.Condition)
        except sqlglot.errors.ParseError:
            try:
                return sqlglot.parse_one(text, read=self.dialect)
            except sqlglot.errors.ParseError as exc:
                raise ProjectError(f"snapshot {what} {text!r} is not a SQL expression: {exc.errors[0]['description']}",
                                   hint=f"write {what} as a column name or expression") from None

    # ---- the pieces dbt's macros name ----------------------------------------------------------------
    def hash(self, args: list[exp.Expression]) -> exp.Expression:
        """dbt's snapshot_hash_arguments: md5(coalesce(cast(a as varchar), '') || '|' || ...)."""
        parts: list[exp.Expression] = []
        for arg in args:
            if parts:
                parts.append(_lit("|"))
            parts.append(exp.func("coalesce", exp.cast(arg.copy(), exp.DataType.Type.VARCHAR), _lit("")))
        joined = parts[0]
        for part in parts[1:]:
            joined = exp.DPipe(this=joined, expression=part, safe=True)
        return exp.MD5(this=joined)

    def scd_id(self) -> exp.Expression:
        return self.hash([*self.keys, self.updated_at])

    def key_fields(self, table: str | None = None) -> list[exp.Expression]:
        """unique_key as dbt_unique_key (or dbt_unique_key_1, _2, ... for a list)."""
        if not self.spec.key_is_list:
            return [self._qualified(self.keys[0], table).as_(_ident("dbt_unique_key"))]
        return [self._qualified(k, table).as_(_ident(f"dbt_unique_key_{i}")) for i, k in enumerate(self.keys, 1)]

    @staticmethod
    def _qualified(expr: exp.Expression, table: str | None) -> exp.Expression:
        out = expr.copy()
        if table:
            for column in out.find_all(exp.Column):
                if not column.table:
                    column.set("table", _ident(table))
        return out

    def key_names(self) -> list[str]:
        return ["dbt_unique_key"] if not self.spec.key_is_list else \
            [f"dbt_unique_key_{i}" for i in range(1, len(self.keys) + 1)]

    def join_on(self, left: str, right: str) -> exp.Expression:
        return exp.and_(*[_col(k, left).eq(_col(k, right)) for k in self.key_names()])

    def key_is_null(self, table: str) -> exp.Expression:
        return exp.Is(this=_col(self.key_names()[0], table), expression=exp.Null())

    def valid_to_expr(self) -> exp.Expression:
        """dbt's get_dbt_valid_to_current: NULL of updated_at's type, or dbt_valid_to_current."""
        upd = self.updated_at
        nothing = exp.Nullif(this=upd.copy(), expression=upd.copy())
        return exp.func("coalesce", nothing, self.valid_to_current.copy() if self.valid_to_current else exp.Null())

    def current(self, table: str | None) -> exp.Expression:
        """The row is the current version: dbt_valid_to is null (or equals dbt_valid_to_current)."""
        valid_to = _col(self.cols.valid_to, table)
        is_null = exp.Is(this=valid_to, expression=exp.Null())
        if self.valid_to_current is None:
            return is_null
        return exp.Paren(this=exp.or_(valid_to.copy().eq(self.valid_to_current.copy()), is_null))

    def row_changed(self, check_cols: list[str] | None, column_added: bool) -> exp.Expression:
        snap, src = "snapshotted_data", "source_data"
        if self.spec.strategy == "timestamp":
            return exp.Paren(this=exp.LT(this=_col(self.cols.valid_from, snap),
                                         expression=self._qualified(self.updated_at, src)))
        if column_added:
            return exp.Paren(this=exp.true())
        tests: list[exp.Expression] = []
        for name in check_cols or []:
            a = exp.column(exp.to_identifier(name, quoted=True), table=_ident(snap))
            b = exp.column(exp.to_identifier(name, quoted=True), table=_ident(src))
            a_null, b_null = exp.Is(this=a.copy(), expression=exp.Null()), exp.Is(this=b.copy(), expression=exp.Null())
            tests.append(exp.or_(exp.NEQ(this=a, expression=b), exp.Paren(this=exp.or_(
                exp.Paren(this=exp.and_(exp.Paren(this=a_null), exp.not_(exp.Paren(this=b_null.copy())))),
                exp.Paren(this=exp.and_(exp.not_(a_null.copy()), exp.Paren(this=b_null)))))))
        return exp.Paren(this=exp.or_(*tests) if tests else exp.false())

    # ---- the queries -------------------------------------------------------------------------------------
    def first_build(self, query: exp.Expression) -> exp.Select:
        """dbt's build_snapshot_table: every row of the query, current, with its meta columns."""
        upd = self.updated_at
        select = exp.select(exp.Star(), self.scd_id().as_(_ident(self.cols.scd_id)),
                            upd.copy().as_(_ident(self.cols.updated_at)), upd.copy().as_(_ident(self.cols.valid_from)),
                            self.valid_to_expr().as_(_ident(self.cols.valid_to)))
        if self.spec.hard_deletes == "new_record":
            select = select.select(_lit("False").as_(_ident(self.cols.is_deleted)))
        return select.from_(exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=_ident("sbq"))))

    def staging(self, query: exp.Expression, target: exp.Table, check_cols: list[str] | None, column_added: bool,
                query_columns: list[str], snapshot_columns: list[str]) -> exp.Select:
        """dbt's snapshot_staging_table: one row per insert, update (close) and delete of this run."""
        spec, cols, now = self.spec, self.cols, self.now
        deletes = spec.hard_deletes in ("invalidate", "new_record")
        new_record = spec.hard_deletes == "new_record"
        changed = self.row_changed(check_cols, column_added)
        if new_record:
            changed = exp.or_(changed, _col(cols.is_deleted, "snapshotted_data").eq(_lit("True")))
        upd = self.updated_at
        ctes: list[tuple[str, exp.Expression]] = [
            ("snapshot_query", query.copy()),
            ("snapshotted_data", exp.select(exp.Star(), *self.key_fields()).from_(target.copy())
             .where(self.current(None))),
            ("insertions_source_data", exp.select(
                exp.Star(), *self.key_fields(), upd.copy().as_(_ident(cols.updated_at)),
                upd.copy().as_(_ident(cols.valid_from)), self.valid_to_expr().as_(_ident(cols.valid_to)),
                self.scd_id().as_(_ident(cols.scd_id))).from_("snapshot_query")),
            ("updates_source_data", exp.select(
                exp.Star(), *self.key_fields(), upd.copy().as_(_ident(cols.updated_at)),
                upd.copy().as_(_ident(cols.valid_from)), upd.copy().as_(_ident(cols.valid_to))).from_("snapshot_query")),
        ]
        if deletes:
            ctes.append(("deletes_source_data", exp.select(exp.Star(), *self.key_fields()).from_("snapshot_query")))
        src_all = exp.Column(this=exp.Star(), table=_ident("source_data"))
        insertions = exp.select(_lit("insert").as_(_ident(CHANGE_TYPE)), src_all.copy())
        if new_record:
            insertions = insertions.select(_lit("False").as_(_ident(cols.is_deleted)))
        insertions = insertions.from_(exp.to_table("insertions_source_data").as_("source_data")).join(
            "snapshotted_data", on=self.join_on("snapshotted_data", "source_data"), join_type="left outer").where(
            exp.or_(self.key_is_null("snapshotted_data"), exp.Paren(this=exp.and_(
                exp.not_(self.key_is_null("snapshotted_data")), exp.Paren(this=changed.copy())))))
        ctes.append(("insertions", insertions))
        updates = exp.select(_lit("update").as_(_ident(CHANGE_TYPE)), src_all.copy(),
                             _col(cols.scd_id, "snapshotted_data"))
        if new_record:
            updates = updates.select(_col(cols.is_deleted, "snapshotted_data"))
        ctes.append(("updates", updates.from_(exp.to_table("updates_source_data").as_("source_data")).join(
            "snapshotted_data", on=self.join_on("snapshotted_data", "source_data"), join_type="inner")
            .where(exp.Paren(this=changed.copy()))))
        not_deleted_yet = exp.not_(exp.Paren(this=exp.and_(
            _col(cols.is_deleted, "snapshotted_data").eq(_lit("True")), self.current("snapshotted_data"))))
        if deletes:
            gone = self.key_is_null("source_data")
            delete = exp.select(_lit("delete").as_(_ident(CHANGE_TYPE)), src_all.copy(),
                                now.copy().as_(_ident(cols.valid_from)), now.copy().as_(_ident(cols.updated_at)),
                                now.copy().as_(_ident(cols.valid_to)), _col(cols.scd_id, "snapshotted_data"))
            if new_record:
                delete = delete.select(_col(cols.is_deleted, "snapshotted_data"))
                gone = exp.and_(gone, not_deleted_yet.copy())
            ctes.append(("deletes", delete.from_("snapshotted_data").join(
                exp.to_table("deletes_source_data").as_("source_data"),
                on=self.join_on("snapshotted_data", "source_data"), join_type="left").where(gone)))
        if new_record:
            ctes.append(("deletion_records", self._deletion_records(query_columns, snapshot_columns, not_deleted_yet)))
        union: exp.Expression = exp.select(exp.Star()).from_("insertions")
        for name in ["updates", *(["deletes"] if deletes else []), *(["deletion_records"] if new_record else [])]:
            union = exp.union(union, exp.select(exp.Star()).from_(name), distinct=False)
        result = exp.select(exp.Star()).from_(exp.Subquery(this=union, alias=exp.TableAlias(this=_ident("changes"))))
        for name, cte in ctes:
            result = result.with_(_ident(name), as_=cte)
        return result

    def _deletion_records(self, query_columns: list[str], snapshot_columns: list[str],
                          not_deleted_yet: exp.Expression) -> exp.Select:
        """hard_deletes: new_record: one more version of each deleted row, marked dbt_is_deleted = 'True'."""
        cols, now = self.cols, self.now
        known = {c.lower() for c in snapshot_columns}
        values: list[exp.Expression] = [_lit("insert").as_(_ident(CHANGE_TYPE))]
        for name in query_columns:
            table = "snapshotted_data" if name.lower() in known else "source_data"
            values.append(exp.column(exp.to_identifier(name, quoted=True), table=_ident(table)))
        values += [_col(k, "snapshotted_data").as_(_ident(k)) for k in self.key_names()]
        values += [now.copy().as_(_ident(cols.valid_from)), now.copy().as_(_ident(cols.updated_at)),
                   _col(cols.valid_to, "snapshotted_data").as_(_ident(cols.valid_to)),
                   # the new version's scd_id hashes the closed one's with the snapshot time, as dbt does
                   self.hash([_col(cols.scd_id, "snapshotted_data"), now.copy()]).as_(_ident(cols.scd_id)),
                   _lit("True").as_(_ident(cols.is_deleted))]
        return exp.select(*values).from_("snapshotted_data").join(
            exp.to_table("deletes_source_data").as_("source_data"), on=self.join_on("snapshotted_data", "source_data"),
            join_type="left").where(exp.and_(self.key_is_null("source_data"), not_deleted_yet.copy()))

    # ---- applying the staged changes ----------------------------------------------------------------------
    def close_and_insert(self, target: exp.Table, staged: exp.Table, insert_cols: list[str]) -> list[exp.Expression]:
        """dbt-postgres / dbt-duckdb: UPDATE the closed versions' valid_to, then INSERT the new versions."""
        cols = self.cols
        dest, src = target.copy(), staged.copy()
        dest.set("alias", exp.TableAlias(this=_ident("DBT_INTERNAL_TARGET")))
        src.set("alias", exp.TableAlias(this=_ident("DBT_INTERNAL_SOURCE")))
        as_text = lambda c: exp.cast(c, exp.DataType.Type.TEXT)  # noqa: E731
        where = exp.and_(
            as_text(_col(cols.scd_id, "DBT_INTERNAL_SOURCE")).eq(as_text(_col(cols.scd_id, "DBT_INTERNAL_TARGET"))),
            as_text(_col(CHANGE_TYPE, "DBT_INTERNAL_SOURCE")).isin(_lit("update"), _lit("delete")),
            self.current("DBT_INTERNAL_TARGET"))
        update = exp.Update(this=dest, expressions=[exp.EQ(this=_col(cols.valid_to),
                                                          expression=_col(cols.valid_to, "DBT_INTERNAL_SOURCE"))],
                            from_=exp.From(this=src), where=exp.Where(this=where))
        return [update, self._insert(target, staged, insert_cols)]

    def _insert(self, target: exp.Table, staged: exp.Table, insert_cols: list[str]) -> exp.Insert:
        src = staged.copy()
        src.set("alias", exp.TableAlias(this=_ident("DBT_INTERNAL_SOURCE")))
        select = exp.select(*[exp.column(exp.to_identifier(c, quoted=True), table=_ident("DBT_INTERNAL_SOURCE"))
                              for c in insert_cols]).from_(src).where(
            _col(CHANGE_TYPE, "DBT_INTERNAL_SOURCE").eq(_lit("insert")))
        columns = [exp.to_identifier(c, quoted=True) for c in insert_cols]
        return exp.Insert(this=exp.Schema(this=target.copy(), expressions=columns), expression=select)

    def merge(self, target: exp.Table, staged: exp.Table, insert_cols: list[str]) -> exp.Merge:
        """dbt's default snapshot_merge_sql (Snowflake, BigQuery, Spark): one MERGE on dbt_scd_id."""
        cols = self.cols
        dest, src = target.copy(), staged.copy()
        dest.set("alias", exp.TableAlias(this=_ident("DBT_INTERNAL_DEST")))
        src.set("alias", exp.TableAlias(this=_ident("DBT_INTERNAL_SOURCE")))
        matched = exp.and_(self.current("DBT_INTERNAL_DEST"),
                           _col(CHANGE_TYPE, "DBT_INTERNAL_SOURCE").isin(_lit("update"), _lit("delete")))
        update = exp.When(matched=True, condition=matched, then=exp.Update(expressions=[
            exp.EQ(this=_col(cols.valid_to), expression=_col(cols.valid_to, "DBT_INTERNAL_SOURCE"))]))
        insert = exp.When(matched=False, condition=_col(CHANGE_TYPE, "DBT_INTERNAL_SOURCE").eq(_lit("insert")),
                          then=exp.Insert(
                              this=exp.Tuple(expressions=[exp.column(exp.to_identifier(c, quoted=True))
                                                          for c in insert_cols]),
                              expression=exp.Tuple(expressions=[
                                  exp.column(exp.to_identifier(c, quoted=True), table=_ident("DBT_INTERNAL_SOURCE"))
                                  for c in insert_cols])))
        return exp.Merge(this=dest, using=src,
                         on=_col(cols.scd_id, "DBT_INTERNAL_SOURCE").eq(_col(cols.scd_id, "DBT_INTERNAL_DEST")),
                         whens=exp.Whens(expressions=[update, insert]))
