"""How pds logs in to Snowflake: the connector's keyword arguments from a target, key pairs decoded here."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from pds_adapters.errors import ProjectError
from pds_adapters.target import Target

AUTH_KEYS = ("password", "private_key", "private_key_path", "authenticator", "token")
PASSED_AS_IS = ("account", "user", "password", "authenticator", "token", "warehouse", "role", "host", "port",
                "protocol", "client_session_keep_alive")


def check_credentials(target: Target) -> None:
    """A target with no way to log in is a profile error before anything connects."""
    if not any(target.settings.get(k) for k in AUTH_KEYS):
        raise ProjectError(f"target {target.name!r} (snowflake) has no credentials", target.profile_path,
                           hint="set password, private_key_path (or private_key), or authenticator; "
                                "use env_var() for secrets")


def connect_kwargs(target: Target, database: str, schema: str) -> dict[str, Any]:
    """snowflake.connector.connect() arguments; database and schema as Snowflake stores them."""
    s = target.settings
    kwargs: dict[str, Any] = {k: s[k] for k in PASSED_AS_IS if s.get(k) is not None}
    kwargs.update(database=database, schema=schema, application="pds",
                  paramstyle="qmark")  # sqlglot renders placeholders as ?; bound on the server
    if s.get("connect_timeout"):
        kwargs["login_timeout"] = int(s["connect_timeout"])
    if s.get("query_tag"):
        kwargs["session_parameters"] = {"QUERY_TAG": str(s["query_tag"])}
    key = private_key(target)
    if key is not None:
        kwargs["private_key"] = key
    return kwargs


def private_key(target: Target) -> bytes | None:
    """The key pair's private key as PKCS#8 DER, decrypted with the passphrase when there is one."""
    from cryptography.hazmat.primitives import serialization

    s = target.settings
    if s.get("private_key_path"):
        path = Path(str(s["private_key_path"])).expanduser()
        if not path.is_file():
            raise ProjectError(f"target {target.name!r}: private_key_path {str(path)!r} is not a file",
                               target.profile_path, hint="point private_key_path at the .p8/.pem key file")
        data = path.read_bytes()
    elif s.get("private_key"):
        text = str(s["private_key"]).strip()
        data = text.encode() if text.startswith("-----BEGIN") else base64.b64decode(text)
    else:
        return None
    passphrase = s.get("private_key_passphrase")
    password = str(passphrase).encode() if passphrase else None
    try:
        load = serialization.load_pem_private_key if data.lstrip().startswith(b"-----BEGIN") \
            else serialization.load_der_private_key
        key = load(data, password=password)
    except (ValueError, TypeError) as exc:
        raise ProjectError(f"target {target.name!r}: cannot read the private key ({type(exc).__name__})",
                           target.profile_path,
                           hint="check the key file and private_key_passphrase (needed for an encrypted key)") from None
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
