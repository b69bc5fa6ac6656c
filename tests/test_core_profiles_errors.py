"""Every profiles.yml error names the file and the line; an unknown key's hint lists the keys the
target takes, `threads` included."""

from __future__ import annotations

import pytest

from tests.projects import invoke, write_project

CASES = {
    "unknown key": ("      type: duckdb\n      path: x.duckdb\n      thread: 4\n",
                    "Error: profiles.yml:6: unknown key 'thread' in target 'dev' (duckdb)\n"
                    "  hint: did you mean 'threads'? duckdb targets take: type, threads, path, schema, database, "
                    "extensions, settings, read_only, config_options, external_root (and dbt-duckdb's other keys)\n"),
    "unknown key, nothing close": ("      type: duckdb\n      colour: blue\n",
                                   "Error: profiles.yml:5: unknown key 'colour' in target 'dev' (duckdb)\n"
                                   "  hint: duckdb targets take: type, threads, path, schema, database, extensions, "
                                   "settings, read_only, config_options, external_root (and dbt-duckdb's other keys)\n"),
    "unknown type": ("      type: duckdbb\n",
                     "Error: profiles.yml:4: no adapter for target type 'duckdbb'\n  hint: did you mean 'duckdb'?\n"),
    "missing required key": ("      type: postgres\n      host: h\n      schema: s\n      dbname: d\n",
                             "Error: profiles.yml:3: target 'dev' (postgres) is missing user\n"
                             "  hint: postgres targets need: host, user, schema (see docs/adapters.md)\n"),
    "adapter's own check": ("      type: postgres\n      host: h\n      user: u\n      schema: s\n",
                            "Error: profiles.yml:3: target 'dev' (postgres) is missing dbname\n"
                            "  hint: add `dbname: <database>` to the target (see docs/adapters/postgres.md)\n"),
    "adapter's check of a key": ("      type: bigquery\n      project: p\n      dataset: d\n      method: bad\n",
                                 "Error: profiles.yml:7: target 'dev' (bigquery) has unknown method 'bad'\n"
                                 "  hint: use one of oauth, service-account, service-account-json, anonymous\n"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_profiles_errors_name_file_and_line(tmp_path, case):
    target, expected = CASES[case]
    project = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x",
                                             "profiles.yml": "proj:\n  outputs:\n    dev:\n" + target})
    assert invoke(project, "ls") == (2, expected)


def test_every_accepted_key_and_threads_load(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/a.sql": "select 1 as x",
        "profiles.yml": "proj:\n  outputs:\n    dev:\n      type: duckdb\n      path: x.duckdb\n      schema: s\n"
                        "      threads: 2\n      settings: {threads: 1}\n      extensions: []\n      read_only: false\n"})
    assert invoke(project, "ls") == (0, "a\n")
