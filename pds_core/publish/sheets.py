"""A Google Sheets destination: a model's rows into one worksheet of a spreadsheet, over the Sheets
REST API v4 (requests), authenticated as a service account (google-auth signs the JWT and fetches the
token).

Replace mode is atomic for readers. The rows are first written into a new hidden worksheet
(`pds-tmp-<worksheet>-<random>`), sized to fit, with its number formats. Then ONE batchUpdate resizes
the target worksheet, copies the temporary one over it (copyPaste, values and formats) and deletes
the temporary one. The API applies a batchUpdate's requests all together or not at all, so a reader
sees the old rows or the new rows, never a mix, and a failure before that call leaves the target as
it was. Copying (rather than deleting the old worksheet and renaming the new one) keeps the
worksheet's id, so links to it (#gid=...), formulas in other sheets that read it, filters and
protections survive. A temporary worksheet left by a killed run is deleted by the next export of
that worksheet.

Append mode appends the rows below the last one (values.append, INSERT_ROWS) in batches; the first
export writes the header. Each batch is applied whole; when one fails after its retries, the error
says how many rows were appended before it. The header must match the model's columns.

Cells are typed: numbers, booleans and text as themselves (valueInputOption RAW: a text starting
with '=' stays text, never a formula), dates and timestamps as date serial numbers with a date
format, NULL as an empty cell; integers beyond 2**53 and infinities as text.

Requests failing with no response, 408, 429 or 5xx are retried with exponential backoff (or the
server's Retry-After); a 401 refreshes the token once. The key, the token and the credentials JSON
never appear in any message: errors are redacted before they are raised.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pandas as pd

API_URL = "https://sheets.googleapis.com/v4/spreadsheets"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
TEMP_PREFIX = "pds-tmp-"
RETRY_STATUS = (408, 429, 500, 502, 503, 504)
EPOCH = dt.datetime(1899, 12, 30)  # day 0 of spreadsheet date serial numbers
DATE_FORMATS = {"date": ("DATE", "yyyy-mm-dd"), "datetime": ("DATE_TIME", "yyyy-mm-dd hh:mm:ss")}
MAX_BACKOFF = 60.0


class SheetsFailed(Exception):
    """The export did not complete; the message is redacted and says what was written."""

    def __init__(self, message: str, rows: int = 0, batches: int = 0) -> None:
        super().__init__(message)
        self.rows = rows
        self.batches = batches


@dataclass
class SheetsSpec:
    """Where the rows go and how hard to try."""

    spreadsheet_id: str
    worksheet: str
    mode: str = "replace"  # replace | append
    credentials_env: str = "GOOGLE_SHEETS_CREDENTIALS"  # the service account's JSON key, or a path to it
    batch_size: int = 5000  # rows per values request (the API takes about 2 MB per request comfortably)
    retries: int = 5
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    timeout: float = 60.0
    api_url: str = API_URL  # overridable: a proxy, or the stand-in the tests start
    token_url: str | None = None  # default: the key's token_uri


@dataclass
class SheetsResult:
    rows: int
    batches: int
    retries: int = 0
    notes: list[str] = field(default_factory=list)


class SheetsClient:
    """The REST calls, with the token, retries and redaction in one place."""

    def __init__(self, spec: SheetsSpec, environ: Any = None, session: Any = None,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retry: Callable[[int, str, float], None] | None = None) -> None:
        import requests

        self.spec, self.sleep, self.on_retry = spec, sleep, on_retry
        self.session = session or requests.Session()
        self.secrets: set[str] = set()
        self.retries = 0
        self.credentials = self._credentials(os.environ if environ is None else environ)

    def _credentials(self, environ: Any) -> Any:
        from google.oauth2 import service_account

        name = self.spec.credentials_env
        raw = environ.get(name)
        if not raw:
            raise SheetsFailed(f"the environment variable {name} is not set: it must hold the service account's "
                               "JSON key (or a path to it)")
        self.secrets.add(raw)
        if not raw.lstrip().startswith("{"):
            try:
                with open(raw, encoding="utf-8") as handle:
                    raw = handle.read()
            except OSError as exc:
                raise SheetsFailed(f"{name} names a file that cannot be read: {exc.strerror}") from None
        try:
            info = json.loads(raw)
            self.secrets.update(str(info[k]) for k in ("private_key", "private_key_id") if info.get(k))
            if self.spec.token_url:
                info["token_uri"] = self.spec.token_url
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, KeyError, TypeError) as exc:
            kind = type(exc).__name__
            raise SheetsFailed(f"{name} does not hold a valid service account key ({kind}); download a JSON key "
                               "for the service account and put its content in the variable") from None

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 6:
                text = text.replace(secret, "****")
        return text

    def _token(self, force: bool = False) -> str:
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request

        if force or not self.credentials.valid:
            try:
                self.credentials.refresh(Request(self.session))
            except GoogleAuthError as exc:
                raise SheetsFailed(self.redact(f"could not get an access token for the service account: {exc}")) \
                    from None
            self.secrets.add(self.credentials.token)
        return str(self.credentials.token)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        """One API call (path relative to the spreadsheet), retried on failures worth retrying."""
        import requests

        url = f"{self.spec.api_url.rstrip('/')}/{quote(self.spec.spreadsheet_id, safe='')}{path}"
        refreshed = False
        for attempt in range(self.spec.retries + 1):
            headers = {"Authorization": f"Bearer {self._token()}"}
            try:
                response = self.session.request(method, url, json=body, params=params, headers=headers,
                                                timeout=self.spec.timeout)
            except requests.RequestException as exc:
                reason, wait = f"no response ({type(exc).__name__})", None
            else:
                if response.status_code < 300:
                    return response.json() if response.content else {}
                reason, wait = _reason(response), response.headers.get("Retry-After")
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    self._token(force=True)
                    continue
                if response.status_code not in RETRY_STATUS:
                    raise SheetsFailed(self.redact(f"{method} {path or '/'}: {reason}{_hint(response.status_code, self)}"))
            if attempt == self.spec.retries:
                raise SheetsFailed(self.redact(f"{method} {path or '/'}: {reason} after {attempt + 1} attempts"))
            delay = min(MAX_BACKOFF, float(wait) if wait and wait.isdigit() else self.spec.backoff * 2 ** attempt)
            self.retries += 1
            if self.on_retry is not None:
                self.on_retry(attempt + 1, self.redact(reason), delay)
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def sheets(self) -> list[dict[str, Any]]:
        found = self.call("GET", "", params={"fields": "sheets.properties"})
        return [s["properties"] for s in found.get("sheets", [])]

    def batch_update(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.call("POST", ":batchUpdate", {"requests": requests}).get("replies", [])


def _reason(response: Any) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.reason or ""
    return f"HTTP {response.status_code} {str(message)[:200]}".rstrip()


def _hint(status: int, client: SheetsClient) -> str:
    email = getattr(client.credentials, "service_account_email", "the service account")
    if status == 403:
        return f" (share the spreadsheet with {email} as an editor)"
    if status == 404:
        return " (check spreadsheet_id: the id in the spreadsheet's URL, /d/<id>/edit)"
    return ""


def a1(title: str, row: int = 1, column: int = 1) -> str:
    """An A1 reference into a worksheet: 'Scores'!B2 (quotes doubled inside the title)."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return "'" + title.replace("'", "''") + f"'!{letters}{row}"


