"""profiles.yml found where dbt finds it (--profiles-dir, DBT_PROFILES_DIR / PDS_PROFILES_DIR, the project
folder, the working directory, ~/.dbt/), read with dbt-duckdb's keys (those pds does not act on named in a
warning), env_var() rendered, a relative DuckDB path opened from the working directory as dbt-duckdb opens it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbt_kit import pds, rows, warnings_of, write

PROJECT = {
    "dbt_project.yml": "name: where\nprofile: where\n",
    "models/one.sql": "select 1 as n\n",
}


def profile(path: str, extra: str = "") -> str:
    return f"where:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {path}\n{extra}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home folder, so that the user's own ~/.dbt/profiles.yml is never read."""
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.mark.parametrize("place", ["--profiles-dir", "DBT_PROFILES_DIR", "PDS_PROFILES_DIR", "project", "cwd",
                                   "~/.dbt"])
def test_profiles_are_found_where_dbt_finds_them(tmp_path: Path, home: Path, place: str) -> None:
    project = write(tmp_path / "project", PROJECT)
    folder = {"--profiles-dir": tmp_path / "elsewhere", "DBT_PROFILES_DIR": tmp_path / "env",
              "PDS_PROFILES_DIR": tmp_path / "env", "project": project, "cwd": tmp_path / "work",
              "~/.dbt": home / ".dbt"}[place]
    db = tmp_path / f"{place.strip('-~/.').lower()}.duckdb"
    write(folder, {"profiles.yml": profile(str(db))})
    (tmp_path / "work").mkdir(exist_ok=True)
    env = {"HOME": str(home), "DBT_PROFILES_DIR": "", "PDS_PROFILES_DIR": ""}
    args = ["run", "--project-dir", str(project)]
    if place == "--profiles-dir":
        args += ["--profiles-dir", str(folder)]
    elif place.endswith("_PROFILES_DIR"):
        env[place] = str(folder)
    pds(project, *args, env=env, cwd=tmp_path / "work")
    assert rows(db, "select n from one") == [(1,)]


def test_an_explicit_profiles_dir_without_the_file_is_an_error(tmp_path: Path, home: Path) -> None:
    project = write(tmp_path / "project", {**PROJECT, "profiles.yml": profile("x.duckdb")})
    result = pds(project, "run", env={"HOME": str(home), "DBT_PROFILES_DIR": str(tmp_path / "nowhere")}, expect=2)
    assert f"no profiles.yml in {tmp_path / 'nowhere'}" in result.stderr


def test_dbt_duckdb_keys_env_var_and_the_path_relative_to_the_working_directory(tmp_path: Path, home: Path) -> None:
    project = write(tmp_path / "project", {**PROJECT, "profiles.yml": """
        config:
          send_anonymous_usage_stats: false
        where:
          target: "{{ env_var('WHERE_TARGET', 'dev') }}"
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('WHERE_DB') }}"
              schema: main
              threads: "{{ env_var('WHERE_THREADS', '2') }}"
              extensions: [json]
              settings: {memory_limit: 1GB}
              keep_open: true
              external_root: exports
              plugins: []
              module_paths: []
            other:
              type: duckdb
              path: relative.duckdb
        """})
    (tmp_path / "work").mkdir()
    env = {"HOME": str(home), "WHERE_DB": str(tmp_path / "env.duckdb")}
    result = pds(project, "run", "--project-dir", str(project), env=env, cwd=tmp_path / "work")
    assert rows(tmp_path / "env.duckdb", "select n from one") == [(1,)]
    warned = "\n".join(warnings_of(result))
    assert "'external_root' in target" not in warned  # the external materialization writes under it
    for key in ("keep_open", "plugins", "module_paths"):
        assert f"'{key}' in target 'dev' is accepted but not acted on" in warned, warned
    # dbt-duckdb opens a relative path from where dbt runs, not from the project
    pds(project, "run", "--project-dir", str(project), env={**env, "WHERE_TARGET": "other"}, cwd=tmp_path / "work")
    assert rows(tmp_path / "work" / "relative.duckdb", "select n from one") == [(1,)]
    assert not (project / "relative.duckdb").exists()


def test_unknown_target_keys_and_motherduck_are_errors_naming_the_line(tmp_path: Path, home: Path) -> None:
    project = write(tmp_path / "project", {**PROJECT, "profiles.yml": profile("x.duckdb", "      pathh: y\n")})
    result = pds(project, "run", env={"HOME": str(home)}, expect=2)
    assert "profiles.yml:7: unknown key 'pathh' in target 'dev' (duckdb)" in result.stderr, result.stderr
    write(project, {"profiles.yml": profile("md:my_db")})
    result = pds(project, "run", env={"HOME": str(home)}, expect=2)
    assert "profiles.yml:6: target 'dev': MotherDuck paths (md:my_db) are not supported by pds" in result.stderr


DBT_PROFILES = {  # targets as the dbt adapters' docs write them, every documented key
    "postgres": """
        type: postgres
        host: 127.0.0.1
        user: alice
        pass: secret
        port: 5432
        dbname: analytics
        schema: dbt_alice
        threads: 4
        keepalives_idle: 0
        connect_timeout: 10
        retries: 1
        search_path: public
        role: transformer
        sslmode: prefer
        sslcert: /tmp/cert
        sslkey: /tmp/key
        sslrootcert: /tmp/root
        application_name: dbt
        """,
    "snowflake": """
        type: snowflake
        account: xy12345.eu-west-1
        user: alice
        password: secret
        role: transformer
        database: analytics
        warehouse: transforming
        schema: dbt_alice
        threads: 8
        client_session_keep_alive: false
        query_tag: dbt
        connect_retries: 0
        connect_timeout: 10
        retry_on_database_errors: false
        retry_all: false
        reuse_connections: true
        """,
    "bigquery": """
        type: bigquery
        method: oauth
        project: my-project
        dataset: dbt_alice
        threads: 4
        location: EU
        priority: interactive
        job_execution_timeout_seconds: 300
        job_retries: 1
        maximum_bytes_billed: 1000000000
        execution_project: billing-project
        impersonate_service_account: dbt@my-project.iam.gserviceaccount.com
        """,
}


@pytest.mark.parametrize("engine", sorted(DBT_PROFILES))
def test_dbt_adapter_profiles_load_with_their_keys_and_name_those_not_acted_on(tmp_path: Path, engine: str) -> None:
    import textwrap
    import warnings

    from pds_core.profiles import load_target

    body = textwrap.indent(textwrap.dedent(DBT_PROFILES[engine]).strip(), " " * 6)
    write(tmp_path, {"profiles.yml": f"where:\n  target: prod\n  outputs:\n    prod:\n{body}\n"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target = load_target(tmp_path, "where", None, tmp_path, {})
    assert target.type == engine and target.name == "prod"
    named = " ".join(str(w.message) for w in caught)
    expected = {"postgres": ["role", "retries"], "snowflake": ["connect_retries", "reuse_connections"],
                "bigquery": ["execution_project", "job_retries"]}[engine]
    for key in expected:
        assert f"'{key}' in target 'prod' is accepted but not acted on" in named, named
    assert "secret" not in named
