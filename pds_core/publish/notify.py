"""Notifications: `on_failure` / `on_warn` in pds_project.yml POST a short run summary to webhooks.

    on_failure: "{{ env_var('SLACK_WEBHOOK_URL') }}"          # a URL,
    on_warn:                                                   # or a list of URLs / mappings
      - url: "{{ env_var('ALERTS_URL') }}"
        headers: {Authorization: "Bearer {{ env_var('ALERTS_TOKEN') }}"}

A URL that renders empty (env_var('X', '') with X unset) sends nothing: the same project
notifies from CI and stays quiet on a laptop. on_failure fires when a run fails (a node errored or an error-severity check failed); on_warn
when it succeeds with warnings. The payload is Slack-compatible ({"text", "blocks"}) with a
`pds` object for machines: run id, failed nodes, failed checks, metric values out of bounds
and skipped exports. Messages are cut short and pass through the target's redaction; the
webhook URL and headers are never logged (only their host, or the env var they come from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pds_core.config import PROJECT_FILE, check_keys
from pds_core.errors import ProjectError
from pds_core.loader import Project
from pds_core.publish.secrets import Secrets, env_values, shown_url
from pds_core.render import Renderer
from pds_core.results import ERROR, FAIL, SKIPPED, SUCCESS, WARN, RunResult

EVENTS = ("on_failure", "on_warn")
HOOK_KEYS: dict[str, tuple[type, ...]] = {"url": (str,), "headers": (dict,), "timeout": (int, float),
                                          "retries": (int,)}
MESSAGE_CHARS = 300
LISTED = 10  # items per list in the Slack text (the pds object lists them all)


@dataclass
class Webhook:
    event: str  # on_failure | on_warn
    url: str  # as written: may call env_var()
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    retries: int = 2
    line: int | None = None

    def shown(self) -> str:
        return shown_url(self.url, keep_path=False)


def webhooks(project: Project) -> list[Webhook]:
    """The project's notification hooks, checked; a bad one is a ProjectError at its line."""
    raw = project.config.raw
    line_of = getattr(raw, "line_of", lambda _k: None)
    hooks: list[Webhook] = []
    for event in EVENTS:
        value = raw.get(event)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            line = (items.line_of(i) if hasattr(items, "line_of") else None) or line_of(event)
            if isinstance(item, str):
                item = {"url": item}
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                raise ProjectError(f"each {event} entry must be a webhook URL or a mapping with url:", PROJECT_FILE,
                                   line, hint=f"e.g. {event}: \"{{{{ env_var('SLACK_WEBHOOK_URL') }}}}\"")
            check_keys(item, HOOK_KEYS, PROJECT_FILE, f"{event} webhook")
            url = item["url"]
            if "{{" not in url and not url.startswith(("http://", "https://")):
                raise ProjectError(f"{event} webhook URL must start with http:// or https://", PROJECT_FILE, line)
            hooks.append(Webhook(event=event, url=url, headers={str(k): str(v) for k, v in
                                                                 (item.get("headers") or {}).items()},
                                 timeout=float(item.get("timeout") or 10.0),
                                 retries=int(item.get("retries") if item.get("retries") is not None else 2),
                                 line=line))
    return hooks


def event_for(run: RunResult) -> str | None:
    if not run.success:
        return "on_failure"
    return "on_warn" if any(r.status == WARN for r in run.results) else None


