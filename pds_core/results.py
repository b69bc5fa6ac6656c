"""Results of a run: plain data recorded to run_results.json and shown in the summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pds_core.artifacts import plain

SUCCESS, ERROR, SKIPPED, WARN, FAIL = "success", "error", "skipped", "warn", "fail"
UNCHANGED = "unchanged"  # --skip-unchanged: the relation already holds this definition's result
OK_STATUSES = (SUCCESS, WARN, UNCHANGED)


@dataclass
class NodeResult:
    """How one node went."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    message: str = ""
    rows_affected: int | None = None
    execution_time: float = 0.0
    started_at: str | None = None
    completed_at: str | None = None
    relation: str | None = None
    materialized: str | None = None
    path: str | None = None
    failures: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass
class RunResult:
    """A whole command's outcome."""

    command: str
    invocation_id: str
    started_at: str
    results: list[NodeResult] = field(default_factory=list)
    elapsed: float = 0.0
    target: str = ""
    interrupted: bool = False  # Ctrl-C: the results are what finished, and what did not run
    skips_fail: tuple[str, ...] = ()  # resource types whose skipping fails the run (`pds publish`: exports)

    @property
    def success(self) -> bool:
        if self.interrupted or any(r.status in (ERROR, FAIL) for r in self.results):
            return False
        return not any(r.status == SKIPPED and r.resource_type in self.skips_fail for r in self.results)

    @property
    def status(self) -> str:
        """success, error or interrupted: what run_results.json and pds_runs say about the run."""
        return "interrupted" if self.interrupted else "success" if self.success else "error"

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else 0 if self.success else 1

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def by_id(self) -> dict[str, NodeResult]:
        return {r.unique_id: r for r in self.results}
