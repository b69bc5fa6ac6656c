"""Parse the project's tests into TestNodes: generic tests from schema YAML, singular tests from
tests/*.sql, source freshness; then the metrics, Python checks and unit tests (own modules).

Runs inside the parse stage, after models and seeds are known, with the project's Renderer,
so ref() and source() in tests record their dependencies exactly as they do in models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from pds_core.config import config_warnings, folder_config
from pds_core.errors import ProjectError, ProjectErrors, did_you_mean
from pds_core.loader import Project
from pds_core.nodes import Node
from pds_core.quality.generic import (
    BUILTIN_TESTS,
    canonical_name,
    macro_config,
    relation_argument,
    render_user_test,
    test_config,
    test_model_argument,
)
from pds_core.quality.metric_defs import yaml_metrics
from pds_core.quality.naming import dbt_names, split_entry
from pds_core.quality.pydefs import python_definitions
from pds_core.quality.spec import PERIODS, QualitySuite, TestNode
from pds_core.quality.unit import yaml_unit_tests
from pds_core.render import Renderer
from pds_core.yamlio import read_text

if TYPE_CHECKING:
    from pds_core.nodes import Manifest


def parse_quality(project: Project, manifest: Manifest, renderer: Renderer,
                  load_macros: Callable[[], Any] | None = None, cache: Any = None) -> QualitySuite:
    """Every test, check, metric and unit test of the project; all errors are reported together.

    `cache` (the parse cache) keeps singular tests' renders like models' while their text is unchanged.
    """
    return QualityParser(project, manifest, renderer, load_macros, cache).parse()


class QualityParser:
    def __init__(self, project: Project, manifest: Manifest, renderer: Renderer,
                 load_macros: Callable[[], Any] | None, cache: Any = None) -> None:
        self.project = project
        self.manifest = manifest
        self.renderer = renderer
        self.cache = cache
        self._load_macros = load_macros
        self.suite = QualitySuite()
        self.errors: list[ProjectError] = []
        self.sources = {n.name: uid for uid, n in manifest.sources.items()}

    def parse(self) -> QualitySuite:
        for node in [*self.manifest.nodes.values(), *self.manifest.sources.values()]:
            for column in node.columns.values():
                lines = self._lines(node, column.name)
                for i, entry in enumerate(column.tests):
                    self._guard(self._generic, entry, node, column.name, lines.get(i) or column.line)
            lines = self._lines(node, None)
            for i, entry in enumerate(node.tests):
                self._guard(self._generic, entry, node, None, lines.get(i) or node.patch_line)
            if node.resource_type == "source":
                self._guard(self._source_freshness, node)
        for path in self.project.files.tests_sql:
            self._guard(self._singular, path)
        for found in (yaml_metrics(self.manifest, self.project.config.dialect),
                      python_definitions(self.project, self.manifest), yaml_unit_tests(self.manifest, self.project)):
            for item in found.items:
                self._add(item)
            self.errors += found.errors
        if self.errors:
            unique = list({str(e): e for e in self.errors}.values())
            raise unique[0] if len(unique) == 1 else ProjectErrors(unique)
        return self.suite

    def _guard(self, func: Callable[..., None], *args: Any) -> None:
        try:
            func(*args)
        except ProjectErrors as exc:
            self.errors += exc.errors
        except ProjectError as exc:
            self.errors.append(exc)

    def _add(self, item: Any) -> None:
        table = {"test": self.suite.tests, "metric": self.suite.metrics, "unit_test": self.suite.unit_tests}
        target = table[item.resource_type]
        if item.unique_id in target:
            other = target[item.unique_id]
            self.errors.append(ProjectError(
                f"two {item.resource_type.replace('_', ' ')}s are named {item.name!r} (also in {other.path})",
                item.path, item.line, hint="give one of them another name: (name: my_test)"))
            return
        target[item.unique_id] = item

    def _lines(self, node: Node, column: str | None) -> dict[int, int]:
        """The YAML line of each test entry of a model's or seed's column (or of the node itself)."""
        schema = self.manifest.schema
        props = None if schema is None else (schema.seeds if node.resource_type == "seed" else schema.models).get(node.name)
        if props is None or node.resource_type == "source":
            return {}
        entry: Any = props.entry
        if column is not None:
            entry = next((c for c in entry.get("columns") or [] if isinstance(c, dict) and c.get("name") == column), {})
        tests = entry.get("data_tests") or entry.get("tests") or []
        return {i: tests.line_of(i) for i in range(len(tests))} if hasattr(tests, "line_of") else {}

    def macros(self) -> None:
        """Compile macro files into the Jinja environment before rendering (the parse cache may have skipped it)."""
        if self._load_macros is not None:
            self._load_macros()
            self._load_macros = None

    # ---- generic tests ------------------------------------------------------------------------
    def _generic(self, entry: Any, node: Node, column: str | None, line: int | None) -> None:
        path = node.patch_path or node.path
        line = getattr(entry, "line", None) or line
        parts = split_entry(entry, path, line, column)
        config_warnings(parts.config, path, f"test {parts.written!r}", self.project.config.strict_keys, line=line)
        config = test_config({**self._project_config(path), **parts.config}, path, line, f"test {parts.written!r}",
                             strict=self.project.config.strict_keys)
        if config.get("enabled") is False:
            return
        source = (node.source_meta["source_name"], node.source_meta["table_name"]) \
            if node.resource_type == "source" else None
        name, alias, digest = dbt_names(parts, node.name.replace(".", "_") if source else node.name,
                                        node.resource_type, source)
        args, plain = dict(parts.args), parts.name
        self.macros()  # a test macro of the project's or of a package (`dbt_utils.equal_rowcount`) wins
        user = self.renderer.test_macro(plain, parts.namespace) is not None
        test_name = plain if user else canonical_name(plain)
        if not user and test_name not in BUILTIN_TESTS:
            known = sorted({*BUILTIN_TESTS, *(m[5:] for m in self.manifest.macros if m.startswith("test_"))})
            raise ProjectError(f"unknown test {parts.written!r}", path, line,
                               hint=did_you_mean(plain, known) or f"built-in tests: {', '.join(sorted(BUILTIN_TESTS))};"
                               " define your own with {% test name(model, column_name) %} in tests/generic/")
        package = node.unique_id.split(".")[1]
        test = TestNode(unique_id=f"test.{package}.{name}.{digest}", name=name, test_type="generic",
                        test_name=test_name, path=path, line=line, attached_to=node.unique_id, column=column,
                        kwargs=args, config=config, depends_on=[node.unique_id], alias=config.get("alias") or alias,
                        namespace=parts.namespace, description=parts.description or str(config.get("description") or ""))
        if user:
            self._render_user(test, node)
        else:
            self._check_builtin(test, node)
        self._add(test)

    def _check_builtin(self, test: TestNode, node: Node) -> None:
        required, optional = BUILTIN_TESTS[test.test_name]
        args, path, line = test.kwargs, test.path, test.line
        what = f"test {test.test_name!r}" + (f" on column {test.column!r}" if test.column else f" on {node.name}")
        if "column_name" in required and "column_name" not in args:
            raise ProjectError(f"{what} needs a column", path, line,
                               hint="declare it under a column's data_tests:, or pass column_name:")
        missing = sorted(required - set(args))
        if missing:
            raise ProjectError(f"{what} needs {', '.join(missing)}", path, line, hint=_USAGE.get(test.test_name))
        unknown = sorted(set(args) - required - optional - {"column_name"})
        if unknown:
            raise ProjectError(f"{what} takes no argument {unknown[0]!r}", path, line,
                               hint=did_you_mean(unknown[0], required | optional) or _USAGE.get(test.test_name))
        if test.test_name == "accepted_values" and not isinstance(args["values"], list):
            raise ProjectError(f"{what}: values must be a list", path, line, hint=_USAGE["accepted_values"])
        if test.test_name == "unique_combination" and not (
                isinstance(args["combination_of_columns"], list) and args["combination_of_columns"]):
            raise ProjectError(f"{what}: combination_of_columns must be a list of columns", path, line)
        if test.test_name == "row_count":
            bounds = [args.get(k) for k in ("min", "max") if args.get(k) is not None]
            if not bounds or any(isinstance(b, bool) or not isinstance(b, int | float) for b in bounds):
                raise ProjectError(f"{what} needs min: and/or max: numbers", path, line, hint=_USAGE["row_count"])
        if test.test_name == "relationships":
            _marker, refs, sources = relation_argument(args["to"], path, line)
            uid = self._resolve(refs, sources, path, line)[0]
            test.relations["to"] = uid
            test.depends_on.append(uid)
        if test.test_name == "freshness":
            if node.resource_type != "source":
                raise ProjectError("freshness is a test of sources", path, line,
                                   hint="declare it on a source table (with loaded_at_field:)")
            test.kwargs = _freshness_args({**node.source_meta, **args}, node, path, line)
            test.config["severity"] = "error" if test.kwargs.get("error_after") else "warn"

    def _render_user(self, test: TestNode, node: Node) -> None:
        self.macros()
        kind = "source" if node.resource_type == "source" else "ref"
        model = test_model_argument(kind, node.name, test.config.get("where"))
        rendered, refs, sources, state = render_user_test(self.renderer, f"test_{test.test_name}", model,
                                                          dict(test.kwargs), test.path, test.namespace)
        test.rendered = rendered
        test.renders_with_warehouse = bool(state.deferred)
        test.config = {**macro_config(state.config, test.path, test.line), **test.config}  # YAML's wins, as in dbt
        for uid in self._resolve(refs, sources, test.path, test.line):
            if uid not in test.depends_on:
                test.depends_on.append(uid)

    def _source_freshness(self, node: Node) -> None:
        spec = node.source_meta.get("freshness")
        if not spec:
            return
        path, line = node.patch_path or node.path, node.patch_line
        args = _freshness_args({**node.source_meta, **spec}, node, path, line)
        name = "source_freshness_" + node.name.replace(".", "_")
        self._add(TestNode(unique_id=f"test.{self.project.name}.{name}", name=name, test_type="generic",
                           test_name="freshness", path=path, line=line, attached_to=node.unique_id, kwargs=args,
                           depends_on=[node.unique_id],
                           config={"severity": "error" if args.get("error_after") else "warn"}))

    # ---- singular tests -----------------------------------------------------------------------
    def _singular(self, path: str) -> None:
        text = read_text(self.project.root / path, path)
        if not text.strip():
            raise ProjectError("test file is empty", path, 1,
                               hint="write a query that returns the failing rows (no rows = pass)")
        entry = self._render(path, text)
        config = test_config({**self._project_config(path), **entry["config"]}, path, None, "config of the test")
        if config.get("enabled") is False:
            return
        deps = self._resolve(list(entry["refs"]), list(entry["sources"]), path, None, text)
        name = PurePosixPath(path).stem
        self._add(TestNode(unique_id=f"test.{self.project.name}.{name}", name=name, test_type="singular",
                           test_name=name, alias=name, path=path, line=1, attached_to=self._most_downstream(deps),
                           depends_on=deps, config=config, rendered=entry["rendered"], raw_code=text,
                           renders_with_warehouse=bool(entry.get("deferred"))))

    def _render(self, path: str, text: str) -> dict[str, Any]:
        """A singular test's render, from the parse cache while its text (and all it reads) is unchanged."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        entry = self.cache.render_entry(path, digest, lambda _e: False) if self.cache is not None else None
        if entry is None:
            self.macros()
            rendered, state = self.renderer.render(text, path, lambda _cfg: False)
            entry = {"hash": digest, "rendered": rendered, "refs": state.refs, "sources": state.sources,
                     "config": state.config, "env_vars": state.env_vars, "used_is_incremental": False,
                     "is_incremental": None, "deferred": state.deferred}
            if self.cache is not None:
                self.cache.put_render(path, entry)
        return entry

    def _most_downstream(self, deps: list[str]) -> str | None:
        """The dependency the others feed into (what a singular test is 'about'), else the first."""
        nodes = self.manifest.all_nodes()
        for uid in deps:
            if all(d == uid or d in _ancestors(nodes, uid) for d in deps):
                return uid
        return deps[0] if deps else None

    # ---- shared -------------------------------------------------------------------------------
    def _project_config(self, path: str) -> dict[str, Any]:
        """`tests:`/`data_tests:` in pds_project.yml, inherited by folder like models' config."""
        parts = list(PurePosixPath(path).parts[1:])
        if parts:
            parts[-1] = PurePosixPath(parts[-1]).stem
        return folder_config(self.project.config.tests or {}, self.project.name, parts)

    def _resolve(self, refs: list[str], sources: list[tuple[str, str]], path: str, line: int | None,
                 text: str | None = None) -> list[str]:
        deps: list[str] = []
        for ref in refs:
            uid = self.manifest.by_name.get(ref)
            if uid is None:
                raise ProjectError(f"ref({ref!r}): no such model or seed", path, _line(text, ref) or line,
                                   hint=did_you_mean(ref, self.manifest.by_name) or "check the name passed to ref()")
            if uid not in deps:
                deps.append(uid)
        for src, table in sources:
            uid = self.sources.get(f"{src}.{table}")
            if uid is None:
                raise ProjectError(f"source('{src}', '{table}') is not declared", path, _line(text, table) or line,
                                   hint=did_you_mean(f"{src}.{table}", self.sources) or
                                   "declare it under sources: in a schema .yml file")
            if uid not in deps:
                deps.append(uid)
        return deps


