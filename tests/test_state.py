"""Fingerprints, state:modified selection, --skip-unchanged and the parse cache, on real DuckDB projects."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_pds


def _ok(*args: str, project: Path, **kw) -> str:
    result = run_pds(*args, "--project-dir", str(project), **kw)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _results(project: Path) -> dict[str, dict]:
    data = json.loads((project / "target" / "run_results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def _edit(path: Path, old: str, new: str) -> None:
    """Change a model of the template; the text to change must be there (a no-op edit proves nothing)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def _names(project: Path, select: str, *extra: str, **kw) -> set[str]:
    out = _ok("ls", "-s", select, *extra, project=project, **kw)
    return set(out.split())


@pytest.mark.slow
def test_skip_unchanged_sends_no_model_sql(template_project):
    _ok("build", project=template_project)
    con = duckdb.connect(str(template_project / "pds.duckdb"), read_only=True)
    before = con.execute("select * from main.churn_scores order by customer_id").fetchall()
    con.close()
    _ok("build", "--skip-unchanged", project=template_project)
    results = _results(template_project)
    assert {r["status"] for r in results.values() if r["resource_type"] in ("model", "seed")} == {"unchanged"}
    # every node now counts its statements; the models and seeds sent none (the tests still query)
    assert all(r["extra"].get("statements", 0) == 0 for r in results.values()
               if r["resource_type"] in ("model", "seed"))
    con = duckdb.connect(str(template_project / "pds.duckdb"), read_only=True)
    assert con.execute("select * from main.churn_scores order by customer_id").fetchall() == before
    recorded = con.execute("select count(*) from pds.pds_results.pds_fingerprints").fetchone()[0]
    con.close()
    assert recorded == 7
    # a plain build still rebuilds everything selected
    _ok("build", project=template_project)
    assert {r["status"] for r in _results(template_project).values()} == {"success"}


@pytest.mark.slow
def test_skip_unchanged_rebuilds_changed_node_and_descendants(template_project):
    _ok("build", project=template_project)
    model = template_project / "models" / "staging" / "stg_customers.sql"
    _edit(model, "plan,", "plan, 'x' as marker,")
    _ok("build", "--skip-unchanged", project=template_project)
    status = {n: r["status"] for n, r in _results(template_project).items()}
    assert status["stg_customers"] == status["customer_orders"] == status["churn_scores"] == "success"
    assert status["stg_orders"] == status["orders"] == status["daily_revenue"] == "unchanged"


@pytest.mark.slow
def test_full_refresh_ignores_fingerprints(template_project):
    _ok("build", project=template_project)
    _ok("build", "--skip-unchanged", "--full-refresh", project=template_project)
    assert {r["status"] for r in _results(template_project).values()} == {"success"}


def test_state_modified_ignores_comments_and_layout(template_project):
    _ok("build", project=template_project)
    model = template_project / "models" / "staging" / "stg_orders.sql"
    model.write_text("-- a new comment\n" + model.read_text().replace("\n", "\n   \n") + "\n/* trailing */\n")
    assert _names(template_project, "state:modified") == set()
    _edit(model, "status <> 'cancelled'", "status <> 'x'")
    assert _names(template_project, "state:modified") == {"stg_orders"}
    assert _names(template_project, "state:modified+") == {"stg_orders", "customer_orders", "daily_revenue",
                                                           "churn_scores"}


@pytest.mark.slow
def test_state_modified_var_and_target_changes(template_project):
    _ok("build", project=template_project)
    # churn_scores reads churn_days through ctx.var(); nothing else uses it
    assert _names(template_project, "state:modified", env={}) == set()
    changed = _names(template_project, "state:modified", "--vars", "{churn_days: 30}")
    assert "churn_scores" in changed and "stg_orders" not in changed and "customer_orders" not in changed
    as_of = _names(template_project, "state:modified", "--vars", "{as_of_date: '2025-02-01'}")
    assert "customer_orders" in as_of and "stg_orders" not in as_of
    profiles = template_project / "profiles.yml"
    profiles.write_text(profiles.read_text().replace("      schema: main\n", "      schema: other\n", 1))
    assert "stg_orders" in _names(template_project, "state:modified")


def test_state_dir_option_and_missing_state(template_project, tmp_path):
    missing = run_pds("ls", "-s", "state:modified", "--state", str(tmp_path / "nowhere"),
                      "--project-dir", str(template_project))
    assert missing.returncode == 2 and "no manifest.json" in missing.stderr
    _ok("build", project=template_project)
    saved = template_project / "target" / "state"
    assert _names(template_project, "state:modified", "--state", str(saved)) == set()


