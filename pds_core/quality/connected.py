"""Tests whose Jinja reads `execute` or asks the warehouse (dbt_utils.equality, equal_rowcount): parsed
with `execute` false, as dbt parses them, and rendered again just before they run, connected, as dbt
compiles each test at its turn. The plan's run-time renderer (jinja/runtime.py) does the rendering."""

from __future__ import annotations

from typing import Any

from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.quality.generic import CALL, test_model_argument, user_test_call
from pds_core.quality.spec import TestNode


def connected_test_sql(runtime: Any, test: TestNode, attached: Node | None, adapter: Any) -> str:
    """The test's SQL rendered with `execute` true and the warehouse at hand, relation names filled in."""
    runtime.parser.load_macros()
    if test.test_type == "singular":
        text, extra = test.raw_code, None
    else:
        assert attached is not None
        kind = "source" if attached.resource_type == "source" else "ref"
        model = test_model_argument(kind, attached.name, test.config.get("where"))
        macro, values, _refs, _sources = user_test_call(runtime.parser.renderer, f"test_{test.test_name}", model,
                                                        dict(test.kwargs), test.path, test.namespace)
        text, extra = CALL, {"pds_test_macro": macro, "pds_test_args": values}
    sql = runtime.sql(text, None, adapter, test.path, extra)
    if not sql.strip():
        raise ProjectError(f"test {test.name} rendered no SQL, even with the warehouse connected", test.path,
                           test.line, hint="a test is a query returning the failing rows")
    return sql
