"""POST JSON with retries and exponential backoff (HTTP exports and webhook notifications).

A request that fails in a way that may pass later (no connection, a timeout, 408, 425, 429,
5xx) is retried after backoff, 2*backoff, 4*backoff... seconds (or the server's Retry-After,
when it asks for longer, up to MAX_WAIT). Any other 4xx fails at once: sending the same body
again cannot help. The error text never carries the URL or headers.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RETRYABLE = {408, 425, 429}
MAX_WAIT = 300.0
USER_AGENT = "pds-publish"


class HttpFailed(Exception):
    """A request that did not succeed after its attempts; the message is safe to show."""

    def __init__(self, message: str, attempts: int, status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status


@dataclass
class Sent:
    status: int
    attempts: int


def post_json(url: str, body: Any, headers: dict[str, str] | None = None, method: str = "POST",
              timeout: float = 30.0, retries: int = 3, backoff: float = 1.0,
              sleep: Callable[[float], None] = time.sleep,
              on_retry: Callable[[int, str, float], None] | None = None) -> Sent:
    """Send body as JSON; returns the status and how many attempts it took, or raises HttpFailed."""
    data = body if isinstance(body, bytes) else json.dumps(body, default=str, allow_nan=False).encode()
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    attempt = 0
    while True:
        attempt += 1
        wait: float | None = None
        try:
            request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https only)
                response.read()
                return Sent(response.status, attempt)
        except urllib.error.HTTPError as exc:
            status = exc.code
            reason = f"HTTP {status} {exc.reason}".strip()
            exc.close()
            if status not in RETRYABLE and status < 500:
                raise HttpFailed(f"{reason} (not retried: the request itself was refused)", attempt, status) from None
            wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            status = None
            cause = getattr(exc, "reason", exc)
            reason = f"no response ({type(cause).__name__}: {cause})" if str(cause) else type(cause).__name__
        if attempt > retries:
            raise HttpFailed(f"{reason} after {attempt} attempt{'s' if attempt != 1 else ''}", attempt, status)
        delay = min(MAX_WAIT, max(backoff * 2 ** (attempt - 1), wait or 0.0))
        if on_retry is not None:
            on_retry(attempt, reason, delay)
        sleep(delay)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: use our own backoff
        return None
