"""`pds deps` as `dbt deps`: hub packages resolved through the hub's API (a server this test starts on
127.0.0.1, serving the hub's JSON and tarballs the test builds), git packages (a bare repository the test
creates; revision and subdirectory), local packages (linked); package-lock.yml written as dbt writes it
and installed as it is until --upgrade; the packages' models then build."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import subprocess
import tarfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbt_kit import pds, rows, write

PROJECT = {
    "dbt_project.yml": "name: shop\nprofile: shop\n",
    "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: shop.duckdb}\n",
    "models/uses_packages.sql": "select * from {{ ref('util_numbers') }} union all select * from {{ ref('git_numbers') }}\n",
}


def package(name: str, version: str, model: str, number: int, needs: str = "") -> dict[str, str]:
    """A small dbt package: a project file, one model returning `number`, maybe a packages.yml."""
    files = {"dbt_project.yml": f"name: {name}\nversion: '{version}'\nconfig-version: 2\n",
             f"models/{model}.sql": f"select {number} as n, '{name} {version}' as source\n"}
    if needs:
        files["packages.yml"] = needs
    return files


def tarball(top: str, files: dict[str, str]) -> bytes:
    """A .tar.gz with one top folder, as GitHub's tarballs (which the hub points at) have."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for rel, text in files.items():
            data = textwrap.dedent(text).encode()
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Hub:
    """The hub's API for two packages: acme/util_pkg (which needs acme/base_pkg) and acme/base_pkg."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.packages: dict[str, dict] = {}
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server, self.url = server, f"http://127.0.0.1:{server.server_address[1]}/"
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def _handler(self) -> type:
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hub.requests.append(self.path)
                body = hub.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def publish(self, org_name: str, project: str, version: str, files: dict[str, str], needs: list[dict] | None = None,
                require_dbt: list[str] | None = None) -> None:
        """Add a version: its tarball, and its entry in the package's JSON."""
        path = f"/tarballs/{org_name.replace('/', '-')}-{version}.tar.gz"
        self.files[path] = tarball(f"{org_name.replace('/', '-')}-{hashlib.md5(version.encode()).hexdigest()[:7]}", files)
        entry = self.packages.setdefault(org_name, {"name": org_name.split("/")[1], "namespace": org_name.split("/")[0],
                                                    "versions": {}})
        entry["versions"][version] = {"name": project, "packages": needs or [], "require_dbt_version": require_dbt or [],
                                      "downloads": {"tarball": self.url + path.lstrip("/")}}
        self.files[f"/api/v1/{org_name}.json"] = json.dumps(entry).encode()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    needs_base = [{"package": "acme/base_pkg", "version": [">=0.1.0"]}]
    for version, number in (("1.0.0", 10), ("1.2.0", 12)):
        server.publish("acme/util_pkg", "util_pkg", version, package("util_pkg", version, "util_numbers", number,
                       "packages:\n  - package: acme/base_pkg\n    version: ['>=0.1.0']\n"), needs_base)
    server.publish("acme/util_pkg", "util_pkg", "1.9.0-rc1", package("util_pkg", "1.9.0-rc1", "util_numbers", 19))
    server.publish("acme/util_pkg", "util_pkg", "1.8.0", package("util_pkg", "1.8.0", "util_numbers", 18),
                   require_dbt=[">=2.0.0"])  # not for dbt 1.11: never chosen
    for version in ("0.1.0", "0.2.0"):
        server.publish("acme/base_pkg", "base_pkg", version, package("base_pkg", version, "base_numbers", 1))
    yield server
    server.server.shutdown()


def git_repo(tmp: Path) -> tuple[str, str]:
    """A bare repository holding a package in pkg/: tag v1 (n = 1), then main moves on (n = 2).
    Returns its file:// URL and v1's commit."""
    work = tmp / "git-work"
    write(work / "pkg", package("git_pkg", "1.0.0", "git_numbers", 1))
    write(work, {"README.md": "not a dbt project at the top\n"})

    def git(*args: str, cwd: Path = work) -> str:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                              env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                                   "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "v1")
    git("tag", "v1")
    v1 = git("rev-parse", "HEAD")
    (work / "pkg" / "models" / "git_numbers.sql").write_text("select 2 as n, 'git_pkg main' as source\n")
    git("commit", "-q", "-am", "main moves on")
    git("clone", "-q", "--bare", str(work), str(tmp / "repo.git"), cwd=tmp)
    return (tmp / "repo.git").as_uri(), v1


