"""Exports declared on models (and seeds) in schema YAML, parsed into plain dataclasses.

    models:
      - name: churn_scores
        exports:
          - name: churn_csv
            file: {path: "exports/churn_{run_date}.csv"}
          - name: churn_to_prod
            table: {target: prod, mode: upsert, unique_key: customer_id}
          - name: churn_api
            http: {url: "{{ env_var('SCORES_URL') }}", headers: {Authorization: "Bearer {{ env_var('TOKEN') }}"}}
          - name: churn_xlsx
            file: {path: exports/churn.xlsx, sheet: Scores}    # same path on other models: one workbook
          - name: churn_sheet
            sheets: {spreadsheet_id: "{{ env_var('SHEET_ID') }}", worksheet: Scores}

Settings may call env_var() (rendered when the export runs, so a secret the build does not
need is never required to parse); file paths take {placeholders}. Every mistake is a
ProjectError pointing at the YAML line.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from pds_core.config import check_keys
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.loader import Project
from pds_core.publish.xlsx import XlsxError, sheet_name
from pds_core.sqlexpr import parse_sql_expression

if TYPE_CHECKING:
    from pds_core.nodes import Manifest

KINDS = ("file", "table", "http", "sheets")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".xlsx": "xlsx"}
MODES = ("replace", "append", "upsert")
SHEETS_MODES = ("replace", "append")
PLACEHOLDERS = ("run_date", "run_time", "run_id", "target", "model", "export")
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")

EXPORT_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,), "description": (str,), "enabled": (bool,), "targets": (list, str), "columns": (list,),
    "where": (str,), "file": (dict,), "table": (dict,), "http": (dict,), "sheets": (dict,), "meta": (dict,),
}
FILE_KEYS: dict[str, tuple[type, ...]] = {"path": (str,), "format": (str,), "storage_options": (dict,),
                                          "sheet": (str,)}
TABLE_KEYS: dict[str, tuple[type, ...]] = {
    "target": (str,), "schema": (str,), "name": (str,), "mode": (str,), "unique_key": (str, list)}
HTTP_KEYS: dict[str, tuple[type, ...]] = {
    "url": (str,), "method": (str,), "headers": (dict,), "batch_size": (int,), "retries": (int,),
    "backoff": (int, float), "timeout": (int, float), "payload": (str,)}
SHEETS_KEYS: dict[str, tuple[type, ...]] = {
    "spreadsheet_id": (str,), "worksheet": (str,), "mode": (str,), "credentials_env": (str,), "batch_size": (int,),
    "retries": (int,), "backoff": (int, float), "timeout": (int, float), "api_url": (str,)}


@dataclass
class FileSpec:
    """A CSV, Parquet or JSON Lines file: a local path (relative to the project) or an fsspec URL."""

    path: str  # may hold {placeholders} and Jinja
    format: str  # csv | parquet | jsonl | xlsx
    storage_options: dict[str, Any] = field(default_factory=dict)  # passed to fsspec; values are secrets
    sheet: str | None = None  # xlsx: the sheet's name (default: the model's name)


@dataclass
class TableSpec:
    """A table in another target of profiles.yml."""

    target: str
    schema: str | None = None  # default: that target's schema
    name: str | None = None  # default: the model's name
    mode: str = "replace"  # replace | append | upsert
    unique_key: list[str] = field(default_factory=list)


@dataclass
class HttpSpec:
    """An HTTP endpoint receiving the rows as JSON, in batches, retried with exponential backoff."""

    url: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)  # values are secrets: never shown or stored
    batch_size: int = 500
    retries: int = 3  # attempts after the first one, per batch
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    timeout: float = 30.0
    payload: str = "envelope"  # envelope: {"run_id", "export", "batch", "rows": [...]}; rows: a bare JSON array


@dataclass
class SheetsExportSpec:
    """A worksheet of a Google spreadsheet (publish/sheets.py); ids may call env_var(), rendered at run time."""

    spreadsheet_id: str
    worksheet: str
    mode: str = "replace"  # replace | append
    credentials_env: str = "GOOGLE_SHEETS_CREDENTIALS"  # the variable holding the service account's JSON key
    batch_size: int = 5000
    retries: int = 5
    backoff: float = 1.0
    timeout: float = 60.0
    api_url: str | None = None  # default: Google's; a proxy, or a stand-in of the API


@dataclass
class Export:
    """One export of one model's rows to one destination."""

    unique_id: str  # export.<project>.<name>
    name: str
    node: str  # the model's (or seed's) unique id
    model: str  # its name
    kind: str  # file | table | http | sheets
    spec: FileSpec | TableSpec | HttpSpec | SheetsExportSpec
    path: str  # the schema file
    line: int | None = None
    description: str = ""
    targets: list[str] = field(default_factory=list)  # run only when building these targets (empty: all)
    columns: list[str] = field(default_factory=list)
    where: str | None = None
    resource_type: str = "export"

    def runs_on(self, target: str) -> bool:
        return not self.targets or target in self.targets

    def to_manifest(self) -> dict[str, Any]:
        """For manifest.json: as written, without header values or storage options (they may be secrets)."""
        data = asdict(self)
        spec = data["spec"]
        if "headers" in spec:
            spec["headers"] = {name: "****" for name in spec["headers"]}
        if "storage_options" in spec:
            spec["storage_options"] = {name: "****" for name in spec["storage_options"]}
        return data