def payload(project: Project, run: RunResult, redact: Any) -> dict[str, Any]:
    """The Slack-compatible summary of a run, with a `pds` object for machines."""
    def short(text: str) -> str:
        text = redact(str(text or "")).strip()
        return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"

    names = {r.unique_id: r.name for r in run.results}
    failed_nodes, failed_checks, warned_checks, bounds, skipped_exports = [], [], [], [], []
    for r in run.results:
        about = names.get(r.extra.get("attached_to") or "", (r.extra.get("attached_to") or "").split(".")[-1])
        if r.resource_type in ("test", "metric") and r.status in (FAIL, ERROR, WARN):
            kind = "metric" if r.resource_type == "metric" else "check" if r.extra.get("test_type") == "python" \
                else "test"
            entry = {"name": r.name, "type": kind, "node": about,
                     "severity": r.extra.get("severity") or ("error" if r.status == FAIL else "warn"),
                     "status": r.status, "failures": r.failures, "message": short(r.message)}
            (warned_checks if r.status == WARN else failed_checks).append(entry)
        elif r.status == ERROR:
            failed_nodes.append({"name": r.name, "unique_id": r.unique_id, "resource_type": r.resource_type,
                                 "status": r.status, "message": short(r.message)})
        elif r.resource_type == "export" and r.status == SKIPPED:
            skipped_exports.append({"name": r.name, "model": about, "reason": short(r.message)})
        for bound in r.extra.get("bounds", []) if r.resource_type == "metric" else []:
            if bound.get("status") != "pass":
                bounds.append({"metric": r.name, "model": r.extra.get("model"), "group": bound.get("group") or "",
                               "value": bound.get("observed"), "bound": bound.get("bound"),
                               "limit": bound.get("limit"), "severity": bound.get("severity"),
                               "status": bound.get("status"), "message": short(bound.get("message") or "")})
    counts = run.counts()
    verdict = "failed" if not run.success else "finished with warnings"
    words = {SUCCESS: "ok", WARN: "warn", ERROR: "error", FAIL: "failed", SKIPPED: "skipped"}
    summary = ", ".join(f"{counts[s]} {words.get(s, s)}" for s in [*words, *sorted(set(counts) - set(words))]
                        if counts.get(s))
    text = (f"pds {run.command} {verdict} on target {run.target} (project {project.name}, run "
            f"{run.invocation_id[:8]}): {summary}")
    lines = [f"• {n['resource_type']} *{n['name']}*: {n['message']}" for n in failed_nodes[:LISTED]]
    lines += [f"• {c['type']} *{c['name']}* on {c['node']} ({c['severity']}): {c['message']}"
              for c in (failed_checks + warned_checks)[:LISTED]]
    lines += [f"• metric *{b['metric']}* = {b['value']}: {b['message']}" for b in bounds[:LISTED]]
    lines += [f"• export *{e['name']}* {e['reason']}" for e in skipped_exports[:LISTED]]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}})
    return {"text": text, "blocks": blocks, "pds": {
        "run_id": run.invocation_id, "project": project.name, "command": run.command, "target": run.target,
        "status": "error" if not run.success else "warn", "started_at": run.started_at,
        "elapsed_seconds": round(run.elapsed, 3), "counts": counts, "failed_nodes": failed_nodes,
        "failed_checks": failed_checks, "warned_checks": warned_checks, "metrics_out_of_bounds": bounds,
        "skipped_exports": skipped_exports}}


def notify(project: Project, run: RunResult, reporter: Any, redact: Any) -> None:
    """Send the run's summary to its event's webhooks; a webhook that fails is reported, never fatal."""
    from pds_core.publish.http import HttpFailed, post_json  # urllib and ssl: only when a run notifies

    event = event_for(run)
    hooks = [h for h in webhooks(project) if h.event == event] if event else []
    if not hooks:
        return
    body = payload(project, run, redact)
    renderer = Renderer(project.name, project.vars, {"name": project.target.name, "type": project.target.type})
    for hook in hooks:
        secrets = Secrets()
        secrets.add(*env_values(hook.url), *[v for h in hook.headers.values() for v in env_values(h)])
        shown = hook.shown()
        try:
            url = renderer.render_string(hook.url, PROJECT_FILE) if "{{" in hook.url else hook.url
            headers = {k: renderer.render_string(v, PROJECT_FILE) if "{{" in v else v for k, v in hook.headers.items()}
            secrets.add(url, *headers.values())
            if not url.strip():  # e.g. env_var('SLACK_WEBHOOK_URL', '') where the variable is unset
                continue
            sent = post_json(url, body, headers, timeout=hook.timeout, retries=hook.retries, backoff=1.0)
        except (HttpFailed, ProjectError, ValueError) as exc:
            message = secrets.redact(str(exc).splitlines()[0])
            reporter.notice("notification_failed", f"{event} notification to {shown} was not delivered: {message}",
                            hook=event, destination=shown, error=message)
            continue
        reporter.notice("notification_sent", f"Sent the {event} notification to {shown}", hook=event,
                        destination=shown, status=sent.status, attempts=sent.attempts)
