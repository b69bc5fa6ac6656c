"""Warm compile: `pds compile` of a project whose inputs did not change answers from its last record.

Why: a compile of thousands of models parses, validates and writes artifacts that are already on
disk. After a compile, target/pds_compile_record.pickle keeps what it read and wrote, and the next
`pds compile` with the same inputs replays it (the messages and warnings it printed, the SQL it
returned) without importing the compiler, Jinja or networkx, and without rewriting anything.

What "the same inputs" means, conservatively (a doubt is a full compile, never a stale answer):

- every file the loader lists (models, schema YAML, seeds, macros, tests, snapshots, analyses,
  docs, of the project and of each installed package), the files at the root of the project and
  of each package (project file, packages.yml, selectors...), target/state/columns.json: the same
  set of paths, each with the same size, mtime, ctime and inode as *before* the last compile read
  them. A file changed less than RACY_NS before that compile started is also compared by content
  (its mtime may not have moved on a second change within the file system's clock tick);
- the key: pds's own code and the installed sqlglot/Jinja/PyYAML/networkx (their files' stats),
  the project and package configs, vars, the target (settings hashed, never stored), the command's
  options and the process environment (env_var() may read anything; only a digest is kept);
- what the compile wrote (target/compiled/, target/manifest.json, target/dbt/) still has the stats
  it had right after: a deleted or edited artifact means a full compile.

A command that reads the warehouse (--validate-sources) or compares with a saved state (`state:`)
never replays.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pds_core.shared_cache import Stat
from pds_core.shared_cache import stat as file_stat

RECORD_FILE = "pds_compile_record.pickle"
LS_RECORD_FILE = "pds_ls_record.pickle"  # `pds ls` keeps its own: it writes nothing else, so checks no outputs
FORMAT = 1
RACY_NS = 2_000_000_000  # files changed this close to a compile's start are compared by content too
OUTPUTS = ("compiled", "dbt", "manifest.json")  # what `pds compile` writes under target/
SHELL_NOISE = frozenset({"_", "OLDPWD", "SHLVL", "PS1", "PS2", "COLUMNS", "LINES", "TERM_SESSION_ID"})

@dataclass
class Inputs:
    """What a compile is about to read, taken before it reads it."""

    key: str
    files: dict[str, Stat]
    racy: dict[str, str] = field(default_factory=dict)  # path -> sha256 of the content, for recent files


@dataclass
class CompileRecord:
    """One compile: its inputs, the stats of what it wrote, what it printed and returned."""

    inputs: Inputs
    outputs: dict[str, Stat]
    messages: list[str]
    warnings: list[tuple[str, str | None, int | None, str | None]]
    compiled: Any  # what the command returned: compile's SQL by unique id, ls's rows


def eligible(options: dict[str, Any]) -> bool:
    """Commands that read nothing but files: no warehouse, no saved state."""
    if options.get("validate_sources") or options.get("state"):
        return False
    specs = [*(options.get("select") or []), *(options.get("exclude") or [])]
    return not any("state:" in str(spec) for spec in specs)


def take_inputs(project: Any, options: dict[str, Any]) -> Inputs:
    """The key and the stats of every input file, now (before the compile reads them)."""
    from pds_core import __version__
    from pds_core.cache import digest
    from pds_core.shared_cache import code_digest

    start = time.time_ns()
    files: dict[str, Stat] = {}
    racy: dict[str, str] = {}
    for rel in _input_paths(project):
        stat = file_stat(project.root / rel)
        if stat is None:
            continue
        files[rel] = stat
        if max(stat[1], stat[2]) >= start - RACY_NS:
            racy[rel] = _content_hash(project.root / rel)
    target = project.target
    env = sorted((k, v) for k, v in os.environ.items() if k not in SHELL_NOISE)
    key = digest(FORMAT, __version__, code_digest(), str(project.root), project.config.raw,
                 [(p.name, p.config.raw) for p in project.packages], project.vars, project.cli_vars,
                 target.name, target.type, target.schema, sorted(target.settings.items()), target.threads,
                 sorted(options.items()), env)
    return Inputs(key, files, racy)


def replay(project: Any, inputs: Inputs, reporter: Any, name: str = RECORD_FILE) -> Any:
    """The last compile's answer if nothing it depends on changed (its messages and warnings printed
    again), else None."""
    record = read_record(project, name)
    if record is None or record.inputs.key != inputs.key or record.inputs.files != inputs.files:
        return None
    for rel, sha in record.inputs.racy.items():
        if _content_hash(project.root / rel) != sha:
            return None
    if _output_stats(project, name) != record.outputs:
        return None
    from pds_core.not_acted_on import ProjectWarning

    for message, path, line, hint in record.warnings:
        warnings.warn(ProjectWarning(message, path, line, hint), stacklevel=3)
    if reporter is not None:
        for message in record.messages:
            reporter.info(message)
    return record.compiled


def read_record(project: Any, name: str = RECORD_FILE) -> CompileRecord | None:
    try:
        with open(project.target_dir / name, "rb") as fh:
            data = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data["record"] if isinstance(data.get("record"), CompileRecord) else None


def forget(project: Any, name: str = RECORD_FILE) -> None:
    """Drop the record before a full compile: whatever happens next, it no longer describes target/."""
    (project.target_dir / name).unlink(missing_ok=True)


def save(project: Any, inputs: Inputs, captured: Captured, compiled: Any, name: str = RECORD_FILE) -> None:
    """Keep this compile's record (written atomically), unless it printed something it cannot replay."""
    if captured.unreplayable:
        return
    record = CompileRecord(inputs, _output_stats(project, name), captured.messages, captured.warnings, compiled)
    folder = project.target_dir
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pds_compile_record.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({"format": FORMAT, "record": record}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def volatile(cache: Any) -> bool:
    """A render read the run's identity (invocation_id, run_started_at, flags): every compile differs."""
    renders = getattr(cache, "renders", None)
    return cache is None or any(entry.get("volatile") for entry in (renders or {}).values())


@dataclass
class Captured:
    """What a full compile printed through the reporter, and the project warnings it raised."""

    reporter: Any = None
    messages: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str | None, int | None, str | None]] = field(default_factory=list)
    unreplayable: bool = False