def parse_exports(project: Project, manifest: Manifest) -> dict[str, Export]:
    """Every export of the project by unique id; all errors are reported together."""
    schema = manifest.schema
    found: dict[str, Export] = {}
    errors: list[ProjectError] = []
    if schema is None:
        return found
    for kind, entries in (("model", schema.models), ("seed", schema.seeds)):
        for name, props in entries.items():
            items = props.entry.get("exports") or []
            uid = manifest.by_name.get(name)
            node = manifest.nodes.get(uid) if uid else None
            if not items or node is None:
                continue
            for i, item in enumerate(items):
                line = items.line_of(i) if hasattr(items, "line_of") else props.line
                try:
                    export = _export(project, item, node.unique_id, name, props.path, line)
                    if export is None:
                        continue
                    if node.materialized == "ephemeral":
                        raise ProjectError(f"{kind} {name!r} is ephemeral: it has no relation to export", props.path,
                                           line, hint="materialize it as a table or view to export it")
                    if export.unique_id in found:
                        other = found[export.unique_id]
                        raise ProjectError(f"two exports are named {export.name!r} (also in {other.path}:{other.line})",
                                           props.path, line, hint="export names are unique across the project")
                    found[export.unique_id] = export
                except ProjectErrors as exc:
                    errors += exc.errors
                except ProjectError as exc:
                    errors.append(exc)
    errors += _sheet_clashes(found)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    return found


def workbook_key(export: Export) -> str | None:
    """xlsx exports whose paths are the same (once {model} and {export} are filled in) are the sheets of
    ONE workbook; None for any other export."""
    spec = export.spec
    if export.kind != "file" or not isinstance(spec, FileSpec) or spec.format != "xlsx":
        return None
    own = {"model": export.model, "export": export.name}
    return PLACEHOLDER.sub(lambda m: own.get(m.group(1), m.group(0)), spec.path)


def _sheet_clashes(exports: dict[str, Export]) -> list[ProjectError]:
    """Two sheets of one workbook with the same name (Excel compares them ignoring case)."""
    seen: dict[tuple[str, str], Export] = {}
    errors = []
    for export in sorted(exports.values(), key=lambda e: e.name):
        key = workbook_key(export)
        sheet = str(getattr(export.spec, "sheet", "") or "")
        if key is None:
            continue
        other = seen.setdefault((key, sheet.lower()), export)
        if other is not export:
            errors.append(ProjectError(
                f"exports {other.name!r} and {export.name!r} both write sheet {sheet!r} of {key} (also in "
                f"{other.path}:{other.line})", export.path, export.line,
                hint="exports to the same .xlsx path are the sheets of one workbook: give each its own sheet:"))
    return errors


def _export(project: Project, item: Any, node_uid: str, model: str, path: str, line: int | None) -> Export | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ProjectError("each export needs a 'name:'", path, line,
                           hint="e.g. - name: scores_csv\n      file: {path: exports/scores.csv}")
    check_keys(item, EXPORT_KEYS, path, f"export {item['name']!r}")
    line = getattr(item, "line", None) or line
    name = item["name"]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ProjectError(f"export name {name!r} must be letters, digits and _", path, line,
                           hint="e.g. name: " + re.sub(r"\W", "_", name))
    kinds = [k for k in KINDS if k in item]
    if len(kinds) != 1:
        raise ProjectError(f"export {name!r} needs exactly one destination: file:, table:, http: or sheets:"
                           + (f" (it has {', '.join(kinds)})" if kinds else ""), path, line,
                           hint="e.g. file: {path: exports/scores.csv}")
    kind = kinds[0]
    settings = item[kind]
    where = f"export {name!r}"
    line_of = getattr(item, "line_of", lambda _k: None)
    key_line = line_of(kind) or line
    spec: FileSpec | TableSpec | HttpSpec | SheetsExportSpec
    if kind == "file":
        spec = _file(project, settings, where, path, key_line, model, name)
    elif kind == "table":
        spec = _table(project, settings, where, path, key_line)
    elif kind == "sheets":
        spec = _sheets(settings, where, path, key_line, model)
    else:
        spec = _http(settings, where, path, key_line)
    targets = item.get("targets") or []
    if item.get("where"):
        try:
            parse_sql_expression(item["where"], project.config.dialect, "where")
        except ProjectError as exc:
            raise ProjectError(exc.message, path, line_of("where") or line,
                               hint="write a SQL condition, e.g. where: \"risk_band = 'high'\"") from None
    columns = item.get("columns") or []
    if not all(isinstance(c, str) for c in columns):
        raise ProjectError(f"columns of {where} must be a list of column names", path, line_of("columns") or line)
    if item.get("enabled") is False:
        return None
    return Export(unique_id=f"export.{project.name}.{name}", name=name, node=node_uid, model=model, kind=kind,
                  spec=spec, path=path, line=line, description=item.get("description") or "",
                  targets=[targets] if isinstance(targets, str) else [str(t) for t in targets],
                  columns=list(columns), where=item.get("where"))


