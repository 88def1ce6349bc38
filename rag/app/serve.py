"""Serve the chat UI and the OpenAI-compatible API on one port: ``rag serve`` or ``python app.py``
(``--host 127.0.0.1 --port 7860``).

Settings are read once from the environment (RAG_* variables, OPENAI_API_KEY, OPENAI_BASE_URL), the index is
built on first run, and one FastAPI app serves the ``/v1`` routes (``rag.app.api``) with the Gradio UI
mounted at ``/``. Off loopback the API needs ``RAG_API_KEY`` (a bearer token): without it the server
refuses to start rather than open the API to the network.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from typing import Any


def offline_environment() -> None:
    """Nothing may reach a model hub or phone home: set the offline switches unless the user set them."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_FILE_SIZE = 1
"""Bytes Gradio may accept in an upload: the app has no file components (its upload routes are closed too)."""


def build_app(pipeline: Any, api_key: str | None = None, guard: Any = None) -> Any:
    """One FastAPI app: the ``/v1`` API routes, and the Gradio chat UI mounted at ``/``, behind the guard
    (``rag.app.guard``: host allowlist, closed upload routes, origin check, the key, body limits) and a CORS
    layer closed unless ``guard.cors_origins`` opens it. ``pipeline``: a ``Pipeline`` or a ``LivePipeline``;
    the chat reopens it when an ingest changes the index. ``guard``: a ``GuardConfig`` (default: loopback
    hosts, ``api_key``)."""
    import gradio as gr
    from fastapi import FastAPI

    from rag.app.api import create_api
    from rag.app.cors import Cors
    from rag.app.guard import Guard, GuardConfig, authorised
    from rag.app.live import LivePipeline
    from rag.app.ui import CSS, build_ui, theme

    config = guard if isinstance(guard, GuardConfig) else GuardConfig(api_key=api_key)
    live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline(pipeline)
    app = create_api(live, config.api_key, FastAPI(docs_url=None, redoc_url=None, openapi_url=None))
    app.add_middleware(Guard, config=config)
    app.add_middleware(Cors, allow_origins=sorted(config.cors_origins), allow_methods=["GET", "POST"],
                       allow_headers=["*"], allow_credentials=False)  # the openai SDKs add x-stainless-* headers

    def user(request: Any) -> str | None:  # Gradio's own check of its routes: the guard's, again
        return "user" if authorised(config.api_key, request.headers) else None

    return gr.mount_gradio_app(app, build_ui(live), path="/", css=CSS, theme=theme(), footer_links=["api"],
                               show_error=False, max_file_size=MAX_FILE_SIZE,
                               auth_dependency=user if config.api_key else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Chat with the ML paper abstracts (Gradio UI).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=7860, help="port to listen on (default 7860)")
    return parser


def port_number(text: str) -> int:
    """``--port`` as argparse reads it: a TCP port from 1 to 65535 (0 would listen on a port the banner cannot
    name; uvicorn took 99999 modulo 65536)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is no port: give a whole number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is no port: give a whole number from 1 to 65535")
    return port


def port_problem(host: str, port: int) -> str:
    """Why the service cannot listen on ``host``:``port`` ("" when it can), found before the index is opened and
    before the banner says it serves there (uvicorn's own error came after both, with exit code 3)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        return f"--host {host} is no address this machine can listen on ({getattr(exc, 'strerror', None) or exc})"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as exc:
            busy = exc.errno == errno.EADDRINUSE
            why = "another program (another `rag serve`?) listens there" if busy else exc.strerror or str(exc)
            return f"cannot listen on {host}:{port}: {why}; pick another port with --port"
    return ""


def _settings(host: str) -> Any:
    """The settings, or an exit code after a one-line error (bad setting; no key off loopback)."""
    from rag.errors import RagError
    from rag.settings import load_settings

    try:
        settings = load_settings()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if host not in LOOPBACK and settings.api_key is None:
        print(f"error: --host {host} would open the service (the chat and /v1) to the network without a key; "
              "set RAG_API_KEY=<secret> (clients send it as 'Authorization: Bearer <secret>', people sign in "
              "with it) or serve on 127.0.0.1", file=sys.stderr)
        return 2
    return settings


def _open(settings: Any) -> Any:
    """A ``LivePipeline`` over the index (built first if missing), or an exit code after a one-line error."""
    from rag.answer.llm import make_llm_client
    from rag.app.live import LivePipeline
    from rag.errors import RagError
    from rag.pipeline import Pipeline

    print(f"Opening the index in {settings.data_dir} (if it is missing it is built from the corpus first; "
          "a progress bar follows) ...", file=sys.stderr)
    try:
        pipeline = Pipeline.open(settings, llm_client=make_llm_client(settings))
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for note in pipeline.store.healed:
        print(f"healed: {note}", file=sys.stderr)
    return LivePipeline(pipeline)


def serve(host: str = "127.0.0.1", port: int = 7860) -> int:
    """Open the pipeline (building the index if missing) and serve the UI and the API until interrupted."""
    offline_environment()
    import uvicorn

    from rag.app.guard import GuardConfig
    from rag.app.http_timeouts import header_timeout_protocol

    settings = _settings(host)
    if isinstance(settings, int):
        return settings
    problem = port_problem(host, port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    live = _open(settings)
    if isinstance(live, int):
        return live
    guard = GuardConfig.from_settings(settings, host)
    pipeline = live.pipeline
    mode = f"LLM: {settings.llm_model}" if pipeline.llm_answerer is pipeline.answerer else "extractive (offline)"
    hosts = ", ".join(sorted(guard.allowed_hosts)) if guard.allowed_hosts is not None else "any"
    print(f"Answerer: {mode}. Serving the chat on http://{host}:{port} and the OpenAI-compatible API on "
          f"http://{host}:{port}/v1 ({'key required' if guard.api_key else 'no key'}; answering to the host "
          f"names {hosts}: set RAG_ALLOWED_HOSTS for others)", file=sys.stderr)
    uvicorn.run(build_app(live, guard=guard), host=host, port=port, log_level="warning",
                http=header_timeout_protocol(settings.header_timeout), timeout_keep_alive=5)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return serve(args.host, args.port)
