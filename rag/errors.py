"""The project's error tree. Every message says how to fix the problem.

Edges translate these: the CLI to exit codes, the web app to readable chat messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit


class RagError(Exception):
    """Base class for every error this package raises on purpose."""

    exit_code = 1


class ConfigError(RagError):
    """A setting is missing or invalid (environment variable, option)."""

    exit_code = 2


class CorpusError(RagError):
    """An input file cannot be parsed. The message names the file and line."""

    exit_code = 3

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}. Nothing was written to the index; fix the file and rerun `rag ingest`.")


class IndexNotReadyError(RagError):
    """The index is missing, stale or unreachable."""

    exit_code = 4


class QueryError(RagError):
    """A request's input cannot be used (an empty question, a bad ``k`` or filter). ``field`` names the input at
    fault: "question", "history", "k", a filter's name, "stages", "filters"."""

    exit_code = 5

    def __init__(self, message: str, field: str = "question") -> None:
        super().__init__(message)
        self.field = field


class LLMError(RagError):
    """The configured LLM endpoint failed. Callers fall back to the extractive answerer."""

    exit_code = 6


class IndexDamagedError(IndexNotReadyError):
    """Files of the index are missing, truncated or inconsistent and could not be healed automatically."""

    exit_code = 7


class IngestBusyError(RagError):
    """Another ingest holds the data directory's write lock."""

    exit_code = 8


class DataError(RagError, ValueError):
    """A dict given to a ``from_dict`` (``Answer.from_dict``) is not one its ``to_dict`` could have written.
    ``field`` names the bad field as a path (``Answer.citations[0].paper.title``)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field} {problem}; from_dict reads a dict as to_dict() returns it (or `rag ask --json` "
                         "prints it)")


class Cancelled(RagError):
    """The request's client went away; its work stopped (``rag.cancel``)."""


class StorageError(RagError):
    """The data directory cannot be written (read-only, full disk, not a directory)."""

    exit_code = 9


REDACTED = "[redacted]"
_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(authorization|x-api-key|api[_-]?key|access[_-]?token)(\\?[\"']?\s*[:=]\s*\\?[\"']?)"
               r"(?:bearer\s+)?[^\s\"',;}\\]+"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{4,}"),
)
"""What every error a user sees is scrubbed of: key-like values, bearer tokens and ``sk-…`` keys."""


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with the given secret values, ``Authorization``/``api_key`` values, bearer tokens and
    ``sk-…`` keys replaced by ``[redacted]``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SECRET_PATTERNS[1].sub(f"Bearer {REDACTED}", text)
    return _SECRET_PATTERNS[2].sub(REDACTED, text)


def public_url(url: str) -> str:
    """``url`` as an error may show it: scheme, host, port and path, without a ``user:password@`` part, a query
    (``?token=…``) or a fragment. A value that is not a URL keeps its text, minus anything before an ``@``."""
    head = re.match(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<authority>[^/]*)", url)
    assert head is not None  # both groups may be empty: it always matches
    # cut user:password@ before parsing: a password may hold "#" or "?", which would end the host for urlsplit
    url = (head["scheme"] or "") + head["authority"].rpartition("@")[2] + url[head.end() :]
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
