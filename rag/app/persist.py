"""The chat kept in the browser (``gr.BrowserState``, i.e. localStorage), so a reload of the page shows it again.

What is stored is what the page needs to show the conversation and go on with it: each message (its text, for
the follow-ups' history, and its HTML as the server rendered it, every piece of corpus text escaped by
``rag.app.render`` and ``rag.app.source_cards``), each answer's feedback record and its section of the sources
panel. Nothing else: no key, no setting, nothing of the server. The copy is bounded (the last ``MAX_MESSAGES``
messages, whole exchanges, within ``max_bytes``: it is sent back in one request on load) and sealed with an HMAC
under a key that never leaves the server (``KEY_FILE`` in the data dir, so a restart keeps it).
``ChatStore.open`` returns an empty chat for anything it did not seal itself: a damaged, oversized, foreign or
older value never reaches the page.

Gradio encrypts the value with a ``secret`` it sends to the page (``/config``): that hides it from nobody who
can open the page, so integrity comes from the seal, not from it. Gradio writes no falsy value (``None``, ``""``
would leave the old copy in place), so an empty chat is stored as a sealed empty chat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr

from rag.resources import modules_digest

log = logging.getLogger(__name__)

STORAGE_KEY = "rag-chat"
VERSION = 1

MAX_MESSAGES = 50
MAX_BYTES = 400_000
"""Largest stored copy, in bytes of JSON (under the guard's 1 MB body limit, and far under localStorage's ~5 MB)."""
KEY_FILE = "chat-state.key"


@lru_cache(maxsize=1)
def _renderer() -> str:
    """A digest of the code that wrote the stored HTML (``rag.app.render``, ``rag.app.source_cards``, this module):
    sealed into every copy, so HTML written before a change to escaping or markup is never shown again (that chat
    starts empty)."""
    from rag.app import render, source_cards

    return modules_digest(render, source_cards, sys.modules[__name__])

Turns = list[dict[str, Any]]
Sections = dict[int, str]
_FIELDS: dict[str, type] = {"role": str, "content": str, "html": str, "error": bool,
                             "record": dict, "turn": int}


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _size(value: object) -> int:
    return len(_dumps(value).encode("utf-8", "surrogatepass"))


def server_key(data_dir: Path) -> bytes:
    """The sealing key: read from ``data_dir/KEY_FILE``, made there (mode 0600) on first use. A data dir that
    cannot be written gives a key of this process only (stored chats then last until the server restarts)."""
    path = Path(data_dir) / KEY_FILE
    try:
        if not path.exists():
            tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            try:
                os.link(tmp, path)  # atomic, and never replaces a key another process made meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) >= 32:
            return key
        log.warning("%s is not a key (too short): stored chats last until the server restarts", path)
    except (OSError, ValueError) as exc:
        log.warning("cannot keep a key in %s (%s): stored chats last until the server restarts", path, exc)
    return secrets.token_bytes(32)


def _message(raw: object) -> dict[str, Any] | None:
    """A stored message with only the known fields, each of its type; None for anything else."""
    if not isinstance(raw, dict) or not {"role", "content", "html"} <= raw.keys() <= _FIELDS.keys():
        return None
    if raw["role"] not in ("user", "assistant"):
        return None
    ok = all(isinstance(v, _FIELDS[k]) and not (k == "turn" and isinstance(v, bool)) for k, v in raw.items())
    return dict(raw) if ok else None


def _kept(turns: Sequence[Mapping[str, Any]], sections: Mapping[int, str]) -> tuple[Turns, Sections]:
    """The messages and sections to store: whole exchanges from the end, at most ``MAX_MESSAGES``."""
    start = max(0, len(turns) - MAX_MESSAGES)
    while start < len(turns) and turns[start].get("role") != "user":  # never start with half an exchange
        start += 1
    kept = [{k: v for k, v in t.items() if k in _FIELDS} for t in turns[start:]]
    numbers = {t["turn"] for t in kept if "turn" in t}
    return kept, {n: s for n, s in sections.items() if n in numbers}


class ChatStore:
    """Seals the chat into the value the browser keeps, and opens it again; ``component()`` is the
    ``gr.BrowserState`` (one fixed storage key, so reloads and restarts find the same copy)."""

    def __init__(self, key: bytes, max_bytes: int = MAX_BYTES) -> None:
        self._key = key
        self.max_bytes = max_bytes

    @classmethod
    def for_server(cls, data_dir: Path, max_body_bytes: int) -> ChatStore:
        """The store of a server over ``data_dir`` (its key) whose requests may carry ``max_body_bytes``: the
        stored copy, sent back on load, stays within half of that."""
        return cls(server_key(data_dir), min(MAX_BYTES, max_body_bytes // 2))

    def component(self) -> gr.BrowserState:
        # Gradio sends its secret to the page: derived from the key (never the key), stable across restarts
        secret = hmac.new(self._key, b"gradio-browser-state", hashlib.sha256).hexdigest()[:32]
        return gr.BrowserState(None, storage_key=STORAGE_KEY, secret=secret)

    def _mac(self, chat: str) -> str:
        sealed = f"{VERSION}:{_renderer()}:{chat}".encode("utf-8", "surrogatepass")
        return hmac.new(self._key, sealed, hashlib.sha256).hexdigest()

    def _sealed(self, turns: Turns, sections: Sections) -> dict[str, Any]:
        chat = _dumps({"turns": turns, "sections": {str(n): s for n, s in sorted(sections.items())}})
        return {"v": VERSION, "chat": chat, "mac": self._mac(chat)}

    def seal(self, turns: Sequence[Mapping[str, Any]] | None, sections: Mapping[int, str] | None) -> dict[str, Any]:
        """The value to store: the latest whole exchanges that fit in ``max_bytes``; when even the last one does
        not fit with its sources, that exchange without them (its text is kept); an empty chat if none."""
        kept, kept_sections = _kept(turns or [], sections or {})
        value = self._sealed(kept, kept_sections)
        last = kept
        while kept and _size(value) > self.max_bytes:
            last = kept
            kept, kept_sections = _kept(kept[1:], kept_sections)
            value = self._sealed(kept, kept_sections)
        if not kept and last:
            bare = self._sealed(last, {})  # the one exchange left was too big only with its sources section
            if _size(bare) <= self.max_bytes:
                return bare
        return value

    def _verified(self, value: object) -> str | None:
        """The sealed chat JSON in ``value`` if this server sealed it (as this version), else None."""
        if not isinstance(value, dict) or value.get("v") != VERSION:
            return None
        chat, mac = value.get("chat"), value.get("mac")
        if not isinstance(chat, str) or not isinstance(mac, str) or len(chat) > self.max_bytes:
            return None
        return chat if hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(chat).encode()) else None

    def open(self, value: object) -> tuple[Turns, Sections]:
        """The chat in a stored value, or an empty chat when the value is not one this server sealed (damaged,
        oversized, another app's or an older version's) or holds a message of another shape. Never raises."""
        chat = self._verified(value)
        if chat is None:
            if value is not None:
                log.info("ignored a stored chat that this server did not seal (damaged, foreign or too large)")
            return [], {}
        try:
            data = json.loads(chat)
            turns = [_message(t) for t in data["turns"]]
            sections = {int(n): s for n, s in data["sections"].items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            turns, sections = [None], {}
        if len(turns) > MAX_MESSAGES or None in turns or not all(isinstance(s, str) for s in sections.values()):
            log.info("ignored a stored chat holding a message of an unknown shape")
            return [], {}
        return [t for t in turns if t is not None], sections
