"""Bad input: every project of the corpus (tests/broken_projects.py) gets a clear error from the real
CLI: exit code 2 (1 for a model that fails at run time), the file and line it is about, a hint, and
never a traceback. The projects run in parallel subprocesses, once per session."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.broken_projects import BASE, CASES, Case
from tests.conftest import run_pds

# every case runs in one module-scoped fixture (in parallel): together they take a while
pytestmark = pytest.mark.slow


def materialize(case: Case, folder: Path) -> Path:
    files: dict[str, str | bytes | None] = {**BASE, **case.files}
    for rel, content in files.items():
        if content is None:
            continue
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CompletedProcess]:
    root = tmp_path_factory.mktemp("broken")

    def run(case: Case) -> tuple[str, CompletedProcess]:
        folder = root / case.name
        folder.mkdir()
        materialize(case, folder)
        return case.name, run_pds(*case.args, cwd=folder, env=case.extra, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, CASES))


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_project_gets_a_clear_error(case: Case, outcomes: dict[str, CompletedProcess]) -> None:
    result = outcomes[case.name]
    out = result.stdout + result.stderr
    assert result.returncode == case.code, out
    assert "Traceback" not in out and "Error: unexpected " not in out, out
    if case.code == 2:
        assert result.stderr.startswith("Error: "), out
        message = result.stderr.removeprefix("Error: ")
    else:  # a node failed at run time: its message is in the summary
        message = out
    if case.where is not None:
        assert re.search(re.escape(case.where) + r"(\D|$)", message), message
    for words in case.says:
        assert words in message, message
    if case.hint:
        assert "hint: " in message, message
