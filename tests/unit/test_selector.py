"""Selection: dbt's node selectors, and which tests come with a selection (--indirect-selection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pds_core.errors import ProjectError
from pds_core.loader import load_project
from pds_core.plan import Options, plan
from pds_core.quality.planner import select_quality
from tests.projects import write_project

FILES = {
    "seeds/a.csv": "id\n1\n",
    "seeds/b.csv": "id\n1\n",
    "models/staging/sa.sql": "{{ config(tags=['daily']) }}\nselect id from {{ ref('a') }}",
    "models/staging/sb.sql": "select id from {{ ref('b') }}",
    "models/marts/joined.sql": "select sa.id from {{ ref('sa') }} sa join {{ ref('sb') }} sb using (id)",
    "models/schema.yml": """
        models:
          - name: sa
            columns:
              - name: id
                data_tests: [not_null, {relationships: {to: ref('sb'), field: id}}]
    """,
}


@pytest.fixture
def project(tmp_path: Path):  # noqa: ANN201
    return load_project(write_project(tmp_path / "p", FILES))


def names(project, *select: str, exclude: tuple[str, ...] = ()) -> set[str]:  # noqa: ANN001
    p = plan(project, Options(select=list(select), exclude=list(exclude), validate=False), None, "ls")
    return {p.manifest.all_nodes()[uid].name for uid in p.selected}


def test_selectors(project) -> None:
    assert names(project, "+joined") == {"a", "b", "sa", "sb", "joined"}
    assert names(project, "sa+") == {"sa", "joined"}
    assert names(project, "tag:daily") == {"sa"}
    assert names(project, "path:models/staging") == {"sa", "sb"}
    assert names(project, "+joined", exclude=("b",)) == {"a", "sa", "sb", "joined"}
    assert names(project, "type:seed") == {"a", "b"}
    with pytest.raises(ProjectError, match="no node matches 'sx'"):
        names(project, "sx")


@pytest.mark.parametrize(("select", "mode", "tests"), [
    (["sa"], "eager", {"not_null_sa_id", "relationships_sa_id__id__ref_sb_"}),
    (["sa"], "cautious", {"not_null_sa_id"}),
    (["sa", "sb"], "cautious", {"not_null_sa_id", "relationships_sa_id__id__ref_sb_"}),
    (["sa"], "buildable", {"not_null_sa_id"}),
    (["joined"], "buildable", {"not_null_sa_id", "relationships_sa_id__id__ref_sb_"}),
    (["joined"], "cautious", set()),
    (["sa"], "empty", set()),
    ([], "empty", {"not_null_sa_id", "relationships_sa_id__id__ref_sb_"}),  # no selection: every test
])
def test_indirect_selection(project, select: list[str], mode: str, tests: set[str]) -> None:
    p = plan(project, Options(select=select, indirect_selection=mode, validate=False), None, "build")
    assert {n.name for n in select_quality(p, ("test",)).values()} == tests


def test_an_unknown_mode_is_a_project_error() -> None:
    with pytest.raises(ProjectError, match="unknown indirect selection 'lazy'"):
        Options(indirect_selection="lazy")