def cell_values(frame: pd.DataFrame) -> tuple[list[list[Any]], dict[int, str]]:
    """Rows as JSON values for valueInputOption RAW, and the date columns' kinds by index."""
    columns, kinds = [], {}
    for index, name in enumerate(frame.columns):
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            if getattr(series.dt, "tz", None) is not None:
                series = series.dt.tz_convert("UTC").dt.tz_localize(None)
            kinds[index] = "datetime"
            columns.append([None if pd.isna(v) else _serial(v.to_pydatetime()) for v in series])
        else:
            values = [_value(v) for v in series.tolist()]
            dates = [v for v in series.tolist()[:1000] if isinstance(v, dt.date)]
            if dates:
                kinds[index] = "datetime" if any(isinstance(v, dt.datetime) for v in dates) else "date"
            columns.append(values)
    return [list(row) for row in zip(*columns, strict=True)], kinds


def _serial(value: dt.datetime) -> float:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value - EPOCH) / dt.timedelta(days=1)


def _value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float | decimal.Decimal):
        number = float(value)
        return None if math.isnan(number) else (number if math.isfinite(number) else str(number))
    if isinstance(value, dt.datetime):
        return _serial(value)
    if isinstance(value, dt.date):
        return _serial(dt.datetime(value.year, value.month, value.day))
    if hasattr(value, "item"):
        return _value(value.item())
    return str(value)


def write_sheet(spec: SheetsSpec, chunks: Iterator[pd.DataFrame], environ: Any = None, session: Any = None,
                sleep: Callable[[float], None] = time.sleep,
                on_retry: Callable[[int, str, float], None] | None = None) -> SheetsResult:
    """Publish the rows to the worksheet (replace or append, see the module docstring)."""
    client = SheetsClient(spec, environ, session, sleep, on_retry)
    if spec.mode == "append":
        return _append(client, chunks)
    return _replace(client, chunks)