def _file(project: Project, settings: Any, where: str, path: str, line: int | None, model: str,
          name: str) -> FileSpec:
    check_keys(settings, FILE_KEYS, path, f"file: of {where}")
    line_of = getattr(settings, "line_of", lambda _k: None)
    target = settings.get("path")
    if not target:
        raise ProjectError(f"file: of {where} needs a 'path:'", path, line,
                           hint="e.g. path: exports/scores_{run_date}.csv (relative to the project, or an fsspec URL)")
    known = set(PLACEHOLDERS) | set(project.vars)
    for placeholder in PLACEHOLDER.findall(target):
        if placeholder not in known:
            raise ProjectError(f"unknown placeholder {{{placeholder}}} in the path of {where}", path,
                               line_of("path") or line,
                               hint=did_you_mean(placeholder, known) or
                               f"placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)} and project vars")
    fmt = settings.get("format")
    if fmt is None:
        suffix = PurePosixPath(PLACEHOLDER.sub("x", target.split("?")[0])).suffix.lower()
        fmt = FORMATS.get(suffix)
        if fmt is None:
            raise ProjectError(f"cannot tell the format of {target!r} ({where})", path, line_of("path") or line,
                               hint="end the path with .csv, .parquet, .jsonl or .xlsx, or set format: "
                                    "csv|parquet|jsonl|xlsx")
    fmt = str(fmt).lower()
    if fmt not in set(FORMATS.values()):
        raise ProjectError(f"unknown file format {fmt!r} in {where}", path, line_of("format") or line,
                           hint=did_you_mean(fmt, set(FORMATS.values())) or "use csv, parquet, jsonl or xlsx")
    sheet = settings.get("sheet")
    if sheet is not None and fmt != "xlsx":
        raise ProjectError(f"sheet: applies to xlsx files ({where} writes {fmt})", path, line_of("sheet") or line,
                           hint="remove sheet:, or write an .xlsx file")
    if fmt == "xlsx":
        try:
            sheet = sheet_name(sheet if sheet is not None else model)
        except XlsxError as exc:
            raise ProjectError(f"{exc} ({where})", path, line_of("sheet") or line,
                               hint="a sheet name has at most 31 characters and none of [ ] : * ? / \\") from None
    protocol = target.split("://", 1)[0] if "://" in target and "{{" not in target.split("://", 1)[0] else None
    if protocol is not None and protocol not in ("file", "local"):
        try:
            from fsspec.registry import known_implementations
        except ImportError:
            raise ProjectError(f"file exports to URLs need fsspec ({where})", path, line_of("path") or line,
                               hint="pip install 'pds' (fsspec is a dependency) or pip install fsspec") from None

        if protocol not in known_implementations:
            raise ProjectError(f"no fsspec filesystem is known for {protocol}:// ({where})", path,
                               line_of("path") or line,
                               hint=did_you_mean(protocol, known_implementations) or "use a local path or e.g. s3://")
    return FileSpec(path=target, format=fmt, storage_options=dict(settings.get("storage_options") or {}), sheet=sheet)


