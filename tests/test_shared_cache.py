"""The user's shared cache folder (pds_core/shared_cache.py): a new checkout, or a branch switched back to,
compiles from what this machine computed before for the same inputs, and gives exactly what a compile
from nothing gives."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import jinja2
import pytest

import pds_core.validate
from pds_core import api, shared_cache
from pds_core.cache import SHARED_KIND
from tests.compile_project import write_project
from tests.conftest import run_pds
from tests.test_compile_warm import artifacts

FILES = {
    "seeds/orders.csv": "id,customer_id,amount_cents\n1,1,100\n2,2,250\n",
    "macros/money.sql": "{% macro to_dollars(col) %}{{ col }} / 100.0{% endmacro %}\n",
    "models/stg_orders.sql": "select id as order_id, customer_id, {{ to_dollars('amount_cents') }} as amount\n"
                             "from {{ ref('orders') }}\n",
    "models/by_customer.sql": "select customer_id, sum(amount) as total from {{ ref('stg_orders') }} group by 1\n",
    "models/report.sql": "select c.customer_id, c.total, o.order_id\nfrom {{ ref('by_customer') }} c\n"
                         "join {{ ref('stg_orders') }} o on o.customer_id = c.customer_id\n",
}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many queries validation qualifies, and how many macros Jinja compiles, in this process."""
    counts = {"qualify": 0, "jinja": 0}
    qualify, compile_ = pds_core.validate.qualify, jinja2.Environment.compile

    def counting_qualify(*args, **kwargs):
        counts["qualify"] += 1
        return qualify(*args, **kwargs)

    def counting_compile(self, *args, **kwargs):
        counts["jinja"] += 1
        return compile_(self, *args, **kwargs)

    monkeypatch.setattr(pds_core.validate, "qualify", counting_qualify)
    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    return counts


def compile_(root: Path) -> dict[str, str]:
    return api.compile(api.load(root))


def fresh_checkout(src: Path, dst: Path) -> Path:
    """The project's files without target/ (a new clone)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target", "*.duckdb*"))
    return dst


def test_a_new_checkout_compiles_from_the_shared_cache(tmp_path, own_shared_cache, counted, monkeypatch):
    first = write_project(tmp_path / "a", FILES)
    sql = compile_(first)
    assert counted["qualify"] == 3 and counted["jinja"] > 0
    assert len(list((own_shared_cache / SHARED_KIND).glob("*.pickle"))) == 1

    counted.update(qualify=0, jinja=0)
    clone = fresh_checkout(first, tmp_path / "b")
    assert compile_(clone) == sql
    assert counted == {"qualify": 0, "jinja": 0}  # nothing rendered, parsed, validated or compiled again
    assert artifacts(clone) == artifacts(first)
    assert (clone / "target" / "pds_cache.pickle").is_file()  # and the checkout has its own copy now

    # one model changed in the clone: only it is validated again, and the result is a cold compile's
    counted.update(qualify=0)
    edit = clone / "models/by_customer.sql"
    edit.write_text(edit.read_text().replace("sum(amount)", "max(amount)"))
    changed = compile_(clone)
    assert "max(amount)" in changed["model.cproj.by_customer"]
    assert counted["qualify"] == 1  # by_customer only: report's parents kept their columns
    cold = fresh_checkout(clone, tmp_path / "c")
    monkeypatch.setenv("PDS_CACHE_DIR", "off")
    assert compile_(cold) == changed
    assert artifacts(cold) == artifacts(clone)


def test_a_branch_switched_back_finds_its_cache(tmp_path, own_shared_cache, counted):
    root = write_project(tmp_path / "p", FILES)
    money = root / "macros/money.sql"
    main_sql = compile_(root)
    money.write_text(money.read_text().replace("/ 100.0", "/ 1000.0"))  # another branch: another key
    counted.update(qualify=0)
    assert "/ 1000.0" in compile_(root)["model.cproj.stg_orders"]
    assert counted["qualify"] == 3  # everything rendered again: the macro changed
    money.write_text(money.read_text().replace("/ 1000.0", "/ 100.0"))  # back to main
    counted.update(qualify=0)
    assert compile_(root) == main_sql
    assert counted["qualify"] == 0  # target/ held the other branch's cache; the shared folder had main's
    assert len(list((own_shared_cache / SHARED_KIND).glob("*.pickle"))) == 2


def test_off_writes_nothing_and_the_default_is_the_users_cache_folder(tmp_path, monkeypatch, counted):
    monkeypatch.setenv("PDS_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = write_project(tmp_path / "p", FILES)
    compile_(root)
    assert shared_cache.shared_folder() is None and not (tmp_path / "xdg").exists()
    monkeypatch.delenv("PDS_CACHE_DIR")
    assert shared_cache.shared_folder() == tmp_path / "xdg" / "pds"
    shutil.rmtree(root / "target")
    compile_(root)
    folder = tmp_path / "xdg" / "pds"
    entries = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.parent.name for p in entries} == {"parse", "jinja"}
    assert stat.S_IMODE((folder / "parse").stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in entries)  # the user's only


def test_a_damaged_shared_cache_is_rebuilt(tmp_path, own_shared_cache, counted):
    root = write_project(tmp_path / "a", FILES)
    sql = compile_(root)
    for path in own_shared_cache.rglob("*"):
        if path.is_file():
            path.write_bytes(b"not a cache")
    clone = fresh_checkout(root, tmp_path / "b")
    counted.update(qualify=0, jinja=0)
    assert compile_(clone) == sql
    assert counted["qualify"] == 3 and counted["jinja"] > 0


def test_a_macro_syntax_error_is_reported_with_its_line_from_a_warm_code_cache(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    assert run_pds("compile", "--project-dir", str(root)).returncode == 0
    (root / "macros/broken.sql").write_text("{% macro broken() %}\n{{ oops( }}\n{% endmacro %}\n")
    done = run_pds("compile", "--project-dir", str(root))
    assert done.returncode == 2 and "macros/broken.sql:2" in done.stderr and "Traceback" not in done.stderr


def test_the_folder_keeps_the_most_recently_used(tmp_path):
    folder = tmp_path / "kind"
    for name in ("a", "b", "c"):
        shared_cache.write(folder / name, name.encode(), keep=3)
    os.utime(folder / "a", ns=(1, 1))
    os.utime(folder / "b", ns=(2, 2))
    assert shared_cache.read(folder / "a") == b"a"  # read now: the most recently used
    shared_cache.write(folder / "d", b"d", keep=3)
    assert sorted(p.name for p in folder.iterdir()) == ["a", "c", "d"]


def test_a_folder_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setenv("PDS_CACHE_DIR", str(folder))
    root = write_project(tmp_path / "p", FILES)
    done = run_pds("compile", "--project-dir", str(root))
    assert done.returncode == 0, done.stderr
    assert f"the cache folder {folder} is not used: others may write to it" in done.stderr
    assert "chmod 700" in done.stderr and list(folder.iterdir()) == []  # nothing read or written there
    folder.chmod(0o700)
    shutil.rmtree(root / "target")
    done = run_pds("compile", "--project-dir", str(root))
    assert "cache folder" not in done.stderr and (folder / "parse").is_dir()