def test_deps_installs_hub_git_and_local_packages_pins_them_and_they_build(tmp_path: Path, hub: Hub) -> None:
    url, v1 = git_repo(tmp_path)
    write(tmp_path / "local_pkg", package("local_pkg", "0.0.1", "local_numbers", 7))
    project = write(tmp_path / "shop", {**PROJECT, "packages.yml": f"""
        packages:
          - package: acme/util_pkg
            version: [">=1.0.0", "<2.0.0"]
          - git: "{url}"
            revision: v1
            subdirectory: pkg
          - local: ../local_pkg
        """})
    env = {"DBT_PACKAGE_HUB_URL": hub.url}
    out = pds(project, "deps", env=env).stdout
    assert "Installed 4 packages" in out, out
    installed = project / "dbt_packages"
    assert sorted(p.name for p in installed.iterdir()) == ["base_pkg", "git_pkg", "local_pkg", "util_pkg"]
    assert (installed / "local_pkg").is_symlink()  # a local package is linked, as dbt links it
    assert "'util_pkg 1.2.0'" in (installed / "util_pkg" / "models" / "util_numbers.sql").read_text()
    assert "'base_pkg 0.2.0'" in (installed / "base_pkg" / "models" / "base_numbers.sql").read_text()
    assert "git_pkg 1.0.0" in (installed / "git_pkg" / "models" / "git_numbers.sql").read_text()  # v1, not main
    lock = (project / "package-lock.yml").read_text()
    body = lock.split("sha1_hash:")[0]
    assert body == textwrap.dedent(f"""\
        packages:
          - name: util_pkg
            package: acme/util_pkg
            version: 1.2.0
          - git: {url}
            name: git_pkg
            revision: {v1}
            subdirectory: pkg
          - local: ../local_pkg
            name: local_pkg
          - name: base_pkg
            package: acme/base_pkg
            version: 0.2.0
        """)
    pds(project, "build", env=env)
    assert rows(project / "shop.duckdb", "select n, source from uses_packages order by n") == [
        (1, "git_pkg 1.0.0"), (12, "util_pkg 1.2.0")]
    assert rows(project / "shop.duckdb", "select n from base_numbers") == [(1,)]  # packages' models build too

    # a newer version on the hub: the lock still holds 1.2.0; --upgrade resolves again
    hub.publish("acme/util_pkg", "util_pkg", "1.5.0", package("util_pkg", "1.5.0", "util_numbers", 15))
    pds(project, "deps", env=env)
    assert (project / "package-lock.yml").read_text() == lock
    assert "1.2.0" in (installed / "util_pkg" / "models" / "util_numbers.sql").read_text()
    out = pds(project, "deps", "--upgrade", env=env).stdout
    assert "version: 1.5.0" in (project / "package-lock.yml").read_text()
    assert "1.5.0" in (installed / "util_pkg" / "models" / "util_numbers.sql").read_text()
    assert "base_pkg" not in [p.name for p in installed.iterdir()]  # 1.5.0 needs nothing


def test_a_failed_deps_leaves_the_installed_packages_and_errors_name_the_entry(tmp_path: Path, hub: Hub) -> None:
    project = write(tmp_path / "shop", {**PROJECT, "packages.yml": """
        packages:
          - package: acme/base_pkg
            version: 0.1.0
        """})
    env = {"DBT_PACKAGE_HUB_URL": hub.url}
    pds(project, "deps", env=env)
    assert "'base_pkg 0.1.0'" in (project / "dbt_packages/base_pkg/models/base_numbers.sql").read_text()
    write(project, {"packages.yml": """
        packages:
          - package: acme/base_pkg
            version: 0.1.0
          - package: acme/no_such_pkg
            version: 1.0.0
          - package: acme/util_pkg
            version: [">=3.0.0"]
        """})
    result = pds(project, "deps", env=env, expect=2)
    assert "Error: packages.yml:4: package 'acme/no_such_pkg' is not on the package hub" in result.stderr, result.stderr
    assert "'base_pkg 0.1.0'" in (project / "dbt_packages/base_pkg/models/base_numbers.sql").read_text()
    write(project, {"packages.yml": "packages:\n  - package: acme/util_pkg\n    version: ['>=3.0.0']\n"})
    result = pds(project, "deps", env=env, expect=2)
    assert "no version of acme/util_pkg meets >=3.0.0" in result.stderr
    assert "versions on the hub: 1.0.0, 1.2.0" in result.stderr  # 1.8.0 is not for dbt 1.11; 1.9.0-rc1 a prerelease
    write(project, {"packages.yml": "packages:\n  - package: acme/util_pkg\n    versoin: 1.0.0\n"})
    result = pds(project, "deps", env=env, expect=2)
    assert "Error: packages.yml:3: unknown key 'versoin' in a package: package" in result.stderr


def test_fewer_packages_installed_than_listed_is_an_error_as_in_dbt(tmp_path: Path) -> None:
    project = write(tmp_path / "shop", {**PROJECT, "packages.yml": "packages:\n  - local: ../nowhere\n"})
    result = pds(project, "ls", expect=2)
    assert "packages.yml lists 1 package(s), but 0 are installed in dbt_packages/" in result.stderr
    assert "run `pds deps`" in result.stderr


def test_a_private_package_is_an_error_with_the_git_entry_to_write_instead(tmp_path: Path) -> None:
    """dbt Core refuses `private:` too (it needs dbt Cloud's git provider integration)."""
    project = write(tmp_path / "shop", {**PROJECT, "packages.yml": """
        packages:
          - private: acme/internal_pkg
            provider: gitlab
            revision: v1
        """})
    result = pds(project, "deps", expect=2)
    assert "Error: packages.yml:2: private: 'acme/internal_pkg' needs a git provider integration" in result.stderr
    assert 'git: "https://gitlab.com/acme/internal_pkg.git"' in result.stderr


def test_packages_installed_by_dbt_deps_are_used_as_they_are(tmp_path: Path) -> None:
    """dbt_packages/ as `dbt deps` leaves it (folders named by project, no pds bookkeeping): pds builds with it."""
    project = write(tmp_path / "shop", {
        **PROJECT, "models/uses_packages.sql": "select * from {{ ref('util_numbers') }}\n",
        "packages.yml": "packages:\n  - package: acme/util_pkg\n    version: [\">=1.0.0\"]\n"})
    write(project / "dbt_packages" / "util_pkg", package("util_pkg", "1.0.0", "util_numbers", 10))
    pds(project, "build", env={"DBT_PACKAGE_HUB_URL": "http://127.0.0.1:9/"})  # the hub is never asked
    assert rows(project / "shop.duckdb", "select n, source from uses_packages") == [(10, "util_pkg 1.0.0")]
