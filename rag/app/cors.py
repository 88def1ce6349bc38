"""The service's CORS layer: Starlette's, closed unless ``RAG_CORS_ORIGINS`` opens it, with its preflight
refusals in OpenAI's error shape like every other refusal of the front door (``rag.app.guard``).

Starlette answers a refused preflight (``OPTIONS`` with an ``Origin`` it does not allow) with a plain-text
``Disallowed CORS origin``; here it is ``{"error": {"message", "type", "param", "code"}}``, still 400, with a
one-line message saying what to change.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from rag.app.guard import error_json


class Cors(CORSMiddleware):
    """Starlette's CORS layer, its preflight refusals (an ``Origin`` not in ``RAG_CORS_ORIGINS``, a method or
    header it does not allow) given in OpenAI's error shape, status 400 as before, instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        failure = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")[0]
        message, code = _preflight_refusal(failure, request_headers, ", ".join(self.allow_methods))
        headers = {k: v for k, v in response.headers.items() if k not in ("content-type", "content-length")}
        return Response(error_json(message, code=code), 400, headers, "application/json")


def _preflight_refusal(failure: str, asked: Headers, methods: str) -> tuple[str, str]:
    """The one-line message and the code of a refused preflight, by what failed first (Starlette's order:
    origin, method, headers, private network)."""
    if failure == "origin":
        return (f"requests from the page {asked.get('origin', '')[:100]!r} are not allowed; add its origin to "
                "RAG_CORS_ORIGINS on the server"), "origin_not_allowed"
    if failure == "method":
        method = asked.get("access-control-request-method", "")[:20]
        return f"a page may not send {method!r} requests here; use {methods}", "method_not_allowed"
    if failure == "headers":
        names = asked.get("access-control-request-headers", "")[:100]
        return f"a page may not send the headers {names!r} here; leave them out", "headers_not_allowed"
    return ("this server does not take requests from public pages over the private network; open the page from "
            "the server's own address"), "private_network_not_allowed"