def _replace(client: SheetsClient, chunks: Iterator[pd.DataFrame]) -> SheetsResult:
    spec = client.spec
    frames = list(chunks)  # the temporary sheet is sized before writing: rows are counted first
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else (frames[0] if frames else pd.DataFrame())
    header = [str(c) for c in frame.columns]
    rows, kinds = cell_values(frame)
    sheets = client.sheets()
    stale = [s["sheetId"] for s in sheets if s["title"].startswith(f"{TEMP_PREFIX}{spec.worksheet}-")]
    if stale:  # left by a killed run
        client.batch_update([{"deleteSheet": {"sheetId": sid}} for sid in stale])
    target = next((s for s in sheets if s["title"] == spec.worksheet), None)
    temp_title = f"{TEMP_PREFIX}{spec.worksheet}-{uuid.uuid4().hex[:8]}"
    width, height = max(len(header), 1), max(len(rows) + 1, 2)
    reply = client.batch_update([{"addSheet": {"properties": {
        "title": temp_title, "hidden": True,
        "gridProperties": {"rowCount": height, "columnCount": width, "frozenRowCount": 1}}}}])
    temp_id = reply[0]["addSheet"]["properties"]["sheetId"]
    try:
        batches, grid_rows = 0, [header, *rows]
        for start in range(0, len(grid_rows), spec.batch_size):
            part = grid_rows[start:start + spec.batch_size]
            client.call("PUT", f"/values/{quote(a1(temp_title, start + 1), safe='')}",
                        {"majorDimension": "ROWS", "values": part}, params={"valueInputOption": "RAW"})
            batches += 1
        client.batch_update(_formats(temp_id, len(rows), width, kinds))
        grid = {"startRowIndex": 0, "endRowIndex": height, "startColumnIndex": 0, "endColumnIndex": width}
        if target is None:  # nothing to replace: the temporary worksheet becomes it
            swap = [{"updateSheetProperties": {"properties": {"sheetId": temp_id, "title": spec.worksheet,
                                                              "hidden": False}, "fields": "title,hidden"}}]
        else:  # ONE batchUpdate: all of it is applied, or none of it
            swap = [{"updateSheetProperties": {"properties": {"sheetId": target["sheetId"], "gridProperties": {
                        "rowCount": height, "columnCount": width, "frozenRowCount": 1}},
                        "fields": "gridProperties(rowCount,columnCount,frozenRowCount)"}},
                    {"copyPaste": {"source": {"sheetId": temp_id, **grid},
                                   "destination": {"sheetId": target["sheetId"], **grid}, "pasteType": "PASTE_NORMAL"}},
                    {"deleteSheet": {"sheetId": temp_id}}]
        client.batch_update(swap)
    except BaseException:
        with contextlib.suppress(Exception):  # else the next export deletes it; the first error is the one to report
            client.batch_update([{"deleteSheet": {"sheetId": temp_id}}])
        raise
    return SheetsResult(len(rows), batches, client.retries)


def _formats(sheet_id: int, rows: int, width: int, kinds: dict[int, str]) -> list[dict[str, Any]]:
    """A bold header and date formats on the date columns (in the temporary sheet: copied with it)."""
    requests: list[dict[str, Any]] = [{"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0,
                  "endColumnIndex": width},
        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}, "fields": "userEnteredFormat.textFormat.bold"}}]
    for index, kind in kinds.items():
        fmt_type, pattern = DATE_FORMATS[kind]
        requests.append({"repeatCell": {
            "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": rows + 1, "startColumnIndex": index,
                      "endColumnIndex": index + 1},
            "cell": {"userEnteredFormat": {"numberFormat": {"type": fmt_type, "pattern": pattern}}},
            "fields": "userEnteredFormat.numberFormat"}})
    return requests


def _append(client: SheetsClient, chunks: Iterator[pd.DataFrame]) -> SheetsResult:
    spec = client.spec
    title = spec.worksheet
    sent = batches = 0
    header: list[str] | None = None
    for chunk in chunks:
        if header is None:
            header = [str(c) for c in chunk.columns]
            _ensure_header(client, title, header)
        rows, _kinds = cell_values(chunk)
        for start in range(0, len(rows), spec.batch_size):
            part = rows[start:start + spec.batch_size]
            try:
                client.call("POST", f"/values/{quote(a1(title), safe='')}:append", {"majorDimension": "ROWS",
                            "values": part}, params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"})
            except SheetsFailed as exc:
                raise SheetsFailed(f"{exc}; {sent:,} rows in {batches} batches were appended before it, this batch "
                                   f"({len(part):,} rows) and the rest were not", sent, batches) from None
            sent += len(part)
            batches += 1
    return SheetsResult(sent, batches, client.retries)


def _ensure_header(client: SheetsClient, title: str, header: list[str]) -> None:
    """Create the worksheet with the header, write the header into an empty one, or check it matches."""
    if not any(s["title"] == title for s in client.sheets()):
        client.batch_update([{"addSheet": {"properties": {"title": title, "gridProperties": {
            "rowCount": 1, "columnCount": max(len(header), 1), "frozenRowCount": 1}}}}])
    row_one = "'" + title.replace("'", "''") + "'!1:1"
    found = client.call("GET", f"/values/{quote(row_one, safe='')}",
                        params={"valueRenderOption": "UNFORMATTED_VALUE"}).get("values") or [[]]
    if not found[0]:
        client.call("PUT", f"/values/{quote(a1(title), safe='')}", {"majorDimension": "ROWS", "values": [header]},
                    params={"valueInputOption": "RAW"})
    elif [str(v) for v in found[0]] != header:
        raise SheetsFailed(f"worksheet {title!r} has the columns {found[0]} but the rows have {header}; append "
                           "needs the same columns in the same order (or use mode: replace)")
