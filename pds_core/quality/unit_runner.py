"""The runner of unit tests: each in an in-memory DuckDB, the target only read for its inputs' types.

In `pds build` a model's unit tests run right before it (after its parents), and a failure holds
the model and its children back, as dbt does; `pds test` runs them with the data tests, and
`pds test --unit` alone, without connecting (the types are then inferred: unit_types.py).
"""

from __future__ import annotations

import re
import traceback
from typing import Any

from pds_core.errors import ProjectError
from pds_core.pymodels import PythonModelFailed
from pds_core.quality.pyexec import UserCodeFailed
from pds_core.quality.spec import UnitTestNode
from pds_core.quality.unit import UnitTestFailed
from pds_core.quality.unit_run import UnitEnv, run_unit_test
from pds_core.results import FAIL, SUCCESS, NodeResult
from pds_core.runners.base import NodeFailed, RunContext, Runner

FOLDED = re.compile(r"^[A-Z_][A-Z0-9_]*$")  # a name Snowflake folded to upper case


class UnitTestRunner(Runner):
    def __init__(self, ctx: RunContext, env: UnitEnv) -> None:
        super().__init__(ctx)
        self.env = env

    def result(self, test: UnitTestNode, status: str = SUCCESS, message: str = "") -> NodeResult:
        return NodeResult(unique_id=test.unique_id, name=test.name, resource_type="unit_test", status=status,
                          message=message, path=test.path,
                          extra={"model": test.model, "line": test.line, "attached_to": test.model,
                                 "test_type": "unit", "test_name": test.name})

    def location(self, test: UnitTestNode) -> tuple[str | None, int | None]:
        return None, None

    def run(self, test: UnitTestNode, result: NodeResult) -> None:
        result.extra["test_status"] = "error"  # as pds_test_results records it, until it passes or fails
        try:
            result.message, origins = run_unit_test(test, self.env)
            result.extra["input_types"] = origins  # input -> warehouse | yaml | seed | inferred | names
            result.extra["test_status"] = "pass"
        except UnitTestFailed as exc:
            result.extra["test_status"] = "fail"
            raise NodeFailed(f"{test.path}:{test.line or 1}: {exc}", FAIL) from None
        except (UserCodeFailed, PythonModelFailed) as exc:
            raise NodeFailed(str(exc)) from None
        except ProjectError:
            raise
        except Exception as exc:  # DuckDB refused the model's SQL on these inputs
            message = f"{test.path}: {type(exc).__name__}: {exc}"
            if self.ctx.debug:
                message += "\n" + "".join(traceback.format_exception(exc))
            raise NodeFailed(message) from None


def unit_env(plan: Any, adapter: Any = None, catalog: Any = None) -> UnitEnv:
    """What the unit tests of a plan share; with a connected catalog, built inputs are typed from the warehouse."""
    from pds_core.plan import parse_manifest
    from pds_core.quality.pyexec import PythonFiles
    from pds_core.quality.unit_types import InputTypes

    project = plan.project
    warehouse = None
    if adapter is not None and catalog is not None:
        warehouse = warehouse_columns(adapter, lambda n: catalog.get(n.relation.key()) is not None)
    types = InputTypes(plan.manifest, plan.graph, project.root, project.config.dialect, warehouse,
                       getattr(adapter, "dialect", "duckdb"), plan.built_columns)
    return UnitEnv(project, plan.manifest, plan.graph, PythonFiles(project.root), types, parse_manifest)


def warehouse_columns(adapter: Any, is_built: Any) -> Any:
    """node -> [(column, warehouse type)] of its relation as built, or None when it is not built."""
    from pds_core.docs_site.warehouse import read_catalog

    def read(node: Any) -> list[tuple[str, str]] | None:
        if node.relation is None or not is_built(node):
            return None
        text = adapter.relation_sql(node.relation)
        found = read_catalog(adapter, [text]).get(text)
        if found and getattr(adapter, "folds_to_upper", False):  # Snowflake: CUSTOMER_ID is customer_id,
            found = [(c.lower() if FOLDED.match(c) else c, t) for c, t in found]  # as Python models read it
        return found

    return read