def _table(project: Project, settings: Any, where: str, path: str, line: int | None) -> TableSpec:
    check_keys(settings, TABLE_KEYS, path, f"table: of {where}")
    line_of = getattr(settings, "line_of", lambda _k: None)
    if not settings.get("target"):
        raise ProjectError(f"table: of {where} needs a 'target:' (a target of profiles.yml)", path, line,
                           hint="e.g. table: {target: prod, mode: replace}")
    mode = str(settings.get("mode") or "replace").lower()
    if mode not in MODES:
        raise ProjectError(f"unknown mode {mode!r} in {where}", path, line_of("mode") or line,
                           hint=did_you_mean(mode, MODES) or f"use one of {', '.join(MODES)}")
    key = settings.get("unique_key") or []
    keys = [key] if isinstance(key, str) else [str(k) for k in key]
    if mode == "upsert" and not keys:
        raise ProjectError(f"mode upsert of {where} needs a unique_key", path, line_of("mode") or line,
                           hint="e.g. unique_key: customer_id (or a list of columns)")
    return TableSpec(target=str(settings["target"]), schema=settings.get("schema"), name=settings.get("name"),
                     mode=mode, unique_key=keys)


def _http(settings: Any, where: str, path: str, line: int | None) -> HttpSpec:
    check_keys(settings, HTTP_KEYS, path, f"http: of {where}")
    line_of = getattr(settings, "line_of", lambda _k: None)
    url = settings.get("url")
    if not url:
        raise ProjectError(f"http: of {where} needs a 'url:'", path, line,
                           hint="e.g. url: \"{{ env_var('SCORES_URL') }}\"")
    if "{{" not in url and not re.match(r"https?://", url):
        raise ProjectError(f"the url of {where} must start with http:// or https://", path, line_of("url") or line)
    method = str(settings.get("method") or "POST").upper()
    if method not in ("POST", "PUT", "PATCH"):
        raise ProjectError(f"method {method!r} of {where} must be POST, PUT or PATCH", path, line_of("method") or line)
    payload = str(settings.get("payload") or "envelope")
    if payload not in ("envelope", "rows"):
        raise ProjectError(f"payload {payload!r} of {where} must be envelope or rows", path,
                           line_of("payload") or line)
    values = _numbers(settings, {"batch_size": (1, 500), "retries": (0, 3), "backoff": (0, 1.0),
                                 "timeout": (0.001, 30.0)}, where, path, line)
    headers = settings.get("headers") or {}
    for name, value in headers.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ProjectError(f"header {name!r} of {where} must be a string", path,
                               getattr(headers, "line_of", lambda _k: None)(name) or line)
    return HttpSpec(url=url, method=method, headers={str(k): str(v) for k, v in headers.items()}, payload=payload,
                    **values)


def _numbers(settings: Any, bounds: dict[str, tuple[float, float]], where: str, path: str,
             line: int | None) -> dict[str, Any]:
    """The numeric settings of a destination, each at least its lower bound (a string is an error, not a crash)."""
    line_of = getattr(settings, "line_of", lambda _k: None)
    values: dict[str, Any] = {}
    for key, (low, default) in bounds.items():
        value = settings.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            raise ProjectError(f"{key} of {where} must be a number of at least {low}, got {value!r}", path,
                               line_of(key) or line)
        values[key] = value
    return values


def _sheets(settings: Any, where: str, path: str, line: int | None, model: str) -> SheetsExportSpec:
    check_keys(settings, SHEETS_KEYS, path, f"sheets: of {where}")
    line_of = getattr(settings, "line_of", lambda _k: None)
    if not settings.get("spreadsheet_id"):
        raise ProjectError(f"sheets: of {where} needs a 'spreadsheet_id:' (the id in the sheet's URL: /d/<id>/edit)",
                           path, line, hint="e.g. spreadsheet_id: \"{{ env_var('CHURN_SHEET_ID') }}\"")
    mode = str(settings.get("mode") or "replace").lower()
    if mode not in SHEETS_MODES:
        raise ProjectError(f"unknown mode {mode!r} in {where}", path, line_of("mode") or line,
                           hint=did_you_mean(mode, SHEETS_MODES) or "use replace or append")
    env = str(settings.get("credentials_env") or "GOOGLE_SHEETS_CREDENTIALS")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        raise ProjectError(f"credentials_env of {where} must name an environment variable, got {env!r}", path,
                           line_of("credentials_env") or line,
                           hint="the variable holds the key; never put the key itself in YAML")
    values = _numbers(settings, {"batch_size": (1, 5000), "retries": (0, 5), "backoff": (0, 1.0),
                                 "timeout": (0.001, 60.0)}, where, path, line)
    api_url = settings.get("api_url")
    if api_url and "{{" not in api_url and not re.match(r"https?://", api_url):
        raise ProjectError(f"the api_url of {where} must start with http:// or https://", path,
                           line_of("api_url") or line)
    return SheetsExportSpec(spreadsheet_id=str(settings["spreadsheet_id"]),
                            worksheet=str(settings.get("worksheet") or model), mode=mode, credentials_env=env,
                            api_url=api_url or None, **values)
