"""The checks of a setting beyond its type, and how a failed check is told.

The value rules (a folder, an http(s) URL, a Chroma server's root) are the field validators of
``rag.settings.Settings``. The rest turns pydantic's errors into one-line ``ConfigError``s naming the
environment variable, the value given (never a key's) and what the field allows, in words read from the field
declarations (``fields``: ``Settings.model_fields``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError

from rag.errors import ConfigError, public_url

Fields = Mapping[str, FieldInfo]
"""The field declarations of a settings class, by field name."""


def a_folder(value: Path) -> Path:
    """A folder, or a path where one can be created: neither it nor its nearest existing parent a file."""
    value = value.expanduser()
    if not str(value).strip():
        raise ValueError("must name a folder")
    existing = next((p for p in (value, *value.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "it" if existing == value else str(existing)
        raise ValueError(f"{where} is a file, not a folder")
    return value


def home_expanded(value: list[Path]) -> list[Path]:
    """``~/papers.bib`` is the user's file, as a shell would read it."""
    return [path.expanduser() for path in value]


def an_http_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = urlparse(value)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    try:
        url.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    return value


MIN_KEY_CHARS = 8


def a_service_key(value: SecretStr | None) -> SecretStr | None:
    """The web service's key as clients send it: white space around it (a secret file's newline) is not part of
    it, and only white space is no key (the service then stays on loopback). A key travels in an Authorization
    header (printable ASCII only) and must not be guessed in a few tries (a single space let anyone in)."""
    if value is None:
        return None
    key = value.get_secret_value().strip()
    if not key:
        return None
    if not (key.isascii() and key.isprintable()):
        raise ValueError("must be printable ASCII characters (it is sent in an Authorization header)")
    if len(key) < MIN_KEY_CHARS:
        raise ValueError(f"must be at least {MIN_KEY_CHARS} characters (a shorter key is guessed quickly)")
    return SecretStr(key)


def a_chroma_root(value: str | None) -> str | None:
    """The Chroma client takes a host and a port only: anything else in the URL would be silently dropped."""
    if value is None:
        return None
    url = urlparse(value)
    if url.username is not None or url.password is not None:
        raise ValueError("must not hold a user:password@ part (the Chroma client would not send it)")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError("must be the server's root: scheme, host and port, no path or query")
    return value


def env_names(fields: Fields, field: str) -> list[str]:
    """The environment variables that set a field (``RAG_TOP_K``; both names of the aliased ones)."""
    alias = fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"RAG_{field.upper()}"]


def _number(value: float) -> str:
    """A bound as typed: 100000000, not 1e+08 (which an integer setting refuses); 0.5 stays 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def allowed_values(fields: Fields, field: str) -> str:
    """What a field accepts, in words, from its declaration: choices, number kind and bounds, or a path."""
    info = fields[field]
    text = str(info.annotation)
    choices = re.findall(r"'([^']*)'", text) if "Literal" in text else []
    if choices:
        return "one of " + ", ".join(choices)
    bounds = []
    for rule in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(rule, attr, None) is not None:
                bounds.append(f"{word} {_number(getattr(rule, attr))}")
    kind = next(
        (name for key, name in (("int", "a whole number"), ("float", "a number"), ("list", "a JSON list of paths"),
                                ("Path", "a folder path"), ("url", "an http(s) URL")) if key in text or key in field),
        "text",
    )  # fmt: skip
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def known_names(fields: Fields) -> frozenset[str]:
    """The keyword names a settings class takes: its fields and their environment aliases (``OPENAI_API_KEY``)."""
    return frozenset(fields) | frozenset(
        name for f in fields.values() if isinstance(f.validation_alias, AliasChoices)
        for name in f.validation_alias.choices if isinstance(name, str)
    )  # fmt: skip


def _field_of(fields: Fields, loc: str) -> str:
    """The field an error location names: a field name, or one of its environment variable names."""
    if loc in fields:
        return loc
    return next((f for f in fields if loc.upper() in env_names(fields, f)), loc)


def keyword_error(fields: Fields, exc: ValidationError | SettingsError) -> ConfigError:
    """The one-line error of settings given as keyword arguments: the first problem, with what is allowed."""
    if isinstance(exc, SettingsError):  # an environment variable pydantic-settings cannot parse
        return ConfigError(f"invalid setting: {str(exc).splitlines()[0][:200]}")
    first = exc.errors()[0]
    field = _field_of(fields, str(first["loc"][0]) if first["loc"] else "?")
    given = "" if "key" in field else f"={str(first.get('input'))[:100]!r}"
    reason = str(first["msg"]).removeprefix("Value error, ")
    allowed = f"; allowed: {allowed_values(fields, field)}" if field in fields else ""
    return ConfigError(f"invalid setting {field}{given}: {reason}{allowed}")


def _problem(fields: Fields, loc: str, message: str, value: object) -> str:
    field = _field_of(fields, loc)
    if field not in fields:
        return f"{field}: {message}"
    names = " / ".join(env_names(fields, field))
    secret = "key" in field
    text = public_url(value) if field in ("chroma_url", "openai_base_url") and isinstance(value, str) else value
    shown = "" if secret or value is None else f"={str(text)[:300]!r}"
    reason = message.removeprefix("Value error, ")
    return f"{names}{shown}: {reason}; allowed: {allowed_values(fields, field)}"


def environment_error(fields: Fields, exc: ValidationError | SettingsError) -> ConfigError:
    """The one-line error of settings read from the environment: every invalid value, each naming its variable,
    the value given and what is allowed (no pydantic traceback reaches the user)."""
    if isinstance(exc, ValidationError):
        problems = [
            _problem(fields, str(e["loc"][0]) if e["loc"] else "?", e["msg"], e.get("input")) for e in exc.errors()
        ]
    else:
        match = re.search(r'field "(\w+)"', str(exc))
        field = match.group(1) if match else "?"
        value = os.environ.get(env_names(fields, field)[0]) if match else None
        problems = [_problem(fields, field, "cannot be parsed", value)]
    return ConfigError(f"invalid setting: {'; '.join(problems)}. Fix or unset the environment variable")