@pytest.mark.slow
def test_failed_node_is_not_recorded_as_built(template_project):
    _ok("build", project=template_project)
    model = template_project / "models" / "marts" / "customer_orders.sql"
    good = model.read_text()
    _edit(model, "COALESCE(p.order_count, 0)", "CAST('x' AS INT)")
    assert run_pds("build", "--project-dir", str(template_project)).returncode == 1
    model.write_text(good)
    # the state still describes the last good build, so the restored model is not "modified" ...
    assert "customer_orders" not in _names(template_project, "state:modified")
    # ... but the warehouse record says customer_orders was not built from this definition last: rebuilt
    _ok("build", "--skip-unchanged", project=template_project)
    status = {n: r["status"] for n, r in _results(template_project).items()}
    assert status["customer_orders"] == "success" and status["stg_orders"] == "unchanged"


SOURCE_PROJECT = {
    "pds_project.yml": "name: fresh\nprofile: fresh\n",
    "models/sources.yml": (
        "version: 2\nsources:\n  - name: app\n    schema: raw\n    loaded_at_field: loaded_at\n"
        "    tables:\n      - name: events\n  - name: other\n    schema: raw\n    tables:\n      - name: events\n"
        "        identifier: events\n"),
    "models/daily.sql": "select count(*) as n from {{ source('app', 'events') }}\n",
    "models/nofresh.sql": "select count(*) as n from {{ source('other', 'events') }}\n",
}


@pytest.mark.slow
def test_skip_unchanged_respects_source_freshness(tmp_path):
    project = tmp_path / "fresh"
    for rel, text in SOURCE_PROJECT.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    db = project / "fresh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw; create table raw.events as select 1 as id, timestamp '2024-01-01' as loaded_at")
    con.close()
    _ok("build", project=project)
    _ok("build", "--skip-unchanged", project=project)
    status = {n: r["status"] for n, r in _results(project).items()}
    assert status == {"daily": "unchanged", "nofresh": "success"}  # no freshness field: cannot vouch
    con = duckdb.connect(str(db))
    con.execute("insert into raw.events values (2, timestamp '2024-01-02')")
    con.close()
    _ok("build", "--skip-unchanged", project=project)
    assert _results(project)["daily"]["status"] == "success"
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("select n from main.daily").fetchone()[0] == 2
    con.close()


def test_parse_cache_is_used_and_invalidated(template_project, monkeypatch):
    import pds_core
    from pds_core.render import Renderer

    calls: list[str] = []
    real = Renderer.render

    def counting(self, text, path, *a, **k):
        if path.startswith("models/"):  # the template's singular test in tests/ is cached the same way
            calls.append(path)
        return real(self, text, path, *a, **k)

    monkeypatch.setattr(Renderer, "render", counting)

    def compiled(vars=None, target=None):
        project = pds_core.load(template_project, target=target, vars=vars)
        return pds_core.compile(project)

    first = compiled()
    assert len(calls) == 4
    calls.clear()
    assert compiled() == first and calls == []  # warm: nothing rendered again
    model = template_project / "models" / "staging" / "stg_orders.sql"
    _edit(model, "status <> 'cancelled'", "status <> 'void'")
    after_edit = compiled()
    assert calls == ["models/staging/stg_orders.sql"]
    assert "'void'" in after_edit["model.pds_template.stg_orders"]
    calls.clear()
    with_var = compiled(vars={"as_of_date": "2030-01-01"})
    assert "2030-01-01" in with_var["model.pds_template.customer_orders"] and len(calls) == 4
    calls.clear()
    profiles = template_project / "profiles.yml"
    profiles.write_text(profiles.read_text().replace("    dev:\n", "    dev2:\n      type: duckdb\n      path: b.duckdb\n"
                                                     "      schema: second\n    dev:\n", 1))
    other = compiled(target="dev2")
    assert "second" in other["model.pds_template.stg_orders"] and len(calls) == 4
    calls.clear()
    # back to dev: target/ now holds dev2's cache; dev's comes back from the shared cache folder, not stale
    assert compiled() == after_edit and calls == []
    monkeypatch.setenv("PDS_CACHE_DIR", "off")
    compiled(target="dev2")
    calls.clear()
    assert compiled() == after_edit and len(calls) == 4  # without the folder: rendered again, keyed on target


@pytest.mark.parametrize("env_value", ["one", "two"])
def test_cache_tracks_env_vars(template_project, monkeypatch, env_value):
    import pds_core

    model = template_project / "models" / "staging" / "stg_customers.sql"
    _edit(model, "plan,", "'{{ env_var(\"PDS_TEST_TAG\", \"none\") }}' as tag, plan,")
    monkeypatch.setenv("PDS_TEST_TAG", "first")
    pds_core.compile(pds_core.load(template_project))
    monkeypatch.setenv("PDS_TEST_TAG", env_value)
    sql = pds_core.compile(pds_core.load(template_project))["model.pds_template.stg_customers"]
    assert f"'{env_value}' as tag" in sql
