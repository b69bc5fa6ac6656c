"""Config keys pds accepts but does not act on yet warn (key, file:line) and change no fingerprint;
require-pds-version is enforced."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest

from tests.projects import invoke, pds, query, relations, write_project

PROJECT = """\
name: proj
models:
  marts:
    +tags: [daily]
sources:
  +enabled: true
"""
HOOKED = """\
{{ config(materialized='incremental', unique_key='id') }}
select 1 as id
"""
SCHEMA = """\
models:
  - name: hooked
    columns:
      - name: id
exposures:
  - name: dashboard
"""
PY_MODEL = "def model(ctx):\n    ctx.config(packages=['numpy'])\n    return ctx.ref('hooked')\n"
EXPECTED = [
    "Warning: models/marts/py.py:2: 'packages' in config of model 'py' is accepted but not acted on yet: "
    "the Python model runs with the packages installed where pds runs",
]


@pytest.mark.slow
def test_keys_not_acted_on_warn_once_each_with_file_and_line(tmp_path):
    project = write_project(tmp_path / "p", {"pds_project.yml": PROJECT, "models/marts/hooked.sql": HOOKED,
                                             "models/marts/py.py": PY_MODEL, "models/schema.yml": SCHEMA})
    for _build in range(2):  # the second build has an incremental table (parsed again to decide)
        stderr = pds(project, "build").stderr
        warnings = [line for line in stderr.splitlines() if line.startswith("Warning:")]
        assert sorted(warnings) == sorted(EXPECTED), stderr
        assert stderr.count("hint: remove it to silence this warning") == len(EXPECTED)
    # nothing was acted on: the models were built as without that key
    assert relations(project) == {"hooked": "BASE TABLE", "py": "BASE TABLE"}
    assert query(project, "select id from hooked") == [(1,)]
    listed = pds(project, "--log-format", "json", "ls").stdout.splitlines()  # events, then the names
    warned = [json.loads(line) for line in listed if line.startswith("{")]
    assert [line for line in listed if not line.startswith("{")] == ["hooked", "py"]
    assert {e["event"] for e in warned} == {"warning"}
    assert len(warned) == len(EXPECTED)
    assert {(e["path"], e["line"]) for e in warned} == {("models/marts/py.py", 2)}


@pytest.mark.slow
def test_keys_not_acted_on_change_no_fingerprint(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/a.sql": "{{ config(materialized='table') }}\nselect 1 as x",
        "models/b.sql": "select x from {{ ref('a') }}",
    })
    pds(project, "build")
    (project / "models/a.sql").write_text(
        "{{ config(materialized='table', packages=['numpy']) }}\nselect 1 as x")
    (project / "models/schema.yml").write_text("models:\n  - name: b\n    config:\n      packages: [numpy]\n")
    listed = pds(project, "ls", "-s", "state:modified")
    assert listed.stdout == "" and "'packages' in config of model 'a'" in listed.stderr
    rebuilt = pds(project, "build", "--skip-unchanged").stdout
    assert "Completed successfully" in rebuilt and "2 unchanged" in rebuilt, rebuilt
    # a key pds does act on still counts
    (project / "models/a.sql").write_text("{{ config(materialized='view') }}\nselect 1 as x")
    assert pds(project, "ls", "-s", "state:modified").stdout.split() == ["a"]


def test_require_pds_version_is_enforced(tmp_path):
    installed = version("pds")  # what `pds --version` says
    project = write_project(tmp_path / "p", {"models/a.sql": "select 1 as x"})

    def ls_with(spec: str) -> tuple[int, str]:
        (project / "pds_project.yml").write_text(f"name: proj\n# pinned\nrequire-pds-version: {spec}\n")
        return invoke(project, "ls")

    assert ls_with(f'">={installed}"') == (0, "a\n")
    assert ls_with('[">=0.0.1", "<=99"]') == (0, "a\n")
    assert ls_with(installed) == (0, "a\n")  # a bare version: exactly that one
    code, text = ls_with('">=99.0,<100"')
    assert code == 2
    assert text == (f"Error: pds_project.yml:3: this project requires pds >=99.0,<100, but pds {installed} is "
                    f"installed\n  hint: install a pds in that range (pip install 'pds>=99.0,<100'), or change "
                    f"require-pds-version in pds_project.yml\n")
    code, text = ls_with('[">=0.0.1", "<0.0.2"]')
    assert code == 2 and f"requires pds >=0.0.1,<0.0.2, but pds {installed} is installed" in text
    code, text = ls_with('"soon"')
    assert code == 2 and "pds_project.yml:3: require-pds-version 'soon' is not a version range" in text
