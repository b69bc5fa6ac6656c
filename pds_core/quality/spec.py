"""Plain data for the quality stage: test, metric and unit-test nodes as parsed from the project.

They are separate from models and seeds (Manifest.nodes) because they never build a
relation; the build adds them to its execution graph right after the node they check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pds_core.artifacts import plain

BOUND_KINDS = ("min", "max", "max_change_pct", "max_zscore")
DEFAULT_WINDOW = 10  # runs of history a max_zscore bound looks at
PERIODS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}  # freshness periods in seconds


@dataclass
class TestNode:
    """A generic test (schema YAML), a singular test (tests/*.sql) or a Python check (tests/*.py)."""

    __test__ = False  # not a pytest class

    unique_id: str  # test.<package>.<name>.<hash> (generic, as dbt names them), test.<project>.<name> (singular)
    name: str
    test_type: str  # generic | singular | python
    test_name: str  # not_null, accepted_values, a user generic test, the SQL file stem, the Python function
    path: str
    line: int | None = None
    attached_to: str | None = None  # the model, seed or source the test is declared on
    column: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    relations: dict[str, str] = field(default_factory=dict)  # argument name -> unique id (relationships' `to`)
    depends_on: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # severity, where, warn_if, error_if, store_failures...
    rendered: str | None = None  # Jinja-rendered SQL with relation markers (singular and user generic tests)
    raw_code: str = ""
    description: str = ""
    resource_type: str = "test"
    language: str = "sql"
    relation: Any = None  # tests build nothing; `this` has no meaning in them
    alias: str | None = None  # dbt's short name (for a relation or file named after the test) when name is long
    namespace: str | None = None  # the package a generic test was named with (dbt_utils.expression_is_true)
    renders_with_warehouse: bool = False  # its Jinja reads `execute` or asks the warehouse: rendered again, connected

    @property
    def severity(self) -> str:
        return str(self.config.get("severity") or "error").lower()

    @property
    def blocking(self) -> bool:
        """An error-severity test holds back the children of what it checks until it passes."""
        return self.severity == "error"

    @property
    def materialized(self) -> str:
        return "test"

    def to_dict(self) -> dict[str, Any]:
        data = plain(self)
        data.pop("relation")
        return data


@dataclass
class Bound:
    """A limit on a metric's value: absolute (min, max) or against its own history."""

    kind: str  # min | max | max_change_pct | max_zscore
    value: float
    severity: str = "error"
    window: int = DEFAULT_WINDOW

    def describe(self) -> str:
        return f"{self.kind} {self.value:g}" + (f" over {self.window} runs" if self.kind == "max_zscore" else "")


@dataclass
class MetricNode:
    """A number computed over a model after every build and appended to pds_metric_values."""

    unique_id: str  # metric.<project>.<node name>.<metric name>
    name: str
    kind: str  # sql | python | row_count | null_rate | mean | min | max | stddev | sum | distinct_count
    path: str
    line: int | None = None
    attached_to: str = ""
    model: str = ""  # the attached node's name
    expression: str | None = None  # a SQL aggregate over the model's rows
    column: str | None = None
    where: str | None = None
    group_by: list[str] = field(default_factory=list)
    bounds: list[Bound] = field(default_factory=list)
    function: str | None = None  # Python metrics: the decorated function in `path`
    description: str = ""
    depends_on: list[str] = field(default_factory=list)
    resource_type: str = "metric"

    @property
    def blocking(self) -> bool:
        return any(b.severity == "error" for b in self.bounds)

    @property
    def materialized(self) -> str:
        return "metric"

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass
class GivenInput:
    """One input of a unit test: the rows a ref() or source() returns while the test runs."""

    kind: str  # ref | source | this (the tested model's own table, for incremental unit tests)
    name: str  # model or seed name, or 'source.table' ('' for this)
    rows: list[dict[str, Any]] | None = None
    sql: str | None = None  # format: sql: a SELECT giving the rows, in the project's dialect
    format: str = "dict"  # as written: dict | csv | sql


@dataclass
class UnitTestNode:
    """Fixed input rows in, expected output rows out, for one SQL or Python model."""

    __test__ = False

    unique_id: str  # unit_test.<project>.<model>.<name>
    name: str
    model: str  # the model's unique id
    path: str
    line: int | None = None
    given: list[GivenInput] = field(default_factory=list)
    expect: list[dict[str, Any]] | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    function: str | None = None  # a Python fixture returning (given, expect)
    description: str = ""
    resource_type: str = "unit_test"
    expect_sql: str | None = None  # expect: with format: sql
    macros: dict[str, Any] = field(default_factory=dict)  # overrides: macros: (is_incremental, ...)
    env_vars: dict[str, str] = field(default_factory=dict)  # overrides: env_vars:
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)  # tags, meta, enabled

    @property
    def depends_on(self) -> list[str]:
        return [self.model]

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass
class QualitySuite:
    """Every test, metric and unit test of a project, by unique id."""

    tests: dict[str, TestNode] = field(default_factory=dict)
    metrics: dict[str, MetricNode] = field(default_factory=dict)
    unit_tests: dict[str, UnitTestNode] = field(default_factory=dict)

    def runnable(self) -> dict[str, TestNode | MetricNode]:
        """The nodes that run against the warehouse (unit tests do not)."""
        return {**self.tests, **self.metrics}

    def to_manifest(self) -> dict[str, Any]:
        return {"tests": {uid: t.to_dict() for uid, t in self.tests.items()},
                "metrics": {uid: m.to_dict() for uid, m in self.metrics.items()},
                "unit_tests": {uid: u.to_dict() for uid, u in self.unit_tests.items()}}


@dataclass
class Found:
    """What one definitions reader found, and the errors it met (reported together with the rest)."""

    items: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
