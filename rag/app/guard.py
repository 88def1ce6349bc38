"""The web service's front door, one ASGI middleware in front of the ``/v1`` API and the Gradio UI.

In order, for every HTTP request:

1. **Host**: the ``Host`` header must name an allowed host (``RAG_ALLOWED_HOSTS``; default the bound host and
   localhost), else 400: a page on another name cannot reach a loopback server through DNS rebinding.
2. **Closed routes**: Gradio's upload, file, proxy, recording, streaming and developer routes answer 404 (the
   app has no file components; nothing can be uploaded or served back).
3. **Origin**: a POST/PUT/PATCH/DELETE whose ``Origin`` is neither this host nor in ``RAG_CORS_ORIGINS`` gets
   403 (cross-site form posts cannot make the server work).
4. **Key** (``RAG_API_KEY`` set): ``Authorization: Bearer <key>`` or the session cookie set by the login form
   (``/login``); a page request without either is sent to the form, anything else gets 401.
5. **Body**: read whole before the app runs, at most ``RAG_MAX_BODY_BYTES`` (413) within
   ``RAG_BODY_TIMEOUT`` seconds (408).

Every refusal is a one-line JSON error in OpenAI's shape (a refused CORS preflight too: ``rag.app.cors``).
Websockets are refused (no route uses one). Slow headers are cut by ``rag.app.http_timeouts``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
COOKIE = "rag_session"
LOGIN_PATH = "/login"
CLOSED_PREFIXES = (
    "/gradio_api/upload", "/gradio_api/process_recording", "/gradio_api/stream/", "/gradio_api/file",
    "/gradio_api/proxy=", "/gradio_api/vibe", "/gradio_api/undo-vibe", "/gradio_api/run-history",
    "/gradio_api/runs", "/gradio_api/dev/", "/gradio_api/profiling", "/gradio_api/custom_component",
    "/gradio_api/mcp", "/monitoring", "/file=", "/file/", "/upload", "/proxy=",
)  # fmt: skip
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """What the front door lets in (``from_settings`` reads it from ``Settings`` at the edge)."""

    api_key: str | None = None
    allowed_hosts: frozenset[str] | None = LOCAL_HOSTS
    """Lower-case host names without port; None: any host."""
    cors_origins: frozenset[str] = frozenset()
    max_body_bytes: int = 1_000_000
    body_timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any, bound_host: str) -> GuardConfig:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        hosts = _split(settings.allowed_hosts)
        allowed = None if "*" in hosts else (frozenset(hosts) if hosts else LOCAL_HOSTS | {bound_host.lower()})
        origins = frozenset(o.rstrip("/") for o in _split(settings.cors_origins))
        return cls(key, allowed, origins, settings.max_body_bytes, settings.body_timeout)


def _split(value: str | None) -> list[str]:
    return [part.strip().lower() for part in (value or "").split(",") if part.strip()]


def session_token(key: str) -> str:
    """The session cookie's value for a key: an HMAC of it (the key itself never goes into a cookie)."""
    return hmac.new(key.encode(), b"rag-session-v1", hashlib.sha256).hexdigest()


def authorised(key: str | None, headers: Mapping[str, str]) -> bool:
    """True without a key; with one, a valid ``Authorization: Bearer <key>`` header or session cookie
    (``headers`` with lower-case names; constant-time comparisons)."""
    if key is None:
        return True
    scheme, _, given = headers.get("authorization", "").strip().replace("\t", " ").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), key.encode()):
        return True
    cookie = _cookie(headers.get("cookie", ""), COOKIE)
    return cookie is not None and hmac.compare_digest(cookie.encode(), session_token(key).encode())


