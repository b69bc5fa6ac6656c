"""project_template stays a clean source tree: a build of it in place (the old README command) never
reaches a new project (`pds init`) or the wheel, and it passes its own `pds format --check` (that the
README's main command does not write into it: test_smoke.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_pds

BUILD_OUTPUT = ("target", "logs", "exports", "*.duckdb*", "*.pds-lock", "__pycache__")


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def built_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A copy of the source tree whose project_template was then built where it stands; with the
    template's source files (as they were before the build)."""
    checkout = tmp_path_factory.mktemp("checkout")
    for name in ("pds_core", "adapters", "pds", "project_template"):  # adapters/pds_adapters: import pds_adapters
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns(*BUILD_OUTPUT))
    for name in ("pyproject.toml", "README.md", ".gitignore"):
        shutil.copy2(ROOT / name, checkout / name)
    sources = files_under(checkout / "project_template")
    built = checkout_pds(checkout, "build", "--project-dir", "project_template")
    assert built.returncode == 0, built.stdout + built.stderr
    left = files_under(checkout / "project_template") - sources
    assert any(f.startswith("exports/") for f in left) and "pds.duckdb" in left and \
        any(f.startswith("target/") for f in left), left
    return checkout, sources


def checkout_pds(checkout: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`pds ARGS` running the code of the copied checkout (its pds_core finds its project_template)."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join([str(checkout), str(checkout / "adapters")])}
    return subprocess.run([sys.executable, "-m", "pds_core.cli", *args], cwd=cwd or checkout, env=env,
                          capture_output=True, text=True, timeout=300)


def test_init_from_a_built_template_copies_only_its_source_files(built_checkout, tmp_path):
    checkout, sources = built_checkout
    created = checkout_pds(checkout, "init", "fresh", cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    assert files_under(tmp_path / "fresh") == sources
    assert "name: fresh" in (tmp_path / "fresh" / "pds_project.yml").read_text()


@pytest.mark.slow
def test_the_wheel_ships_no_build_output(built_checkout, tmp_path):
    checkout, sources = built_checkout
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(checkout), "--no-deps", "-q", "-w",
                            str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("pds-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    prefix = "pds_core/project_template/"
    assert {n.removeprefix(prefix) for n in names if n.startswith(prefix)} == sources
    assert "pds_core/docs_site/static/index.html" in names and "pds_adapters/duckdb/adapter.py" in names
    assert not [n for n in names if ".duckdb" in n or "/target/" in n or "__pycache__" in n]


def test_the_template_passes_its_own_format_check(template_project):
    checked = run_pds("format", "--check", "--project-dir", str(template_project))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "0 files would be reformatted, 4 unchanged\n"
