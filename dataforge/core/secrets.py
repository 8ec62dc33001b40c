"""Secrets: API keys and credentials that a run uses but never writes down.

A `Secret` is a pydantic `SecretStr` whose `repr`, `str` and JSON form are `<redacted>`; spec fields
typed `Secret` validate from a plain string. Everything the engine persists or prints (manifests,
lineage, cards, cache keys, ledgers, log and error lines) goes through `redact` / `redact_text`,
which also catch credentials that arrive as plain strings: values under credential-named keys
(`api_key`, `token`, `password`, an `Authorization` header, ...), `user:pass@` in URLs, `?api_key=`
query strings and bearer tokens. Ids are computed after redaction, so changing a key changes no id.

Prefer keys from the environment (`OPENAI_API_KEY`, or `api_key_env="NAME"` on a backend) over keys
written into a spec file.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from pydantic import SecretStr
from pydantic_core import SchemaSerializer, core_schema

REDACTED = "<redacted>"

# Keys whose values are credentials, compared after lower-casing and turning '-' into '_'.
# Deliberately exact names: tokenizer settings such as `eos_token` or `max_tokens` are not secrets.
SECRET_KEYS = frozenset({
    "api_key", "apikey", "api_token", "token", "access_token", "auth_token", "bearer_token", "refresh_token",
    "id_token", "session_token", "hf_token", "secret", "client_secret", "secret_key", "secret_access_key",
    "aws_secret_access_key", "private_key", "password", "passwd", "authorization", "proxy_authorization",
    "x_api_key", "cookie", "set_cookie", "credentials",
})
SECRET_SUFFIXES = ("_api_key", "_password", "_secret")

_KNOWN: set[str] = set()  # secret values seen by this process, scrubbed from any text we print
_KNOWN_LOCK = threading.Lock()
_MIN_KNOWN = 6  # shorter values would scrub ordinary words out of messages


def is_secret_key(name: object) -> bool:
    """Whether a dict key or field name holds a credential (`api_key`, `Authorization`, `x-api-key`...)."""
    if not isinstance(name, str):
        return False
    n = name.strip().lower().replace("-", "_")
    return n in SECRET_KEYS or n.endswith(SECRET_SUFFIXES)


def remember(value: str) -> None:
    """Scrub `value` from every text this process redacts (error lines that echo a server reply)."""
    if isinstance(value, str) and len(value) >= _MIN_KNOWN:
        with _KNOWN_LOCK:
            _KNOWN.add(value)


def _serialize(value: SecretStr, info: core_schema.SerializationInfo) -> Any:
    return REDACTED if info.mode == "json" else value


class Secret(SecretStr):
    """A credential: validates from a string, shows and serializes as `<redacted>`.

    `get_secret_value()` is the only way to the value; call it where the value is sent (an HTTP
    header), never where it is stored. A Secret pickles with its value (executors need it) and is
    remembered by every process that holds one, so error lines there scrub it too.
    Example:
        class MySpec(BaseModel):
            token: Secret | None = None
    """

    def __init__(self, secret_value: str) -> None:
        super().__init__(secret_value)
        remember(secret_value)

    def __reduce__(self):
        return (type(self), (self.get_secret_value(),))

    def _display(self) -> str:
        return REDACTED

    @classmethod
    def __get_pydantic_core_schema__(cls, source: type[Any], handler) -> core_schema.CoreSchema:
        schema = super().__get_pydantic_core_schema__(source, handler)
        ser = core_schema.plain_serializer_function_ser_schema(_serialize, info_arg=True,
                                                               when_used="unless-none")
        for branch in ("lax_schema", "strict_schema"):
            schema[branch]["serialization"] = ser  # type: ignore[index]
        return schema


# A Secret inside an untyped field (`options: dict[str, Any]`) serializes through this.
Secret.__pydantic_serializer__ = SchemaSerializer(core_schema.any_schema(
    serialization=core_schema.plain_serializer_function_ser_schema(_serialize, info_arg=True,
                                                                   when_used="always")))


def reveal(value: Secret | str | None) -> str | None:
    """The plain value of a Secret (or a plain string), for the one place that sends it."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def secret_from_env(name: str) -> Secret | None:
    """The Secret held by environment variable `name`, or None when it is unset or empty."""
    raw = os.environ.get(name)
    return Secret(raw) if raw else None


def wrap_secrets(obj: Any) -> Any:
    """`obj` with every value under a credential-named key turned into a `Secret` (recursively)."""
    if isinstance(obj, dict):
        return {k: (Secret(v) if is_secret_key(k) and isinstance(v, str) else wrap_secrets(v))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(wrap_secrets(v) for v in obj)
    return obj


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@:]*:[^/\s@]*@")
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|password|passwd|secret|sig|signature)=)"
    r"[^&#\s'\"]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{6,}")
_KEY_ASSIGN = re.compile(
    r"(?i)(?<![\w-])(['\"]?(?:api[_-]?key|x-api-key|authorization|password|secret|token)['\"]?"
    r"\s*[:=]\s*['\"]?)"
    r"(?!<redacted>)[^\s,'\"}&]{6,}")


def _scrub(value: str) -> str:
    """Known secret values, URL passwords and key query strings: safe on any stored string (a prompt)."""
    with _KNOWN_LOCK:
        known = sorted(_KNOWN, key=len, reverse=True)
    for secret in known:
        if secret in value:
            value = value.replace(secret, REDACTED)
    value = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", value)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{REDACTED}", value)


def redact_text(text: str) -> str:
    """A log or error line with credentials scrubbed: what `_scrub` does, plus bearer tokens and
    `api_key=...` / `"authorization": "..."` assignments."""
    if not isinstance(text, str) or not text:
        return text
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _KEY_ASSIGN.sub(lambda m: f"{m.group(1)}{REDACTED}", _scrub(text))


def redact(obj: Any) -> Any:
    """A JSON-ready copy of `obj` with every secret replaced by `<redacted>`.

    Secrets are: `Secret`/`SecretStr` values, values under credential-named keys (also inside
    `headers` dicts: Authorization, X-Api-Key, Cookie), known secret values, `user:pass@` in URLs and
    key query strings inside strings (other text, such as prompts, is kept as it is). Pydantic
    models are dumped first. None and empty values stay, so a manifest still shows that no key was set.
    """
    if isinstance(obj, SecretStr):
        return REDACTED
    if hasattr(obj, "model_dump") and not isinstance(obj, type):
        return redact(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {k: (REDACTED if is_secret_key(k) and obj[k] not in (None, "") else redact(v))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact(v) for v in obj]
    if isinstance(obj, str):
        return _scrub(obj)
    return obj
