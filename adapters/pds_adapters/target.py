"""A target: which warehouse to build in and how to reach it (plain settings, no behaviour).

pds_core.profiles reads profiles.yml and builds a Target; the adapters take it as given. The names of
the secret settings live here too, because the adapters redact them from every message they make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET_KEYS = ("password", "private_key", "private_key_passphrase", "token", "keyfile_json", "secret",
               "client_secret", "passphrase", "api_key", "access_token")


@dataclass
class Target:
    """One output of a profile: the adapter type and its connection settings."""

    name: str
    type: str
    settings: dict[str, Any]
    profile_path: str | None = None
    profile_line: int | None = None  # the target's line in profiles.yml, for errors found when connecting
    threads: int = 4
    secrets: list[str] = field(default_factory=list)  # values to mask wherever they might appear

    @property
    def schema(self) -> str:
        return str(self.settings.get("schema") or self.settings.get("dataset") or "main")

    def redacted(self) -> dict[str, Any]:
        """Settings safe to print or store: secret values replaced."""
        return redact_mapping(self.settings)

    def redact(self, text: str) -> str:
        """The text with every secret value of this target replaced by ****."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "****")
        return text


def is_secret_key(key: str) -> bool:
    key = key.lower()
    return any(s in key for s in SECRET_KEYS)


def redact_mapping(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of the mapping with the values of secret-looking keys, at any depth, replaced."""
    return {k: "****" if is_secret_key(str(k)) else redact_mapping(v) if isinstance(v, dict) else v
            for k, v in data.items()}
