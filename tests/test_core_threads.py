"""Execution: --threads N builds a wide DAG to the same data; a failure skips only its descendants."""

from __future__ import annotations

import shutil

import pytest

from tests.projects import artifact, output, pds, query, relations, write_project

WIDTH = 10


def wide_project(root):
    files = {"seeds/base.csv": "k,v\n" + "".join(f"{i},{i * i}\n" for i in range(1, 21))}
    for i in range(WIDTH):
        files[f"models/m{i}.sql"] = (f"{{{{ config(materialized='table') }}}}\n"
                                     f"select k, v * {i} + k as x from {{{{ ref('base') }}}} where k % {i + 2} = 0")
    union = " union all ".join(f"select '{i}' as src, sum(x) as total from {{{{ ref('m{i}') }}}}"
                               for i in range(WIDTH))
    files["models/all_m.sql"] = "{{ config(materialized='table') }}\n" + union
    files["models/py_sum.py"] = """
        def model(ctx):
            df = ctx.ref("all_m")
            return df.assign(grand=df["total"].sum())
    """
    return write_project(root, files)


def snapshot(project) -> dict[str, list[tuple]]:
    return {name: query(project, f"select * from {name} order by all") for name in sorted(relations(project))}


@pytest.mark.slow
def test_threads_give_the_same_data(tmp_path):
    one = wide_project(tmp_path / "one")
    four = tmp_path / "four"
    shutil.copytree(one, four)
    pds(one, "build", "--threads", "1")
    result = pds(four, "build", "--threads", "4")
    assert f"Running build of {WIDTH + 3} nodes" in result.stdout
    assert f"{WIDTH + 3} ok" in result.stdout
    data = snapshot(four)
    assert data == snapshot(one)
    assert len(data) == WIDTH + 3
    assert data["m0"] == [(k, k) for k in range(2, 21, 2)]  # v * 0 + k for even k


def test_failure_skips_descendants_and_siblings_build(tmp_path):
    project = wide_project(tmp_path / "p")
    (project / "models/m3.sql").write_text(
        "{{ config(materialized='table') }}\nselect k, cast('x' || k as integer) as x from {{ ref('base') }}")
    result = pds(project, "build", "--threads", "4", expect=1)
    text = output(result)
    assert "ERROR table m3" in text and "Could not convert string 'x1'" in text
    assert "SKIP  all_m: skipped because m3 failed" in text
    assert "SKIP  py_sum: skipped because m3 failed" in text
    assert "Completed with errors" in text and f"{WIDTH - 1 + 1} ok, 1 error, 2 skipped" in text
    built = relations(project)
    assert set(built) == {"base"} | {f"m{i}" for i in range(WIDTH) if i != 3}
    statuses = {r["name"]: r["status"] for r in artifact(project, "run_results.json")["results"]}
    assert statuses["m3"] == "error" and statuses["all_m"] == statuses["py_sum"] == "skipped"
    assert sum(1 for s in statuses.values() if s == "success") == WIDTH
