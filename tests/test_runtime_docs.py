"""docs/snapshots.md's example runs as written: its captioned files make a project whose two builds (the
second after the change the page describes) leave the snapshot tables the page says."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.projects import pds, query, write_project

DOC = ROOT / "docs" / "snapshots.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)


@pytest.mark.slow
def test_snapshot_doc_example_records_the_change(tmp_path):
    files = dict(CAPTIONED.findall(DOC.read_text(encoding="utf-8")))
    assert set(files) == {"snapshots/customers_history.sql", "snapshots/snapshots.yml", "seeds/customers.csv",
                          "pds_project.yml"}
    project = write_project(tmp_path / "shop", files)
    first = pds(project, "build").stdout
    assert "created snapshot main.customers_history" in first, first
    (project / "seeds/customers.csv").write_text(  # alice changes, bob is deleted
        "id,name,status,updated_at\n1,alice,inactive,2024-02-01 09:00:00\n")
    second = pds(project, "build").stdout
    assert "snapshotted main.customers_history (1 new, 1 closed)" in second, second
    history = query(project, "select id, status, cast(dbt_valid_from as varchar), cast(dbt_valid_to as varchar) "
                             "from customers_history order by id, dbt_valid_from")
    assert history == [(1, "active", "2024-01-01 10:00:00", "2024-02-01 09:00:00"),
                       (1, "inactive", "2024-02-01 09:00:00", None),
                       (2, "active", "2024-01-01 10:00:00", None)]  # timestamp strategy: deletes ignored
    status = query(project, "select id, status, dbt_valid_to is null from customer_status_history "
                            "order by id, dbt_valid_from")
    assert status == [(1, "active", False), (1, "inactive", True), (2, "active", False)]  # invalidated
