"""docs/compile.md, run as written: each captioned file is (re)written, each console block is run in order
and must print its lines (each one within an output line, in order)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_pds

DOC = ROOT / "docs" / "compile.md"
STEP = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```|^```console\n(.*?)^```", re.M | re.S)


def commands(block: str) -> list[tuple[str, list[str]]]:
    """('$ command', expected output lines) pairs of one console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def run(command: str, cwd) -> str:
    args = shlex.split(command)
    if args[0] == "pds":
        result = run_pds(*args[1:], cwd=cwd)
        return result.stdout + result.stderr
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_compile_doc_runs_as_written(tmp_path):
    project = tmp_path / "shop"
    project.mkdir()
    ran = 0
    for path, body, console in STEP.findall(DOC.read_text(encoding="utf-8")):
        if path:
            (project / path).parent.mkdir(parents=True, exist_ok=True)
            (project / path).write_text(body, encoding="utf-8")
            continue
        for command, expected in commands(console):
            output = run(command, project).splitlines()
            at = 0
            for want in expected:
                while at < len(output) and want not in output[at]:
                    at += 1
                assert at < len(output), f"`{command}` did not print {want!r}; it printed:\n" + "\n".join(output)
                at += 1
            ran += 1
    assert ran >= 8 and sys.platform != "win32"
