"""The project reference's example project builds, as written in docs/project-reference.md.

Every code block captioned with a file path (a line `**`path`**` just before it) is written to a
folder; the doc's own Python snippet creates the source table; then the real CLI builds it and
the doc's selection examples run against it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.projects import invoke, pds, query, relations, write_project

DOC = ROOT / "docs" / "project-reference.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)
BLOCKS = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def doc_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for path, body in CAPTIONED.findall(DOC.read_text(encoding="utf-8")):
        assert path not in files, f"{path} is shown twice in the project reference"
        files[path] = body
    return files


@pytest.mark.slow
def test_reference_example_project_builds(tmp_path):
    files = doc_files()
    assert {"pds_project.yml", "profiles.yml", "models/ml/vip_scores.py", "seeds/orders.csv"} <= set(files)
    project = write_project(tmp_path / "shop", files)
    blocks = BLOCKS.findall(DOC.read_text(encoding="utf-8"))
    setup = [body for lang, body in blocks if lang == "python" and 'duckdb.connect("shop.duckdb")' in body]
    assert len(setup) == 1
    subprocess.run([sys.executable, "-c", setup[0]], cwd=project, check=True)

    result = pds(project, "build", env={"SHOP_DEFAULT_COUNTRY": "BE"})
    assert "Completed successfully" in result.stdout
    kinds = relations(project)
    assert kinds["stg_orders"] == "VIEW" and kinds["customer_value"] == "BASE TABLE"
    assert "paid_orders" not in kinds  # ephemeral
    assert query(project, "select customer_id, country from stg_customers order by 1") == [
        (1, "NL"), (2, "BE"), (3, "DE"), (4, "US")]
    # start_date filters out the 2023 order; amounts are dollars via the macro
    assert query(project, "select count(*), sum(amount) from stg_orders") == [(4, 199.5)]
    assert query(project, "select customer_id, paid_orders, lifetime_value from customer_value order by 1") == [
        (1, 1, 120.0), (2, 1, 9.0), (3, 0, 0), (4, 0, 0)]
    assert dict(query(project, "select column_name, data_type from information_schema.columns "
                               "where table_name = 'orders'"))["status"] == "VARCHAR"
    assert query(project, "select count(*) from vip_scores where vip_score between 0 and 1") == [(4,)]
    assert query(project, "select count(*) from events_log") == [(3,)]
    # the hooks: each marts model logged its rows (big_orders' own pre-hook first cleared its older line)
    logged = dict(query(project, "select model, rows_loaded from build_log where model <> 'run'"))
    assert logged == {name: query(project, f"select count(*) from {name}")[0][0] for name in (
        "customer_value", "orders_daily", "events_log", "order_status", "events_wide", "big_orders")}
    assert query(project, "select count(*) from build_log where model = 'run' and rows_loaded > 10") == [(1,)]
    pds(project, "build", "-s", "config.materialized:incremental")  # the incremental path runs too
    assert query(project, "select count(*) from orders_daily") == [(4,)]

    # the selection examples
    examples = [line for lang, body in blocks if lang == "bash" for line in body.splitlines()
                if line.startswith("pds ") and "-s" in line]
    assert len(examples) >= 4
    for line in examples:
        code, text = invoke(project, *shlex.split(line.split("#")[0])[1:])
        assert code == 0, f"{line}\n{text}"