class _Recorder:
    """Passes every call on to the real reporter; remembers info() lines, and that anything else happened."""

    def __init__(self, inner: Any, captured: Captured) -> None:
        self._inner, self._captured = inner, captured

    def info(self, message: str, **fields: Any) -> None:
        if fields:
            self._captured.unreplayable = True
        self._captured.messages.append(message)
        self._inner.info(message, **fields)

    def __getattr__(self, name: str) -> Any:
        self._captured.unreplayable = True
        return getattr(self._inner, name)


@contextmanager
def capture(reporter: Any) -> Iterator[Captured]:
    """Record what the compile prints; its warnings are shown as usual, when it ends (or fails)."""
    from pds_core.not_acted_on import ProjectWarning

    captured = Captured()
    captured.reporter = _Recorder(reporter, captured) if reporter is not None else None
    with warnings.catch_warnings(record=True) as caught:  # the caller's filters still apply inside
        try:
            yield captured
        finally:
            shown = list(caught)
    for w in shown:
        if isinstance(w.message, ProjectWarning):
            m = w.message
            captured.warnings.append((m.message, None if m.path is None else str(m.path), m.line, m.hint))
        else:
            captured.unreplayable = True
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


# ---- stats ------------------------------------------------------------------------------------------
def _content_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def _input_paths(project: Any) -> list[str]:
    """Every file the loader listed, every other file under the project's folders (unit-test fixtures,
    tests/*.py, anything a parser may read), and the files at the root of the project and each package."""
    from dataclasses import fields

    paths: list[str] = []
    for pkg in project.all_projects():
        for f in fields(pkg.files):
            paths.extend(getattr(pkg.files, f.name))
        prefix = "" if pkg.root == project.root else pkg.root.relative_to(project.root).as_posix() + "/"
        with os.scandir(pkg.root) as entries:
            paths.extend(prefix + e.name for e in entries if e.is_file())
        config = pkg.config
        for folder in {*config.model_paths, *config.seed_paths, *config.test_paths, *config.macro_paths,
                       *config.analysis_paths, *config.snapshot_paths, *(config.docs_paths or [])}:
            _walk_files(str(pkg.root / folder), prefix + folder.strip("/"), paths)
    paths.append(f"{project.config.target_path}/state/columns.json")  # Python models' built columns
    return sorted(set(paths))


def _walk_files(folder: str, rel: str, out: list[str]) -> None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.name.startswith("__"):
                _walk_files(entry.path, f"{rel}/{entry.name}", out)
        else:
            out.append(f"{rel}/{entry.name}")


def _output_stats(project: Any, name: str) -> dict[str, Stat]:
    found: dict[str, Stat] = {}
    if name != RECORD_FILE:
        return found
    base = str(project.target_dir)

    def walk(folder: str, rel: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            name = f"{rel}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, name)
            else:
                stat = file_stat(entry.path)
                if stat is not None:
                    found[name] = stat

    for name in OUTPUTS:
        top = os.path.join(base, name)
        if os.path.isfile(top):
            found[name] = file_stat(top)  # type: ignore[assignment]
        else:
            walk(top, name)
    return found
