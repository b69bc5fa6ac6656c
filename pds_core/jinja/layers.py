"""The layers of names under the macros: a render's own values over the shared context, the `config`
object dbt templates call, and small overlays (doc() for descriptions)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from pds_core.errors import ProjectError

VOLATILE = frozenset({"invocation_id", "run_started_at", "flags", "selected_resources"})


class ContextLayer(Mapping[str, Any]):
    """The context under the macros: the render's own values, then the shared ones."""

    def __init__(self, frame: ContextVar[Any], base: dict[str, Any]) -> None:
        self._frame, self.base = frame, base

    def __getitem__(self, key: str) -> Any:
        frame = self._frame.get()
        if frame is not None:
            if key in frame.values:
                return frame.values[key]
            if key in VOLATILE:
                frame.state.volatile = True
        return self.base[key]

    def __contains__(self, key: object) -> bool:
        frame = self._frame.get()
        return key in self.base or (frame is not None and key in frame.values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


class ConfigObject:
    """`config`: config(...) records a node's config; config.get/require read it (dbt's config object)."""

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        self._renderer._current().state.config.update(kwargs)
        return ""

    def _values(self) -> Mapping[str, Any]:
        frame = self._renderer._frame.get()
        if frame is None:
            return {}
        model = frame.values.get("model")
        base = dict(model.get("config") or {}) if isinstance(model, Mapping) else {}
        return {**base, **frame.state.config}

    def get(self, name: str, default: Any = None, validator: Any = None) -> Any:
        value = self._values().get(name)
        return default if value is None else value

    def require(self, name: str, validator: Any = None) -> Any:
        values = self._values()
        if values.get(name) is None:
            raise ProjectError(f"config {name!r} is required here", hint=f"set {name} in the node's config")
        return values[name]

    def set(self, name: str, value: Any) -> str:
        self._renderer._current().state.config[name] = value
        return ""

    def persist_relation_docs(self) -> bool:
        return bool((self._values().get("persist_docs") or {}).get("relation"))

    def persist_column_docs(self) -> bool:
        return bool((self._values().get("persist_docs") or {}).get("columns"))


class Overlay(Mapping[str, Any]):
    """A few names over a context (doc() for descriptions)."""

    def __init__(self, top: dict[str, Any], under: Mapping[str, Any]) -> None:
        self.top, self.under = top, under

    def __getitem__(self, key: str) -> Any:
        return self.top[key] if key in self.top else self.under[key]

    def __contains__(self, key: object) -> bool:
        return key in self.top or key in self.under

    def __iter__(self) -> Iterator[str]:
        yield from self.top
        yield from self.under

    def __len__(self) -> int:
        return len(self.top) + len(self.under)
