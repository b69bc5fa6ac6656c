"""Publish: exports of models' rows to files, other targets' tables and HTTP endpoints, gated by their
checks; notifications of failed and warned runs to webhooks.

exports.py (definitions) -> gating.py (which checks an export waits for) -> planner.py (exports as nodes
of `pds build`'s plan, or of `pds publish`'s, gated by recorded results) -> runner.py / destinations.py
(writing, atomically; targets.py: the other targets written to; secrets.py: what is never shown)
-> notify.py (webhooks after the run).
"""
