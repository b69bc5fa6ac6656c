"""YAML loading that remembers the line of every key, so config errors can point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pds_core.errors import ProjectError

try:  # the C parser is several times faster; the Python constructor still records lines
    _Base = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader  # type: ignore[misc]


class LineDict(dict):
    """A dict from YAML that knows the file and the line of each key."""

    path: str | None = None
    line: int | None = None
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list from YAML that knows the line of each item."""

    path: str | None = None
    line: int | None = None
    item_lines: list[int]

    def line_of(self, index: int) -> int | None:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pds_path: str | None = None


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.path, result.line, result.key_lines = loader.pds_path, node.start_mark.line + 1, {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ProjectError("a mapping key must be a plain value", loader.pds_path,
                               key_node.start_mark.line + 1) from None
        if key in result:
            raise ProjectError(f"duplicate key {key!r}", loader.pds_path, key_node.start_mark.line + 1,
                               hint="each key may appear once in a mapping")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.path, result.line = loader.pds_path, node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_yaml_text(text: str, path: Path | str | None = None) -> Any:
    """Parse YAML text; a syntax error becomes a ProjectError with the line and column."""
    loader = _Loader(text)
    loader.pds_path = str(path) if path else None
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ProjectError(
            f"invalid YAML: {exc.problem or exc.context}",
            path,
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
            hint="check the indentation and quoting around this line",
        ) from exc
    except yaml.YAMLError as exc:
        raise ProjectError(f"invalid YAML: {exc}", path) from exc
    finally:
        loader.dispose()


def read_text(path: Path, display: Path | str | None = None) -> str:
    """Read a project file as UTF-8, with a clear error for other encodings."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ProjectError("file is not valid UTF-8", display or path, line,
                           hint="save the file as UTF-8") from exc
    except OSError as exc:
        raise ProjectError(f"cannot read file: {exc.strerror}", display or path) from exc


def load_yaml_file(path: Path, display: Path | str | None = None) -> Any:
    """Read and parse one YAML file of the project."""
    return load_yaml_text(read_text(path, display), display or path)


def merged(data: LineDict, overlay: LineDict) -> LineDict:
    """A mapping with another's keys laid over it, each key keeping the line it was written on."""
    result = LineDict(data)
    result.path, result.line, result.key_lines = data.path, data.line, dict(data.key_lines)
    for key, value in overlay.items():
        result[key] = value
        result.key_lines[key] = overlay.key_lines.get(key, 1)
    return result
