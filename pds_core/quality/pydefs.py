"""Find @check, @metric and @unit_test functions in tests/*.py statically, with ast.

The DAG must be known without running user code, so the decorator's arguments have to be
literals; the functions themselves run only when the build reaches them.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from pds_core.errors import ProjectError, did_you_mean
from pds_core.loader import Project
from pds_core.quality.generic import test_config
from pds_core.quality.metric_defs import metric_id, parse_bounds
from pds_core.quality.spec import BOUND_KINDS, Found, MetricNode, TestNode, UnitTestNode
from pds_core.yamlio import read_text

if TYPE_CHECKING:
    from pds_core.nodes import Manifest

OPTIONS: dict[str, set[str]] = {
    "check": {"model", "name", "severity", "description", "warn_if", "error_if", "store_failures", "tags", "meta"},
    "metric": {"model", "name", "description", "severity", "window", "bounds", *BOUND_KINDS},
    "unit_test": {"model", "name", "description", "vars"},
}


def python_definitions(project: Project, manifest: Manifest) -> Found:
    """The checks, metrics and unit-test fixtures of every tests/*.py file."""
    found = Found()
    for path in project.files.tests_py:
        try:
            tree = ast.parse(read_text(project.root / path, path), filename=path)
        except SyntaxError as exc:
            found.errors.append(ProjectError(f"Python syntax error: {exc.msg}", path, exc.lineno, exc.offset))
            continue
        for func in tree.body:
            if not isinstance(func, ast.FunctionDef):
                continue
            for decorator in func.decorator_list:
                kind = _kind(decorator)
                if kind is None:
                    continue
                try:
                    found.items.append(_definition(kind, decorator, func, path, project.name, manifest))
                except ProjectError as exc:
                    found.errors.append(exc)
    return found


def _kind(decorator: ast.expr) -> str | None:
    func = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return name if name in OPTIONS else None


def _definition(kind: str, decorator: ast.expr, func: ast.FunctionDef, path: str, project: str,
                manifest: Manifest) -> Any:
    line = decorator.lineno
    if not isinstance(decorator, ast.Call):
        raise ProjectError(f"@{kind} needs the model it applies to", path, line, hint=f"@{kind}(model='orders')")
    options = {kw.arg: _literal(kw.value, path, kind) for kw in decorator.keywords if kw.arg}
    if any(kw.arg is None for kw in decorator.keywords):
        raise ProjectError(f"@{kind}(**options) cannot be read without running the file", path, line,
                           hint="write each option as a literal keyword argument")
    if decorator.args:
        options.setdefault("model", _literal(decorator.args[0], path, kind))
    unknown = sorted(set(options) - OPTIONS[kind])
    if unknown:
        raise ProjectError(f"@{kind} takes no option {unknown[0]!r}", path, line,
                           hint=did_you_mean(unknown[0], OPTIONS[kind]) or f"options: {', '.join(sorted(OPTIONS[kind]))}")
    node_uid = _model(options.get("model"), kind, manifest, path, line)
    name = str(options.get("name") or func.name)
    description = str(options.get("description") or ast.get_docstring(func) or "")
    if kind == "check":
        if len(func.args.args) != 1:
            raise ProjectError(f"check {func.name}() must take one argument, the model's DataFrame", path, func.lineno)
        config = test_config({k: v for k, v in options.items() if k not in ("model", "name", "description")},
                             path, line, f"@check {name}")
        return TestNode(unique_id=f"test.{project}.{name}", name=name, test_type="python", test_name=func.name,
                        path=path, line=func.lineno, attached_to=node_uid, depends_on=[node_uid], config=config,
                        description=description)
    if kind == "metric":
        node = manifest.all_nodes()[node_uid]
        severity = str(options.get("severity") or "error")
        spec: Any = options.get("bounds")
        flat = {k: options[k] for k in (*BOUND_KINDS, "window") if k in options}
        if flat:
            spec = [*(spec if isinstance(spec, list) else [spec] if spec else []), {**flat, "severity": severity}]
        return MetricNode(unique_id=metric_id(project, node, name), name=name, kind="python", path=path,
                          line=func.lineno, attached_to=node_uid, model=node.name, function=func.name,
                          bounds=parse_bounds(spec, severity, path, line), description=description,
                          depends_on=[node_uid])
    if not isinstance(options.get("vars") or {}, dict):
        raise ProjectError("@unit_test vars= must be a mapping", path, line)
    model = manifest.nodes[node_uid]
    return UnitTestNode(unique_id=f"unit_test.{project}.{model.name}.{name}", name=name, model=node_uid, path=path,
                        line=func.lineno, vars=dict(options.get("vars") or {}), function=func.name,
                        description=description)


def _model(name: Any, kind: str, manifest: Manifest, path: str, line: int) -> str:
    if not isinstance(name, str) or not name:
        raise ProjectError(f"@{kind} needs model='name'", path, line, hint=f"@{kind}(model='orders')")
    uid = manifest.by_name.get(name)
    if uid is None and kind != "unit_test":
        uid = next((s for s, n in manifest.sources.items() if n.name == name), None)
    if uid is None or (kind == "unit_test" and manifest.nodes[uid].resource_type != "model"):
        candidates = [n.name for n in manifest.nodes.values() if kind != "unit_test" or n.resource_type == "model"]
        raise ProjectError(f"@{kind}(model={name!r}): no such model", path, line,
                           hint=did_you_mean(name, candidates) or "see `pds ls`")
    return uid


def _literal(node: ast.expr, path: str, kind: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ProjectError(f"@{kind} options must be literal values so the DAG is known without running the file",
                           path, node.lineno, node.col_offset + 1) from None
