"""xlsx exports through the real CLI: two models as the sheets of one workbook, read back with openpyxl and
compared with the models' rows in the warehouse, type by type; a failing check leaves the old workbook;
mistakes in the YAML are project errors with file and line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import run_pds
from tests.publish_kit import scores_project
from tests.quality_projects import query

TYPED_SQL = """
    select * from (values
        (1, 0.25, 'low', date '2025-01-31', timestamp '2025-01-31 06:30:00', true, null),
        (2, 0.75, '=HYPERLINK("http://x")', date '2024-02-29', timestamp '2024-02-29 23:59:59', false, 'x'),
        (3, null, 'high', null, null, null, 'y')
    ) as t(id, score, band, scored_on, scored_at, active, note)
"""
EXPORTS = """
            - name: scores_xlsx
              file: {path: "exports/churn_{target}.xlsx", sheet: Scores}
"""
TYPED_YML = """
    models:
      - name: typed
        columns:
          - name: id
            data_tests: [unique]
        exports:
          - name: typed_xlsx
            file: {path: "exports/churn_{target}.xlsx", sheet: Typed}
"""


def _project(root: Path) -> Path:
    return scores_project(root, EXPORTS, extra={"models/typed.sql": TYPED_SQL, "models/typed.yml": TYPED_YML})


def _cells(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def _as_excel(value):
    """A warehouse value as Excel gives it back: dates as midnight datetimes, NULL as an empty cell."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return value


def test_two_models_as_sheets_of_one_workbook_equal_to_the_models(tmp_path):
    root = _project(tmp_path / "shop")
    built = run_pds("build", "--project-dir", str(root))
    assert built.returncode == 0, built.stdout + built.stderr
    line = [x for x in built.stdout.splitlines() if "churn_dev.xlsx" in x]
    assert len(line) == 1 and "scores_xlsx as 'Scores', typed_xlsx as 'Typed'" in line[0], built.stdout
    book = load_workbook(root / "exports" / "churn_dev.xlsx")
    assert book.sheetnames == ["Scores", "Typed"]

    typed = book["Typed"]
    columns = [r[0] for r in query(root, "select column_name from information_schema.columns "
                                         "where table_name = 'typed' order by ordinal_position")]
    rows = query(root, "select * from main.typed order by id")
    assert _cells(typed) == [columns, *[[_as_excel(v) for v in r] for r in rows]]
    assert typed["A2"].data_type == "n" and typed["B2"].data_type == "n" and typed["F2"].data_type == "b"
    assert typed["C3"].data_type == "s" and typed["C3"].value.startswith("=HYPERLINK")  # text, never a formula
    assert typed["D2"].is_date and typed["D2"].number_format == "yyyy-mm-dd"
    assert typed["E2"].is_date and typed["E2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert typed.freeze_panes == "A2" and all(c.font.bold for c in typed[1])
    assert all(8 <= typed.column_dimensions[c].width <= 60 for c in "ABCDEFG")

    scores = book["Scores"]
    expected = query(root, "select * from main.customer_scores order by customer_id")
    assert _cells(scores)[0] == ["customer_id", "score"]
    assert sorted(tuple(r) for r in _cells(scores)[1:]) == [tuple(r) for r in expected]

    recorded = query(root, "select name, model, status, rows, destination_type, destination "
                           "from pds_results.pds_export_results order by name")
    assert recorded == [("scores_xlsx", "customer_scores", "success", 3, "file", "exports/churn_dev.xlsx"),
                        ("typed_xlsx", "typed", "success", 3, "file", "exports/churn_dev.xlsx")]
    run = json.loads((root / "target" / "run_results.json").read_text())
    workbook = [r for r in run["results"] if r["resource_type"] == "export"]
    assert [r["unique_id"] for r in workbook] == ["export.shop.scores_xlsx"]  # one node writes the workbook


def test_a_failing_check_of_one_sheet_leaves_the_whole_old_workbook(tmp_path):
    root = _project(tmp_path / "shop")
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    path = root / "exports" / "churn_dev.xlsx"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # an order without an id fails not_null on stg_orders, upstream of customer_scores (the Scores sheet)
    failed = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}")
    assert failed.returncode == 1
    assert "SKIP  export scores_xlsx: skipped: test not_null_stg_orders_order_id failed (error)" in failed.stdout
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not list(path.parent.glob(".*pds-tmp*"))
    assert query(root, "select name, status from pds_results.pds_export_results where status = 'skipped' "
                       "order by name") == [("scores_xlsx", "skipped"), ("typed_xlsx", "skipped")]


@pytest.mark.parametrize(("exports", "message", "line"), [
    ("""
            - name: scores_xlsx
              file: {path: exports/a.csv, sheet: Scores}""", "sheet: applies to xlsx files", 16),
    ("""
            - name: scores_xlsx
              file: {path: exports/a.xlsx, sheet: "Scores: all"}""", "may not contain", 16),
    ("""
            - name: scores_xlsx
              file: {path: exports/a.xlsx}
            - name: again_xlsx
              file: {path: exports/a.xlsx}""", "both write sheet 'customer_scores' of exports/a.xlsx", 17),
])
def test_mistakes_are_project_errors_with_file_and_line(tmp_path, exports, message, line):
    root = scores_project(tmp_path / "shop", exports)
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and f"models/schema.yml:{line}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (root / "shop.duckdb").exists()
