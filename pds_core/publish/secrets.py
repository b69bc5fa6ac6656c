"""What never leaves a publish step: secret values (rendered settings, env_var() values, URL credentials)
are masked in every text, and URLs are shown without credentials or query strings."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ENV_CALL = re.compile(r"""env_var\(\s*['"]([^'"]+)['"]""")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


class Secrets:
    """Values that must never be shown; redact() masks them in any text."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, *values: Any) -> None:
        self.values.update(str(v) for v in values if v is not None and len(str(v)) >= 4)

    def redact(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, "****")
        return text


def env_values(template: str) -> list[str]:
    """The values of the environment variables a template reads with env_var(): secrets by default."""
    return [os.environ[name] for name in ENV_CALL.findall(template) if os.environ.get(name)]


def shown_url(template: str, keep_path: bool = True) -> str:
    """A URL as written in YAML, fit to print: env_var() calls by name, no credentials, no query string."""
    def jinja(match: re.Match[str]) -> str:
        block = match.group(0)
        names = ENV_CALL.findall(block)
        return "" if block.startswith("{%") else "${" + (names[0] if names else block[2:-2].strip()) + "}"

    text = JINJA.sub(jinja, template)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<url>"
    if not parts.scheme or not parts.netloc:
        return text.split("?")[0]
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path if keep_path else "", "", ""))
