"""The HTTP API of `pds serve` (FastAPI): rows by key, filtered pages, online scoring.

    GET  /health                          liveness (and, without tokens, what is served)
    GET  /models                          the models this caller may read
    GET  /models/{model}                  its key, columns, row count, snapshot
    GET  /models/{model}/rows             a page: ?col=v&col__gt=v&limit=100&cursor=...&columns=a,b&format=
    GET  /models/{model}/rows/{key}       one row by key (a composite key's values joined by ',')
    POST /score/{model}                   the model's predictions for posted parent rows
    GET  /docs, /openapi.json             the OpenAPI page (Swagger UI) and schema

Each model response names the snapshot it was answered from (X-PDS-Snapshot). create_app returns
the FastAPI app wrapped in reads.FastReads, which answers the two read endpoints straight from the
ASGI scope (FastAPI's per-request machinery cost twice the lookup itself) and passes everything else
on; `.api` is the FastAPI app. Scoring runs user code, so it goes to the thread pool.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pds_core.serve import reads
from pds_core.serve.auth import Auth
from pds_core.serve.columns import QueryError
from pds_core.serve.formats import MEDIA, choose, encode, json_bytes
from pds_core.serve.query import DEFAULT_LIMIT, MAX_LIMIT, Loaded
from pds_core.serve.reads import AUTH_HEADERS, FastReads, read_row, read_rows
from pds_core.serve.scoring import InputError, Scorer, ScoringModel, parse_inputs
from pds_core.serve.served import Served

log = logging.getLogger("pds.serve")


def _response(answer: reads.Answer) -> Response:
    return Response(answer.body, status_code=answer.status, media_type=answer.media, headers=answer.header_dict())


def _error(status: int, detail: Any, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    return _response(reads.error(status, detail, headers or ()))


def create_app(served: Served, auth: Auth | None = None, scoring: Mapping[str, ScoringModel] | None = None,
               scorer: Scorer | None = None, watch: bool = True, title: str = "pds serve",
               telemetry: bool = False) -> FastReads:
    """The app over `served` snapshots. With watch=True the app starts and stops the snapshot watcher
    with itself (lifespan); `scoring` lists the models answering POST /score/{model} through `scorer`."""
    auth = auth or Auth()
    scoring = scoring if scoring is not None else {}  # a Mapping: `pds serve` reads each model's lazily
    if len(scoring) and scorer is None:
        raise ValueError("models are marked for scoring but no scorer was given")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if watch:
            served.start()
        try:
            yield
        finally:
            if watch:
                served.stop()

    options: dict[str, Any] = {}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:  # FastAPI's native OpenTelemetry
        # checks its providers on every request; off unless asked for (it cost ~10% of a key lookup)
        options["telemetry"] = {"tracing": telemetry, "metrics": telemetry, "logs": telemetry}
    app = FastAPI(title=title, lifespan=lifespan, **options,
                  description="Rows of the models pds published after their checks passed, and online scoring.")

    def model_or_error(model: str, request: Request) -> Loaded | Response:
        found = reads.model_or_error(served, auth, model, request.headers.get("authorization"))
        return _response(found) if isinstance(found, reads.Answer) else found

    @app.get("/health", summary="Liveness, and what is served when no tokens are configured")
    async def health() -> Response:
        body: dict[str, Any] = {"status": "ok", "models": len(served.names())}
        if not auth.enabled:
            body["snapshots"] = {name: served.get(name).info.id for name in served.names()}  # type: ignore[union-attr]
        return Response(json_bytes(body), media_type=MEDIA["json"])

    @app.get("/models", summary="The served models this caller may read")
    async def models(request: Request) -> Response:
        names = auth.readable(request.headers.get("authorization"), served.names())
        if auth.enabled and not names:
            return _error(401, reads.NEEDS_TOKEN, AUTH_HEADERS)
        body = {"models": [served.get(n).describe() for n in names if served.get(n) is not None]}  # type: ignore[union-attr]
        return Response(json_bytes(body), media_type=MEDIA["json"])

    @app.get("/models/{model}", summary="A served model: key, columns, rows, snapshot")
    async def describe(model: str, request: Request) -> Response:
        loaded = model_or_error(model, request)
        if isinstance(loaded, Response):
            return loaded
        return Response(json_bytes(loaded.describe()), media_type=MEDIA["json"],
                        headers={"X-PDS-Snapshot": loaded.info.id})

    @app.get("/models/{model}/rows", summary="A page of rows, filtered on columns", openapi_extra=PAGE_DOC,
             description="Filters: `col=value`, `col__ne|gt|gte|lt|lte=value`, `col__in=a,b`, `col__isnull=true`. "
                         "Rows come in key order; pass `next_cursor` back as `cursor` for the next page.")
    async def rows(request: Request) -> Response:  # FastReads answers first; this documents the endpoint
        return _response(read_rows(served, auth, request.path_params["model"], request.query_params.multi_items(),
                                   request.headers.get("authorization"), request.headers.get("accept"),
                                   request.url.path, request.url.query))

    @app.get("/models/{model}/rows/{key}", summary="One row by its key", openapi_extra=ROW_DOC)
    async def row(request: Request) -> Response:
        return _response(read_row(served, auth, request.path_params["model"], request.path_params["key"],
                                  request.query_params.multi_items(), request.headers.get("authorization"),
                                  request.headers.get("accept")))

    @app.post("/score/{model}", summary="Predictions of a Python model for posted parent rows",
              description='Body: {"inputs": {"<parent>": [rows]}} or {"rows": [...]} for a model with one parent.')
    async def score(request: Request, model: str,
                    format: str | None = Query(None, description="json | csv | arrow (else the Accept header)"),
                    ) -> Response:
        status = auth.check(model, request.headers.get("authorization"))
        if status != 200:
            return _error(status, reads.NEEDS_TOKEN if status == 401
                          else f"this token may not read {model}", AUTH_HEADERS if status == 401 else None)
        target = scoring.get(model)
        if target is None:
            why = "has not been published yet (pds build publishes it)" if model in scoring else \
                "does not answer scoring requests"
            return _error(404, f"{model} {why}; models: {', '.join(sorted(scoring)) or '(none)'}")
        try:
            fmt = choose(format, request.headers.get("accept"))
        except QueryError as exc:
            return _error(exc.status, str(exc))
        try:
            frames = parse_inputs(target, orjson.loads(await request.body()))
        except orjson.JSONDecodeError as exc:
            return _error(422, [f"the body is not valid JSON: {exc.msg} at position {exc.pos}"])
        except InputError as exc:
            return _error(422, exc.problems)
        try:
            result = await run_in_threadpool(scorer, model, frames)  # type: ignore[arg-type]
        except Exception as exc:  # the model's own code failed on these rows
            log.exception("pds serve: model() of %s failed while scoring", model)
            message = str(exc).splitlines()[0][:200] if str(exc) else ""
            return _error(500, f"model() of {model} failed: {type(exc).__name__}: {message}".rstrip(": "))
        import pyarrow as pa

        table = pa.Table.from_pandas(result, preserve_index=False)
        return Response(encode(table, fmt, {"model": model}), media_type=MEDIA[fmt])

    # each request tries the routes in order: the docs routes FastAPI adds first go last
    app.router.routes.sort(key=lambda route: getattr(route, "path", "") in DOC_PATHS)
    return FastReads(app, served, auth)


DOC_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
FORMAT_PARAM = {"name": "format", "in": "query", "required": False, "description": "json | csv | arrow (else the "
                "Accept header: application/json, text/csv, application/vnd.apache.arrow.stream)",
                "schema": {"type": "string", "enum": ["json", "csv", "arrow"]}}
COLUMNS_PARAM = {"name": "columns", "in": "query", "required": False, "description": "only these columns, a,b,c",
                 "schema": {"type": "string"}}
MODEL_PARAM = {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}
# The read endpoints take the Request and read their parameters themselves: FastAPI's per-request
# parameter validation cost more than the lookup. The parameters are documented here instead.
PAGE_DOC = {"parameters": [
    MODEL_PARAM,
    {"name": "limit", "in": "query", "required": False, "description": "rows per page",
     "schema": {"type": "integer", "default": DEFAULT_LIMIT, "minimum": 1, "maximum": MAX_LIMIT}},
    {"name": "cursor", "in": "query", "required": False, "description": "next_cursor of the previous page",
     "schema": {"type": "string"}},
    COLUMNS_PARAM, FORMAT_PARAM]}
ROW_DOC = {"parameters": [MODEL_PARAM, {"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
                                        "description": "the key; a composite key's values joined by ','"},
                          COLUMNS_PARAM, FORMAT_PARAM]}