_USAGE = {
    "accepted_values": "accepted_values: {values: [a, b, c]}",
    "relationships": "relationships: {to: ref('customers'), field: customer_id}",
    "expression_is_true": "expression_is_true: {expression: 'amount >= 0'}",
    "row_count": "row_count: {min: 1, max: 1000000}",
    "unique_combination": "unique_combination: {combination_of_columns: [order_id, line]}",
    "freshness": "freshness: {warn_after: {count: 12, period: hour}, error_after: {count: 1, period: day}}",
}


def _freshness_args(spec: dict[str, Any], node: Node, path: str, line: int | None) -> dict[str, Any]:
    field = spec.get("loaded_at_field")
    if not field:
        raise ProjectError(f"freshness of source {node.name!r} needs loaded_at_field:", path, line,
                           hint="name the timestamp column that says when each row arrived")
    out: dict[str, Any] = {"loaded_at_field": str(field), "filter": spec.get("filter")}
    for key in ("warn_after", "error_after"):
        value = spec.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not isinstance(value.get("count"), int) or value.get("period") not in PERIODS:
            raise ProjectError(f"{key} of source {node.name!r} must be {{count: N, period: minute|hour|day}}",
                               path, getattr(value, "line", None) or line, hint=_USAGE["freshness"])
        out[key] = {"count": value["count"], "period": value["period"]}
    if not out.get("warn_after") and not out.get("error_after"):
        raise ProjectError(f"freshness of source {node.name!r} needs warn_after: or error_after:", path, line,
                           hint=_USAGE["freshness"])
    return out


def _ancestors(nodes: dict[str, Node], uid: str) -> set[str]:
    seen: set[str] = set()
    stack = list(nodes[uid].depends_on) if uid in nodes else []
    while stack:
        parent = stack.pop()
        if parent not in seen:
            seen.add(parent)
            stack += nodes[parent].depends_on if parent in nodes else []
    return seen


def _line(text: str | None, needle: str) -> int | None:
    if text is None:
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if f"'{needle}'" in line or f'"{needle}"' in line:
            return number
    return None
