"""The runner of unit tests (`pds test --unit`): each in an in-memory DuckDB, the target untouched."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from pds_core.errors import ProjectError
from pds_core.loader import Project
from pds_core.nodes import Manifest
from pds_core.pymodels import PythonModelFailed
from pds_core.quality.pyexec import PythonFiles, UserCodeFailed
from pds_core.quality.spec import UnitTestNode
from pds_core.quality.unit import UnitTestFailed, run_unit_test
from pds_core.results import FAIL, SUCCESS, NodeResult
from pds_core.runners.base import NodeFailed, RunContext, Runner


class UnitTestRunner(Runner):
    def __init__(self, ctx: RunContext, project: Project, manifest: Manifest, graph: Any,
                 reparse: Callable[[Project], Manifest]) -> None:
        super().__init__(ctx)
        self.project = project
        self.manifest = manifest
        self.graph = graph
        self.reparse = reparse
        self.files = PythonFiles(project.root)

    def result(self, test: UnitTestNode, status: str = SUCCESS, message: str = "") -> NodeResult:
        return NodeResult(unique_id=test.unique_id, name=test.name, resource_type="unit_test", status=status,
                          message=message, path=test.path, extra={"model": test.model, "line": test.line})

    def location(self, test: UnitTestNode) -> tuple[str | None, int | None]:
        return None, None

    def run(self, test: UnitTestNode, result: NodeResult) -> None:
        try:
            result.message = run_unit_test(test, self.project, self.manifest, self.graph, self.files, self.reparse)
        except UnitTestFailed as exc:
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
