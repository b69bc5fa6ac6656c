"""Publish: exports of models' rows to files, other targets' tables and HTTP endpoints, gated by their
checks; notifications of failed and warned runs to webhooks.

exports.py (definitions) -> gating.py (which checks an export waits for) -> runner.py / destinations.py
(writing, atomically) -> stage.py (in `pds build`'s DAG) and task.py (`pds publish`) -> notify.py.
"""
