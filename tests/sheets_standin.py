"""A stand-in for the Google Sheets REST API v4 and the OAuth token endpoint, for the Sheets tests.

It implements only the calls pds_core.publish.sheets makes, keeps the spreadsheet's cells in memory,
and is strict where the real API is (batchUpdate applies all its requests or none; writes beyond a
worksheet's grid are refused; a bearer token it did not issue gets 401; the JWT assertion must be
signed by the service account's key). Anything it does not implement is a 400, never a silent
success. A lock makes each request see one state, like the real service's consistency per request.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/v4/spreadsheets/"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


class Invalid(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Sheet:
    properties: dict[str, Any]
    cells: list[list[Any]]  # rowCount x columnCount, None = empty
    formats: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)


@dataclass
class StandIn:
    spreadsheet_id: str
    public_key: bytes  # PEM of the service account's public key
    token_url: str = ""
    sheets: dict[int, Sheet] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    faults: list[tuple[str, int]] = field(default_factory=list)  # (kind, status) answered to the next such calls
    log: list[tuple[str, str, int]] = field(default_factory=list)  # (method, kind, status)
    bodies: list[str] = field(default_factory=list)  # every request body as received
    stall: float = 0.0  # seconds each values write waits (so a reader can look in between)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 100

    def add_sheet(self, title: str, rows: list[list[Any]]) -> int:
        width = max((len(r) for r in rows), default=1)
        sheet_id = self.next_id
        self.next_id += 1
        cells = [list(r) + [None] * (width - len(r)) for r in rows] or [[None]]
        self.sheets[sheet_id] = Sheet({"sheetId": sheet_id, "title": title, "index": len(self.sheets),
                                       "gridProperties": {"rowCount": len(cells), "columnCount": width}}, cells)
        return sheet_id

    def grid(self, title: str) -> list[list[Any]]:
        """The values of a worksheet as a reader gets them: trailing empty cells and rows left out."""
        with self.lock:
            return _trimmed(self._by_title(title).cells)

    def _by_title(self, title: str) -> Sheet:
        for sheet in self.sheets.values():
            if sheet.properties["title"] == title:
                return sheet
        raise Invalid(f"Unable to parse range: {title}")

    # ---- requests -------------------------------------------------------------------------------
    def handle(self, method: str, url: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = urlsplit(url)
        path, query = unquote(parts.path), {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.bodies.append(raw.decode("utf-8", "replace"))
        if path == "/token":
            return self._token(raw)
        kind = _kind(method, path)
        with self.lock:
            for i, (fault_kind, status) in enumerate(self.faults):
                if fault_kind == kind:
                    del self.faults[i]
                    self.log.append((method, kind, status))
                    return status, {"error": {"code": status, "message": "stand-in fault"}}
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            self.log.append((method, kind, 401))
            return 401, {"error": {"code": 401, "message": "Request had invalid authentication credentials."}}
        if not path.startswith(PREFIX + self.spreadsheet_id):
            return 404, {"error": {"code": 404, "message": "Requested entity was not found."}}
        if kind in ("values", "append") and self.stall:
            time.sleep(self.stall)
        body = json.loads(raw) if raw else None
        with self.lock:
            try:
                result = self._dispatch(kind, method, path, query, body)
            except Invalid as exc:
                self.log.append((method, kind, exc.status))
                return exc.status, {"error": {"code": exc.status, "message": str(exc)}}
            self.log.append((method, kind, 200))
            return 200, result

    def _token(self, raw: bytes) -> tuple[int, Any]:
        from google.auth import jwt

        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            # google-auth signs for Google's token endpoint whatever token_uri it posts to, as Google expects
            claims = jwt.decode(form["assertion"], certs=self.public_key, audience=GOOGLE_TOKEN_AUDIENCE)
        except Exception as exc:  # a bad signature, audience or expiry
            return 400, {"error": "invalid_grant", "error_description": str(exc)[:100]}
        if "spreadsheets" not in claims.get("scope", ""):
            return 400, {"error": "invalid_scope"}
        token = "ya29." + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _dispatch(self, kind: str, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        if kind == "get":
            if query.get("fields") != "sheets.properties":
                raise Invalid("stand-in: only fields=sheets.properties is implemented")
            ordered = sorted(self.sheets.values(), key=lambda s: s.properties["index"])
            return {"sheets": [{"properties": copy.deepcopy(s.properties)} for s in ordered]}
        if kind == "batchUpdate":
            return self._batch(body["requests"])
        target = path.split("/values/", 1)[1].removesuffix(":append")
        title, (row, col) = _range(target)
        sheet = self._by_title(title)
        if kind == "read":
            if query.get("valueRenderOption") != "UNFORMATTED_VALUE":
                raise Invalid("stand-in: only valueRenderOption=UNFORMATTED_VALUE is implemented")
            return {"range": target, "majorDimension": "ROWS", "values": _trimmed(sheet.cells)[row:row + 1]
                    if target.endswith("1:1") else _trimmed(sheet.cells)}
        if query.get("valueInputOption") != "RAW":
            raise Invalid("stand-in: only valueInputOption=RAW is implemented")
        values = body["values"]
        if kind == "append":
            row = len(_trimmed(sheet.cells))
            need = row + len(values)
            _resize(sheet, max(need, len(sheet.cells)), max(sheet.properties["gridProperties"]["columnCount"],
                                                            max((len(v) for v in values), default=0)))
        limits = sheet.properties["gridProperties"]
        if row + len(values) > limits["rowCount"] or col + max((len(v) for v in values), default=0) > \
                limits["columnCount"]:
            raise Invalid(f"Range ({target}) exceeds grid limits. Max rows: {limits['rowCount']}, "
                          f"max columns: {limits['columnCount']}")
        for r, record in enumerate(values):
            for c, value in enumerate(record):
                if value is not None:
                    sheet.cells[row + r][col + c] = value
        return {"updatedRows": len(values)} if kind == "values" else {"updates": {"updatedRows": len(values)}}

    def _batch(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        """All or nothing: applied to a copy that replaces the state only if every request is valid."""
        state, replies = copy.deepcopy(self.sheets), []
        next_id = self.next_id
        for i, request in enumerate(requests):
            (name, args), = request.items()
            try:
                reply = _apply(state, name, args, next_id)
            except Invalid as exc:
                raise Invalid(f"Invalid requests[{i}].{name}: {exc}") from None
            if name == "addSheet":
                next_id += 1
            replies.append(reply)
        self.sheets, self.next_id = state, next_id
        return {"spreadsheetId": self.spreadsheet_id, "replies": replies}


def _kind(method: str, path: str) -> str:
    if path.endswith(":batchUpdate"):
        return "batchUpdate"
    if "/values/" in path:
        return "append" if path.endswith(":append") else ("values" if method == "PUT" else "read")
    return "get"


def _apply(state: dict[int, Sheet], name: str, args: dict[str, Any], next_id: int) -> dict[str, Any]:
    if name == "addSheet":
        props = copy.deepcopy(args["properties"])
        if any(s.properties["title"] == props["title"] for s in state.values()):
            raise Invalid(f'A sheet with the name "{props["title"]}" already exists.')
        grid = {"rowCount": 1000, "columnCount": 26, **props.get("gridProperties", {})}
        props.update(sheetId=next_id, index=len(state), gridProperties=grid)
        state[next_id] = Sheet(props, [[None] * grid["columnCount"] for _ in range(grid["rowCount"])])
        return {"addSheet": {"properties": copy.deepcopy(props)}}
    if name == "deleteSheet":
        if args["sheetId"] not in state:
            raise Invalid(f"No grid with id: {args['sheetId']}")
        if len(state) == 1:
            raise Invalid("You can't remove all the sheets in a document.")
        del state[args["sheetId"]]
        return {}
    if name == "updateSheetProperties":
        props, fields = args["properties"], args["fields"]
        sheet = state.get(props["sheetId"])
        if sheet is None:
            raise Invalid(f"No grid with id: {props['sheetId']}")
        for key in ("title", "hidden", "index"):
            if key in fields.replace("gridProperties", ""):
                sheet.properties[key] = props[key]
        if "gridProperties" in fields:
            grid = props["gridProperties"]
            if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
                raise Invalid("You can't freeze all visible rows on the sheet.")
            _resize(sheet, grid["rowCount"], grid["columnCount"])
            sheet.properties["gridProperties"]["frozenRowCount"] = grid.get("frozenRowCount", 0)
        return {}
    if name == "copyPaste":
        src, dst = args["source"], args["destination"]
        if src["sheetId"] not in state or dst["sheetId"] not in state:
            raise Invalid("No grid with that id")
        source, target = state[src["sheetId"]], state[dst["sheetId"]]
        rows, cols = src["endRowIndex"] - src["startRowIndex"], src["endColumnIndex"] - src["startColumnIndex"]
        if rows > len(target.cells) or cols > len(target.cells[0]):
            raise Invalid("The destination range is outside the grid")
        for r in range(rows):
            for c in range(cols):
                target.cells[dst["startRowIndex"] + r][dst["startColumnIndex"] + c] = source.cells[r][c]
                fmt = source.formats.get((r, c))
                if fmt is None:
                    target.formats.pop((dst["startRowIndex"] + r, dst["startColumnIndex"] + c), None)
                else:
                    target.formats[(dst["startRowIndex"] + r, dst["startColumnIndex"] + c)] = dict(fmt)
        return {}
    if name == "repeatCell":
        grid, sheet = args["range"], state.get(args["range"]["sheetId"])
        if sheet is None:
            raise Invalid("No grid with that id")
        for r in range(grid["startRowIndex"], grid["endRowIndex"]):
            for c in range(grid["startColumnIndex"], grid["endColumnIndex"]):
                sheet.formats.setdefault((r, c), {}).update(args["cell"]["userEnteredFormat"])
        return {}
    raise Invalid(f"stand-in: request {name} is not implemented")


def _resize(sheet: Sheet, rows: int, cols: int) -> None:
    cells = [row[:cols] + [None] * (cols - len(row)) for row in sheet.cells[:rows]]
    cells += [[None] * cols for _ in range(rows - len(cells))]
    sheet.cells = cells
    sheet.formats = {k: v for k, v in sheet.formats.items() if k[0] < rows and k[1] < cols}
    sheet.properties["gridProperties"].update(rowCount=rows, columnCount=cols)


def _range(text: str) -> tuple[str, tuple[int, int]]:
    """'Scores'!B3 -> ('Scores', (2, 1)); 'Scores'!1:1 -> ('Scores', (0, 0))."""
    title, _, cells = text.rpartition("!")
    if title.startswith("'"):
        title = title[1:-1].replace("''", "'")
    match = re.match(r"([A-Z]*)(\d*)", cells)
    letters, digits = match.groups() if match else ("", "")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return title, (int(digits) - 1 if digits else 0, col - 1 if letters else 0)


def _trimmed(cells: list[list[Any]]) -> list[list[Any]]:
    rows = [list(r) for r in cells]
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


@contextmanager
def serve(standin: StandIn) -> Iterator[str]:
    """Run the stand-in on 127.0.0.1 (a free port) in a thread; yields its base URL; stops it after."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = standin.handle(self.command, self.path,
                                             {k.lower(): v for k, v in self.headers.items()}, raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _any  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        standin.token_url = url + "/token"
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
