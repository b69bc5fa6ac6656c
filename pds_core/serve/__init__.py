"""`pds serve`: an HTTP API over the last PUBLISHED snapshot of each served model, and online scoring.

store.py    snapshots on disk and the atomic switch of the CURRENT pointer (the build publishes)
query.py    a loaded snapshot: key lookups, filtered pages, cursors (columns.py: the column indexes;
            rowmaker.py: the row builder generated per snapshot)
served.py   the snapshots being served and the switch-over to new ones while requests run
auth.py     per-model bearer tokens from environment variables; loopback only without them
scoring.py  posted rows checked against the parents' columns for POST /score/{model}
formats.py  JSON / CSV / Arrow IPC bodies
reads.py    the read endpoints as plain functions, and the ASGI fast path answering them first
app.py      the FastAPI app (docs, health, models, scoring); server.py runs it under uvicorn

The heavy imports (FastAPI, uvicorn) happen in app.py and server.py only, so the build can publish
snapshots (store.py) without the serve extra installed.
"""
