"""`pds init`: a new project from project_template, made of the template's source files only.

The template may have been built where it stands (a source checkout, an editable install), so its
folder can hold build output: target/, logs/, the DuckDB file, exports/, lock files, __pycache__.
None of that is copied. What is copied is what pds itself reads as the project (the files the
loader lists under the template's model, seed, test and macro paths), its pds_project.yml,
profiles.yml, .gitignore and .github/ (the CI workflow), minus anything the template's own
.gitignore ignores.
"""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pds_core.config import PROJECT_FILE, ProjectConfig
from pds_core.errors import ProjectError
from pds_core.loader import scan_files
from pds_core.yamlio import load_yaml_file

ROOT_FILES = (PROJECT_FILE, "profiles.yml", ".gitignore")
EXTRA_FOLDERS = (".github",)
TEMPLATE_NAME = "pds_template"


def template_dir() -> Path:
    """project_template/: inside the installed package, or beside it in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "project_template", here.parent / "project_template"):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise ProjectError("project_template is missing from this installation", hint="reinstall pds")


def template_files(template: Path) -> list[str]:
    """The template's source files, relative posix paths, sorted; never its build output."""
    config = ProjectConfig.from_dict(load_yaml_file(template / PROJECT_FILE, PROJECT_FILE), template)
    found = scan_files(template, config)
    listed = {*found.models_sql, *found.models_py, *found.schema_yml, *found.seeds, *found.macros,
              *found.tests_sql, *found.tests_py}
    listed |= {name for name in ROOT_FILES if (template / name).is_file()}
    listed |= {p.relative_to(template).as_posix() for folder in EXTRA_FOLDERS
               for p in (template / folder).rglob("*") if p.is_file()}
    ignored = ignore_rules(template / ".gitignore")
    return sorted(path for path in listed if not ignored(path))


def ignore_rules(gitignore: Path) -> Callable[[str], bool]:
    """A test for 'this relative path is ignored' from a .gitignore's plain patterns (`name`, `*.ext`,
    `folder/`, `/anchored`); negations (`!`) are not needed by the template and not read."""
    patterns = [line.strip() for line in (gitignore.read_text(encoding="utf-8").splitlines()
                                          if gitignore.is_file() else [])]
    patterns = [p for p in patterns if p and not p.startswith(("#", "!"))]

    def ignored(path: str) -> bool:
        parts = PurePosixPath(path).parts
        for pattern in patterns:
            folder_only, anchored = pattern.endswith("/"), pattern.startswith("/")
            bare = pattern.strip("/")
            if anchored or "/" in bare:
                if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(path, bare + "/*"):
                    return True
                continue
            names = parts[:-1] if folder_only else parts
            if any(fnmatch.fnmatch(name, bare) for name in names):
                return True
        return False

    return ignored


def init_project(name: str, parent: str | Path = ".", template: Path | None = None) -> Path:
    """Create the folder `parent/name` from the template's source files, the project named `name`."""
    if not name.replace("-", "_").isidentifier():
        raise ProjectError(f"project name {name!r} must be letters, digits and _", hint="e.g. pds init my_project")
    dest = Path(parent) / name
    if dest.exists():
        raise ProjectError(f"{dest} already exists", hint="choose another name or remove the folder")
    template = template or template_dir()
    for rel in template_files(template):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(template / rel, dest / rel)
    project_name = name.replace("-", "_")
    project_file = dest / PROJECT_FILE
    text = project_file.read_text(encoding="utf-8")
    project_file.write_text(text.replace(f"name: {TEMPLATE_NAME}", f"name: {project_name}")
                            .replace(f"profile: {TEMPLATE_NAME}", f"profile: {project_name}"), encoding="utf-8")
    profiles = dest / "profiles.yml"
    if profiles.exists():
        profiles.write_text(profiles.read_text(encoding="utf-8").replace(f"{TEMPLATE_NAME}:", f"{project_name}:", 1),
                            encoding="utf-8")
    return dest
