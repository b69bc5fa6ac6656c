"""Shared fixtures: run the real `pds` CLI on real projects in temporary folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "project_template"


def run_pds(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `pds ARGS` as a subprocess, like a user would, and return the finished process."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pds_core.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server a test started: SIGTERM, then SIGKILL if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def template_project(tmp_path: Path) -> Path:
    """A fresh copy of project_template in a temporary folder."""
    dest = tmp_path / "proj"
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    return dest