def host_name(host: str) -> str:
    """``Host`` header value without its port, lower case (``[::1]:7860`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def respond(send: Send, status: int, body: bytes, content_type: str = "application/json",
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_json(message: str, kind: str = "invalid_request_error", code: str | None = None) -> bytes:
    """An OpenAI-shaped error body; ``detail`` repeats the message for the chat page, whose Gradio client
    shows only a top-level ``detail`` (without it a refused request shows a bare "Error")."""
    error = {"message": message, "type": kind, "param": None, "code": code}
    return json.dumps({"error": error, "detail": message}).encode()


def login_page(message: str = "") -> bytes:
    note = f'<p class="err">{escape(message)}</p>' if message else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sign in: Ask the ML papers</title>"
        "<meta name='viewport' content='width=device-width'><style>body{font-family:system-ui,sans-serif;"
        "max-width:24em;margin:12vh auto;padding:0 1em}input{width:100%;padding:.5em;margin:.5em 0;"
        "box-sizing:border-box}.err{color:#a51111}</style></head><body><h2>Ask the ML papers</h2>"
        f"<p>This server needs its access key (RAG_API_KEY).</p>{note}"
        f"<form method='post' action='{LOGIN_PATH}'><input type='password' name='key' autocomplete="
        "'current-password' autofocus required placeholder='Access key'><input type='submit' value='Sign in'>"
        "</form></body></html>"
    ).encode()


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: App, config: GuardConfig) -> None:
        self.app, self.config = app, config
        self.token = session_token(config.api_key) if config.api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # no route of the app uses one: refused, key or not
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers, path, method = _headers(scope), str(scope.get("path", "")), str(scope.get("method", "GET"))
        refusal = self._refusal(headers, path, method)
        if refusal is not None:
            await respond(send, refusal[0], error_json(refusal[1], code=refusal[2]))
            return
        if self.config.api_key and path in (LOGIN_PATH, "/logout"):
            await self._login(scope, receive, send, headers, path)
            return
        if self.config.api_key and not self.authorised(headers):
            await self._unauthorised(send, headers, path, method)
            return
        body = await self._read_body(receive, send, headers)
        if body is None:
            return
        await self.app(scope, _replay(body, receive), send)

    def _refusal(self, headers: dict[str, str], path: str, method: str) -> tuple[int, str, str] | None:
        allowed = self.config.allowed_hosts
        host = host_name(headers.get("host", ""))
        if allowed is not None and host not in allowed:
            return 400, (f"this server does not answer to the host {host[:100]!r}; add it to RAG_ALLOWED_HOSTS "
                         "(comma-separated) on the server"), "host_not_allowed"
        if path.startswith(CLOSED_PREFIXES):
            return 404, "not found: this server has no upload or file routes", "not_found"
        origin = headers.get("origin")
        if method in UNSAFE and origin is not None and not self._same_origin(origin, headers):
            return 403, (f"requests from the page {origin[:100]!r} are not allowed; add its origin to "
                         "RAG_CORS_ORIGINS on the server"), "origin_not_allowed"
        return None

    def _same_origin(self, origin: str, headers: dict[str, str]) -> bool:
        if origin.rstrip("/").lower() in self.config.cors_origins:
            return True
        return urlsplit(origin).netloc.lower() == headers.get("host", "").strip().lower()

    def authorised(self, headers: Mapping[str, str]) -> bool:
        return authorised(self.config.api_key, headers)

    async def _unauthorised(self, send: Send, headers: dict[str, str], path: str, method: str) -> None:
        page = method in ("GET", "HEAD") and "text/html" in headers.get("accept", "") and not path.startswith("/v1")
        if page:
            await respond(send, 303, b"", "text/plain", [(b"location", LOGIN_PATH.encode())])
            return
        message = ("invalid or missing API key: send the RAG_API_KEY value as 'Authorization: Bearer <key>' "
                   f"(or sign in at {LOGIN_PATH})")
        await respond(send, 401, error_json(message, code="invalid_api_key"),
                      extra=[(b"www-authenticate", b"Bearer")])

    async def _login(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], path: str) -> None:
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        if path == "/logout":
            cookie = f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
            await respond(send, 303, b"", "text/plain", [(b"location", LOGIN_PATH.encode()),
                                                          (b"set-cookie", cookie.encode())])
            return
        if scope.get("method") != "POST":
            await respond(send, 200, login_page(), "text/html; charset=utf-8")
            return
        body = await self._read_body(receive, send, headers)
        if body is None:
            return
        given = (parse_qs(body.decode("utf-8", "replace")).get("key") or [""])[0]
        assert self.config.api_key is not None and self.token is not None
        if not hmac.compare_digest(given.encode(), self.config.api_key.encode()):
            await respond(send, 401, login_page("That key is not right; try again."), "text/html; charset=utf-8")
            return
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict{secure}"
        await respond(send, 303, b"", "text/plain", [(b"location", b"/"), (b"set-cookie", cookie.encode())])

    async def _read_body(self, receive: Receive, send: Send, headers: dict[str, str]) -> bytes | None:
        """The whole request body, or None after answering 413 (too large) or 408 (too slow)."""
        limit = self.config.max_body_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await respond(send, 413, error_json(_too_large(limit), code="request_too_large"))
            return None
        chunks, size = [], 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.body_timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await respond(send, 408, error_json(
                    f"the request body took over {self.config.body_timeout:g} s to arrive; send it at once",
                    code="request_timeout"))
                return None
            if message["type"] != "http.request":
                return None  # the client went away
            size += len(message.get("body", b""))
            if size > limit:
                await respond(send, 413, error_json(_too_large(limit), code="request_too_large"))
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"the request body is over {limit:,} bytes (RAG_MAX_BODY_BYTES); send a shorter history or question"


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then waits on the real one (for the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
