"""The README's main job, exactly as the README writes it (after the install): `pds init demo` and a
build of it on DuckDB; what it produced is checked, and project_template itself is left untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import ROOT, TEMPLATE

INSTALL = "pip install -e . && "


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def readme_main_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.split("Install and run the main job", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    assert command.startswith(INSTALL), command
    return command.removeprefix(INSTALL)


def test_readme_main_job_builds_the_example_and_leaves_the_template_untouched(tmp_path):
    before = files_under(TEMPLATE)
    env = {**os.environ, "NO_COLOR": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(["bash", "-c", readme_main_command()], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Completed successfully" in result.stdout
    assert files_under(TEMPLATE) == before  # nothing written into the template
    (db,) = tmp_path.glob("*/pds.duckdb")
    assert list(db.parent.glob("exports/churn_scores_*.csv"))
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select count(*) from main.customers").fetchone()[0] == 60
        n, lo, hi = con.execute("select count(*), min(churn_probability), max(churn_probability) "
                                "from main.churn_scores").fetchone()
        assert n == 60 and 0 <= lo <= hi <= 1
        completed = con.execute("select sum(amount_cents) / 100.0 from main.orders where status = 'completed'").fetchone()[0]
        revenue = con.execute("select sum(revenue) from main.daily_revenue").fetchone()[0]
        assert abs(completed - revenue) < 0.01
    finally:
        con.close()
