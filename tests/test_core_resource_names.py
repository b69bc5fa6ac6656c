"""A model, seed or singular test whose file name has a space is refused when the project loads, as
dbt-core 1.11 refuses it ("Resource names cannot contain spaces"): such a name could not be selected."""

from __future__ import annotations

from tests.projects import pds, write_project

EXPECTED = (
    "Error: models/my model.sql: resource names cannot contain spaces: model 'my model'\n"
    "  hint: rename the file to models/my_model.sql\n"
    "seeds/my seed.csv: resource names cannot contain spaces: seed 'my seed'\n"
    "  hint: rename the file to seeds/my_seed.csv\n"
    "tests/my check.sql: resource names cannot contain spaces: test 'my check'\n"
    "  hint: rename the file to tests/my_check.sql\n"
    "3 errors found\n"
)


def test_names_with_spaces_are_refused_before_anything_runs(tmp_path):
    project = write_project(tmp_path / "p", {
        "models/my model.sql": "select 1 as x",
        "models/ok.sql": "select x from {{ ref('my model') }}",
        "seeds/my seed.csv": "a\n1\n",
        "tests/my check.sql": "select * from {{ ref('ok') }} where x is null",
        "tests/checks with spaces.py": "",  # a Python check file is not a resource name: fine
    })
    for args in (["build"], ["ls", "-s", "my model"], ["build", "-s", "my model"]):
        result = pds(project, *args, expect=2)
        assert result.stderr == EXPECTED and result.stdout == ""
    assert not list(project.glob("*.duckdb"))  # nothing was built
    (project / "models/my model.sql").rename(project / "models/my_model.sql")
    (project / "models/ok.sql").write_text("select x from {{ ref('my_model') }}")
    (project / "seeds/my seed.csv").unlink()
    (project / "tests/my check.sql").unlink()
    assert pds(project, "ls", "-s", "my_model+").stdout.split() == ["my_model", "ok"]
