"""`pds serve`: the project's served models (`serve:` in schema YAML) over HTTP.

The command parses the project (no warehouse connection: what it serves are the snapshots the builds
published under target/serve/), reads the tokens from the environment, and runs the app under
uvicorn until Ctrl-C. A running server switches to each snapshot a later build publishes; a build
whose checks fail publishes nothing, so clients keep getting the last good rows.

Online scoring runs the model's own model(ctx) from the project's code as it was when the server
started (restart it to serve new code), on the posted rows loaded with the parents' column types the
last publishing build recorded (target/serve/<model>/scoring.json).
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pds_core.errors import ProjectError
from pds_core.loader import Project
from pds_core.publish.serve_runner import SERVE_DIR, scoring_path
from pds_core.serve.scoring import ScoringModel

EXTRA_HINT = "pds serve needs FastAPI and uvicorn: pip install 'pds[serve]'"


class ScoringModels(Mapping[str, ScoringModel]):
    """The models answering POST /score, each with its parents' columns read from its scoring.json when
    asked (again when a build rewrote it): a model published after the server started can score too."""

    def __init__(self, project: Project, names: list[str]) -> None:
        self.project = project
        self.names = sorted(names)
        self._cache: dict[str, tuple[float, ScoringModel]] = {}

    def __getitem__(self, name: str) -> ScoringModel:
        import pyarrow as pa

        if name not in self.names:
            raise KeyError(name)
        path = scoring_path(self.project.target_dir, name)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise KeyError(name) from None
        cached = self._cache.get(name)
        if cached is None or cached[0] != mtime:
            data = json.loads(path.read_text(encoding="utf-8"))
            parents = {parent: {f.name: f.type for f in pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))}
                       for parent, text in data["arrow_schemas"].items()}
            cached = self._cache[name] = (mtime, ScoringModel(name, parents))
        return cached[1]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


class ProjectScorer:
    """score(model, parent frames) -> the model's rows: its model(ctx) run on the posted rows in place of its
    parents, through the machinery unit tests run Python models with (quality/unit_run.py)."""

    def __init__(self, project: Project, manifest: Any) -> None:
        self.project = project
        self.manifest = manifest

    def __call__(self, model: str, frames: dict[str, Any]) -> Any:
        from pds_core.quality.unit_run import run_python_on

        manifest = self.manifest
        node = manifest.nodes[manifest.by_name[model]]
        by_name = {manifest.all_nodes()[uid].name: uid for uid in node.depends_on}
        return run_python_on(node, manifest, {by_name[name]: frame for name, frame in frames.items()},
                             self.project.vars)


def build_app(project: Project, select: list[str] | None = None, poll: float = 0.5) -> tuple[Any, Any]:
    """The app over the project's served models (those named in `select`, else all), and its Auth."""
    try:
        from pds_core.serve.app import create_app
    except ImportError as exc:
        raise ProjectError(f"{EXTRA_HINT.split(':')[0]} ({exc})", hint="pip install 'pds[serve]'") from None
    from pds_core.errors import did_you_mean
    from pds_core.plan import parse
    from pds_core.serve.auth import Auth, ServeConfigError
    from pds_core.serve.served import Served
    from pds_core.serve.store import SnapshotStore

    manifest = parse(project, use_cache=True).manifest
    served = {s.model: s for s in manifest.served.values()}
    if not served:
        raise ProjectError("no model of the project is marked for serving",
                           hint="add serve: {key: <column>} (or serve: score for a Python model) to a model in "
                                "schema YAML, run pds build, then pds serve")
    for name in select or []:
        if name not in served:
            raise ProjectError(f"{name!r} is not a served model", hint=did_you_mean(name, served)
                               or f"served models: {', '.join(sorted(served))}")
    chosen = [served[n] for n in sorted(set(select or served))]
    rows = [s.model for s in chosen if s.rows]
    scoring = [s.model for s in chosen if s.score]
    try:
        auth = Auth.from_env(sorted({s.model for s in chosen}), names={s.model: s.token_env for s in chosen
                                                                       if s.token_env})
    except ServeConfigError as exc:
        raise ProjectError(str(exc), hint="see docs/serve.md#tokens") from None
    store = SnapshotStore(project.target_dir / SERVE_DIR)
    app = create_app(Served(store, rows, poll), auth, ScoringModels(project, scoring),
                     ProjectScorer(project, manifest) if scoring else None, title=f"pds serve: {project.name}")
    return app, auth


def serve(project: Project, host: str = "127.0.0.1", port: int = 8080, select: list[str] | None = None,
          access_log: bool = True, announce: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C (uvicorn stops on SIGINT and SIGTERM, finishing the requests in flight)."""
    from pds_core.serve.auth import ServeConfigError, check_host

    app, auth = build_app(project, select)
    try:
        check_host(host, auth)
    except ServeConfigError as exc:
        raise ProjectError(str(exc), hint="set tokens (docs/serve.md#tokens) or use --host 127.0.0.1") from None
    import uvicorn

    from pds_core.serve.server import config

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ProjectError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                           hint="choose another port with --port (0 picks a free one)") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    announce(f"Serving {project.name} at http://{shown}:{bound}/  (API docs at /docs; "
             f"{'tokens required' if auth.enabled else 'no tokens: loopback only'}; Ctrl-C to stop)")
    try:
        uvicorn.Server(config(app, host, bound, access_log)).run(sockets=[sock])
    finally:
        sock.close()
