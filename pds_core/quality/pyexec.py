"""Run the functions of tests/*.py: each file is executed once per run, on first need."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pds_core.yamlio import read_text


class UserCodeFailed(Exception):
    """User code in tests/*.py raised; the message names the file and line."""


def describe(exc: BaseException, path: str) -> str:
    """`path:line: Type: message`, the line being the deepest frame inside the user's file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    where = f"{path}:{frames[-1].lineno}" if frames else path
    return f"{where}: {type(exc).__name__}: {exc}"


class PythonFiles:
    """The executed namespaces of the project's Python test files, shared by the threads of one run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._namespaces: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def function(self, path: str, name: str) -> Callable[..., Any]:
        with self._lock:
            namespace = self._namespaces.get(path)
            if namespace is None:
                namespace = self._namespaces[path] = self._load(path)
        func = namespace.get(name)
        if not callable(func):
            raise UserCodeFailed(f"{path}: {name}() is no longer defined in the file")
        return func

    def _load(self, path: str) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__name__": f"pds_tests_{abs(hash(path))}", "__file__": str(self.root / path)}
        try:
            exec(compile(read_text(self.root / path, path), path, "exec"), namespace)
        except Exception as exc:
            raise UserCodeFailed(describe(exc, path)) from exc
        return namespace


def call(func: Callable[..., Any], path: str, *args: Any) -> Any:
    """Call user code; any exception becomes UserCodeFailed pointing at the user's line."""
    try:
        return func(*args)
    except Exception as exc:
        raise UserCodeFailed(describe(exc, path)) from exc
