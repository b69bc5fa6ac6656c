"""`serve:` on models in schema YAML: which models `pds serve` answers for, as plan nodes.

    models:
      - name: churn_scores
        serve:
          key: customer_id            # a column or a list; what GET /models/<m>/rows/<key> looks up
          token_env: CHURN_API_TOKEN  # default PDS_SERVE_TOKEN_CHURN_SCORES (pds_core/serve/auth.py)
      - name: churn_model             # a Python model
        serve: score                  # POST /score/churn_model runs its model() on posted rows

`serve: true` serves the rows without a key (pages only); a mapping may add `score: true` (a Python
model: rows and scoring) or `rows: false` (scoring only). Each served model gets a "serve" node
after its gating checks, which publishes a snapshot (publish/serve_runner.py): a build that fails
its checks never changes what clients get.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pds_core.config import check_keys
from pds_core.errors import ProjectError, ProjectErrors
from pds_core.loader import Project

if TYPE_CHECKING:
    from pds_core.nodes import Manifest

SERVE_KEYS: dict[str, tuple[type, ...]] = {"key": (str, list), "token_env": (str,), "score": (bool,),
                                           "rows": (bool,)}
EXAMPLE = "serve:\n  key: customer_id\n  token_env: CHURN_API_TOKEN"
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class ServeNode:
    """One served model: its rows published as a snapshot, and/or its model() answering POST /score."""

    unique_id: str  # serve.<project>.<model>
    name: str  # the model's name (what the URL names)
    node: str
    model: str
    path: str
    line: int | None = None
    key: list[str] = field(default_factory=list)
    token_env: str | None = None
    rows: bool = True
    score: bool = False
    columns: list[str] = field(default_factory=list)  # all of them
    where: str | None = None
    targets: list[str] = field(default_factory=list)
    resource_type: str = "serve"
    kind: str = "serve"

    def runs_on(self, target: str) -> bool:
        return True

    def to_manifest(self) -> dict[str, Any]:
        return asdict(self)


def parse_served(project: Project, manifest: Manifest) -> dict[str, ServeNode]:
    found: dict[str, ServeNode] = {}
    errors: list[ProjectError] = []
    schema = manifest.schema
    if schema is None:
        return found
    for props in [*schema.models.values(), *schema.seeds.values()]:
        if "serve" not in props.entry:
            continue
        uid = manifest.by_name.get(props.entry["name"])
        node = manifest.nodes.get(uid) if uid else None
        line = (props.entry.line_of("serve") if hasattr(props.entry, "line_of") else None) or props.line
        if node is None:
            continue
        try:
            served = _serve(project, props.entry["serve"], node, props.path, line)
            if served is not None:
                found[served.unique_id] = served
        except ProjectError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ProjectErrors(errors)
    return found


def _serve(project: Project, value: Any, node: Any, path: str, line: int | None) -> ServeNode | None:
    where = f"serve: of {node.name}"
    if value is False or value is None:
        return None
    if value is True:
        settings: dict[str, Any] = {}
    elif value == "score":
        settings = {"score": True, "rows": False}
    elif isinstance(value, dict):
        check_keys(value, SERVE_KEYS, path, where)
        settings = dict(value)
        line = getattr(value, "line", None) or line
    else:
        raise ProjectError(f"{where} must be true, score, or a mapping (key:, token_env:, score:)", path, line,
                           hint=EXAMPLE)
    if node.materialized == "ephemeral":
        raise ProjectError(f"model {node.name!r} is ephemeral: it has no rows to serve", path, line,
                           hint="materialize it as a table or view to serve it")
    if not ENV_NAME.fullmatch(node.name):
        raise ProjectError(f"{where}: a served model's name must be letters, digits and _ (it is part of the URL)",
                           path, line)
    key = settings.get("key") or []
    keys = [key] if isinstance(key, str) else [str(k) for k in key]
    env = settings.get("token_env")
    if env is not None and not ENV_NAME.fullmatch(env):
        raise ProjectError(f"token_env of {where} must name an environment variable, got {env!r}", path, line,
                           hint="the variable holds the token; never put a token itself in YAML")
    score = bool(settings.get("score", False))
    rows = bool(settings.get("rows", True))
    if score and node.language != "python":
        raise ProjectError(f"{where}: only a Python model can score posted rows ({node.name} is "
                           f"{'a seed' if node.resource_type == 'seed' else 'a SQL model'})", path, line,
                           hint="POST /score runs the model's own model(ctx); serve the rows of a SQL model instead")
    if not rows and keys:
        raise ProjectError(f"{where}: key: applies to served rows, and rows: is false", path, line)
    if not rows and not score:
        raise ProjectError(f"{where} serves nothing (rows: false and no score: true)", path, line, hint=EXAMPLE)
    return ServeNode(f"serve.{project.name}.{node.name}", node.name, node.unique_id, node.name, path, line, keys,
                     env, rows, score)
