"""The `sheets:` destination: an export's rows into one worksheet of a Google spreadsheet.

The writing itself (the REST calls, the atomic replace, append, typed cells, retries, redaction) is
publish/sheets.py; this class renders the settings when the export runs (env_var() in the
spreadsheet id, so a sheet only production knows needs no variable on a laptop), shows where the rows
go without secrets, and turns the module's SheetsFailed into the export's ExportFailed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pds_core.errors import ProjectError
from pds_core.publish.destinations import Destination, ExportFailed, Written
from pds_core.publish.exports import SheetsExportSpec
from pds_core.publish.secrets import shown_url


class SheetsDestination(Destination):
    kind = "sheets"

    def __init__(self, export: Any, ctx: Any) -> None:
        super().__init__(export, ctx)
        self.spec: SheetsExportSpec = export.spec
        self.rendered: Any = None  # the sheets.SheetsSpec once prepared

    def prepare(self) -> None:
        from pds_core.publish.sheets import API_URL, SheetsSpec

        spec, export = self.spec, self.export
        for package, module in (("requests", "requests"), ("google-auth", "google.oauth2")):
            try:
                __import__(module)
            except ImportError:
                raise ProjectError(f"export {export.name}: the Google Sheets destination needs {package}",
                                   export.path, export.line, hint="pip install 'pds[sheets]'") from None
        spreadsheet = self.ctx.render(spec.spreadsheet_id, export.path).strip()
        if not spreadsheet:
            raise ProjectError(f"export {export.name}: spreadsheet_id is empty", export.path, export.line,
                               hint="check the environment variable it reads")
        api_url = self.ctx.render(spec.api_url, export.path).rstrip("/") if spec.api_url else API_URL
        self.rendered = SheetsSpec(
            spreadsheet_id=spreadsheet, worksheet=self.ctx.render(spec.worksheet, export.path), mode=spec.mode,
            credentials_env=spec.credentials_env, batch_size=spec.batch_size, retries=spec.retries,
            backoff=float(spec.backoff), timeout=float(spec.timeout),
            api_url=api_url if api_url.endswith("/spreadsheets") else api_url + "/v4/spreadsheets")

    def describe(self) -> str:
        spec = self.spec  # as written: an id read with env_var() is shown by the variable's name
        return self.redact(f"sheets {shown_url(spec.spreadsheet_id)} worksheet {spec.worksheet!r} ({spec.mode})")

    def write(self, chunks: Iterator[Any]) -> Written:
        from pds_core.publish.sheets import SheetsFailed, write_sheet

        def retried(attempt: int, reason: str, delay: float) -> None:
            if self.ctx.on_retry is not None:
                self.ctx.on_retry(self.export, attempt, self.redact(reason), delay)

        try:
            result = write_sheet(self.rendered, chunks, on_retry=retried)
        except SheetsFailed as exc:
            raise ExportFailed(self.redact(str(exc)), exc.rows, exc.batches) from None
        notes = [f"{result.retries} retr{'ies' if result.retries != 1 else 'y'}"] if result.retries else []
        return Written(result.rows, result.batches, notes + result.notes)
