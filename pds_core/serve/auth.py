"""Who may read what: bearer tokens from environment variables, per model.

- No token configured: like a development server, `pds serve` listens on 127.0.0.1 only and needs
  none. Listening on another address without tokens is refused.
- Tokens configured: every model endpoint needs `Authorization: Bearer <token>`. A model's token
  (PDS_SERVE_TOKEN_<MODEL> by default, or the variable its YAML names) reads that model only; the
  optional PDS_SERVE_TOKEN reads every model. No token, or one the server does not know: 401. A
  token of another model: 403. Once tokens are on, a model without a token of its own and with no
  PDS_SERVE_TOKEN set cannot be read by anyone, so that is refused at start-up.
- Tokens are kept as SHA-256 digests and compared in constant time; they are accepted only in the
  Authorization header (never the query string, which access logs record), and no response or log
  line contains one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

GLOBAL_ENV = "PDS_SERVE_TOKEN"
LOOPBACK = "127.0.0.1"


class ServeConfigError(ValueError):
    """A serving setup that would expose data (or lock everyone out); raised before listening."""


def token_env(model: str) -> str:
    return "PDS_SERVE_TOKEN_" + re.sub(r"\W", "_", model).upper()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class Auth:
    everything: tuple[bytes, ...] = ()  # digests of tokens that read every model
    per_model: dict[str, tuple[bytes, ...]] = field(default_factory=dict)

    @functools.cached_property
    def enabled(self) -> bool:  # (asked on every request: computed once; the dataclass is frozen)
        return bool(self.everything) or any(self.per_model.values())

    @classmethod
    def from_env(cls, models: Iterable[str], environ: Mapping[str, str] | None = None,
                 names: Mapping[str, str] | None = None, global_env: str = GLOBAL_ENV) -> Auth:
        """Read the tokens: `names` maps a model to the variable holding its token (default
        PDS_SERVE_TOKEN_<MODEL>); a variable may hold several tokens separated by commas (rotation)."""
        env = os.environ if environ is None else environ
        names = names or {}

        def tokens(variable: str) -> tuple[bytes, ...]:
            return tuple(_digest(t.strip()) for t in env.get(variable, "").split(",") if t.strip())

        models = list(models)
        auth = cls(tokens(global_env), {m: tokens(names.get(m) or token_env(m)) for m in models})
        if auth.enabled and not auth.everything:
            locked = [m for m in models if not auth.per_model.get(m)]
            if locked:
                raise ServeConfigError(
                    f"tokens are configured, but no token can read {', '.join(locked)}: set "
                    + ", ".join(names.get(m) or token_env(m) for m in locked) + f" (or {global_env} for every model)")
        return auth

    def check(self, model: str, header: str | None) -> int:
        """200 when the Authorization header may read `model`, else 401 or 403."""
        if not self.enabled:
            return 200
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401
        digest = _digest(token.strip())
        if _known(digest, self.everything) or _known(digest, self.per_model.get(model, ())):
            return 200
        others = [d for name, ds in self.per_model.items() if name != model for d in ds]
        return 403 if _known(digest, others) else 401

    def readable(self, header: str | None, models: Iterable[str]) -> list[str]:
        return [m for m in models if self.check(m, header) == 200]


def _known(digest: bytes, digests: Iterable[bytes]) -> bool:
    found = False
    for candidate in digests:  # no early exit: the time does not tell which one matched
        found |= hmac.compare_digest(digest, candidate)
    return found


def check_host(host: str, auth: Auth) -> None:
    """Without tokens, only the loopback interface: refuse to expose unauthenticated data."""
    if auth.enabled:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ServeConfigError(f"refusing to listen on {host} without tokens: anyone who can reach it could read "
                               f"the served models; set {GLOBAL_ENV} or PDS_SERVE_TOKEN_<MODEL>, or listen on "
                               f"{LOOPBACK}")
