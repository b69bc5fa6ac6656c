"""How pds reaches BigQuery: the target's checks, its credentials and one client per thread."""

from __future__ import annotations

import json
from typing import Any

from pds_adapters.errors import ConnectionFailed, ProjectError
from pds_adapters.target import Target

SCOPES = ("https://www.googleapis.com/auth/bigquery", "https://www.googleapis.com/auth/cloud-platform")
METHODS = ("oauth", "service-account", "service-account-json", "anonymous")
PROBE_DEADLINE = 10.0  # seconds to keep retrying the first call before calling the warehouse unreachable


def method_of(target: Target) -> str:
    s = target.settings
    return str(s.get("method") or ("anonymous" if s.get("api_endpoint") else "oauth"))


def check_target(target: Target) -> None:
    """Profile mistakes found before anything connects, each with a hint."""
    s, method = target.settings, method_of(target)
    problems = [
        (not (s.get("dataset") or s.get("schema")), "is missing dataset", "set 'dataset:' (the BigQuery schema)"),
        (method not in METHODS, f"has unknown method {method!r}", f"use one of {', '.join(METHODS)}"),
        (str(s.get("priority") or "interactive").lower() not in ("interactive", "batch"),
         f"has unknown priority {s.get('priority')!r}", "use interactive or batch"),
        (method.startswith("service-account") and not (s.get("keyfile") or s.get("keyfile_json")),
         "uses a service account but has no keyfile or keyfile_json",
         "set keyfile: /path/to/key.json, or keyfile_json: \"{{ env_var('BQ_KEYFILE_JSON') }}\""),
    ]
    for failed, what, hint in problems:
        if failed:
            raise ProjectError(f"target {target.name!r} (bigquery) {what}", target.profile_path, hint=hint)


def credentials(target: Target, where: str) -> Any:
    """The google-auth credentials the target's method names (where: the target, for messages)."""
    s, method = target.settings, method_of(target)
    if method == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    if method == "oauth":
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError

        try:
            return google.auth.default(scopes=list(SCOPES))[0]
        except DefaultCredentialsError:
            raise ConnectionFailed(
                f"cannot connect to target {target.name!r} ({where}): no Application Default Credentials found",
                target.profile_path, hint="run `gcloud auth application-default login`, or set method: "
                                          "service-account with keyfile or keyfile_json") from None
    from google.oauth2 import service_account

    if s.get("keyfile"):
        return service_account.Credentials.from_service_account_file(str(s["keyfile"]), scopes=SCOPES)
    try:
        info = keyfile_info(s["keyfile_json"])
    except ValueError:
        raise ProjectError(f"target {target.name!r}: keyfile_json is not valid JSON", target.profile_path,
                           hint="paste the service account key file's JSON, e.g. via env_var()") from None
    return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)


def keyfile_info(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def make_client(target: Target, project: str, job_timeout: float | None, where: str) -> Any:
    """A client with the target's job defaults; one cheap API call, so bad credentials or an unreachable
    endpoint fail here, before any work."""
    from google.api_core.client_options import ClientOptions
    from google.cloud import bigquery

    s = target.settings
    job_config = bigquery.QueryJobConfig(priority=str(s.get("priority") or "interactive").upper())
    if s.get("maximum_bytes_billed"):
        job_config.maximum_bytes_billed = int(s["maximum_bytes_billed"])
    if job_timeout:
        job_config.job_timeout_ms = int(job_timeout * 1000)
    options = ClientOptions(api_endpoint=str(s["api_endpoint"])) if s.get("api_endpoint") else None
    client = bigquery.Client(project=project, credentials=credentials(target, where), location=s.get("location"),
                             client_options=options, default_query_job_config=job_config)
    list(client.list_datasets(max_results=1, retry=bigquery.DEFAULT_RETRY.with_deadline(PROBE_DEADLINE),
                              timeout=PROBE_DEADLINE))
    return client


def redact_keyfile(target: Target, text: str) -> str:
    """Also hide the private key inside keyfile_json, which may reach a message on its own."""
    info = target.settings.get("keyfile_json")
    try:
        info = keyfile_info(info) if info else None
    except (ValueError, TypeError):
        info = None
    for key in ("private_key", "private_key_id"):
        if info and info.get(key):
            text = text.replace(str(info[key]), "****")
    return text
