"""Secrets: a password planted in profiles.yml through env_var() never appears in stdout or stderr (plain,
--debug, --log-format json), in error messages (a failing model, an unreachable server), in any file
pds writes (target/, logs), or in the pds_ results tables in the warehouse."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import engine_postgres as pg
from tests.conftest import run_pds
from tests.reliability_kit import Engine, make_engine, write_project

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(pg.unavailable() is not None, reason=str(pg.unavailable()))]
SECRET = f"Pl4nted-{uuid.uuid4().hex[:10]}-@:/%?#&= x"
FORMS = (SECRET, urllib.parse.quote(SECRET, safe=""), urllib.parse.quote_plus(SECRET), SECRET.split("-")[1])
ENV = {"PDS_TEST_SECRET": SECRET}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    for found in make_engine("postgres", tmp_path):
        found.settings["password"] = "{{ env_var('PDS_TEST_SECRET') }}"  # trust auth: any password works
        yield found


def assert_no_secret(text: str, where: str) -> None:
    for form in FORMS:
        assert form not in text, f"the secret ({form!r}) appears in {where}"


def project_with_everything(engine: Engine, folder: Path) -> Path:
    return write_project(folder, engine, {
        "seeds/people.csv": "id,name\n1,ann\n2,bob\n",
        "models/names.sql": "{{ config(materialized='table') }}\nselect id, name from {{ ref('people') }}\n",
        "models/broken.sql": "{{ config(materialized='table') }}\nselect cast('x' as integer) as id\n",
        "models/scored.py": "def model(ctx):\n    ctx.config(materialized='table')\n    return ctx.ref('names')\n",
        "models/schema.yml": "models:\n  - name: names\n    columns:\n      - name: id\n"
                             "        data_tests: [not_null, unique]\n",
    })


@pytest.mark.slow
def test_a_planted_password_never_leaks(engine: Engine, tmp_path: Path) -> None:
    project = project_with_everything(engine, tmp_path / "p")
    runs = {
        "build": ("build",), "build --debug": ("--debug", "build"), "build json": ("--log-format", "json", "build"),
        "retry --debug": ("--debug", "retry"), "test": ("test",), "debug": ("debug",), "compile": ("compile",),
        "ls json": ("ls", "--output", "json"), "show": ("show", "names"), "show --debug": ("--debug", "show", "nope"),
        "docs generate": ("docs", "generate"),  # the static site, with run history, lands in target/docs
    }
    for label, args in runs.items():
        result = run_pds(*args, "--project-dir", str(project), env=ENV)
        assert "Traceback" not in result.stderr or label.endswith("--debug"), result.stderr
        assert_no_secret(result.stdout, f"stdout of pds {label}")
        assert_no_secret(result.stderr, f"stderr of pds {label}")
    build = run_pds("build", "--project-dir", str(project), env=ENV)
    assert build.returncode == 1 and "invalid input syntax for type integer" in build.stdout  # the failing model
    files = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name == "run_results.json" for p in files) and any(p.name == "manifest.json" for p in files)
    assert any("docs" in p.relative_to(project).parts for p in files), "the docs site was not generated"
    for path in files:
        data = path.read_bytes()
        for form in FORMS:
            assert form.encode() not in data, f"the secret appears in {path.relative_to(project)}"
    results_schemas = [r[0] for r in engine.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pds%'")]
    tables = engine.query("SELECT table_schema, table_name FROM information_schema.tables "
                          "WHERE table_schema = ANY(%s) AND table_name LIKE 'pds\\_%%'", [results_schemas])
    assert tables, "the results tables were not written"
    for schema, table in tables:
        for row in engine.query(f"SELECT * FROM {engine.qualified(table, schema)}"):
            assert_no_secret(repr(row), f"{schema}.{table}")


@pytest.mark.parametrize("host,port", [("127.0.0.1", 1), ("no-such-host.invalid", 5432)])
def test_an_unreachable_server_error_names_the_target_not_the_password(engine: Engine, tmp_path: Path, host: str,
                                                                       port: int) -> None:
    engine.settings.update(host=host, port=port, connect_timeout=3)
    project = project_with_everything(engine, tmp_path / "p")
    for debug in ((), ("--debug",)):
        result = run_pds(*debug, "build", "--project-dir", str(project), env=ENV)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "cannot connect to target 'ci'" in result.stderr and host in result.stderr
        assert_no_secret(result.stdout + result.stderr, f"the error of pds {' '.join(debug)} build")
        for path in (p for p in project.rglob("*") if p.is_file()):
            assert all(form.encode() not in path.read_bytes() for form in FORMS), path


def test_a_secret_env_var_is_redacted_wherever_it_is_used(engine: Engine, tmp_path: Path) -> None:
    """PDS_ENV_SECRET_* values are redacted even under a key that is not secret-looking (here the host)."""
    hidden = f"db-{uuid.uuid4().hex[:8]}.invalid"
    engine.settings.update(host="{{ env_var('PDS_ENV_SECRET_HOST') }}", connect_timeout=3)
    project = project_with_everything(engine, tmp_path / "p")
    result = run_pds("--debug", "build", "--project-dir", str(project), env={**ENV, "PDS_ENV_SECRET_HOST": hidden})
    assert result.returncode == 2 and "cannot connect to target 'ci'" in result.stderr, result.stderr
    assert hidden not in result.stdout + result.stderr and "****" in result.stderr
