"""Serve the chat UI and the OpenAI-compatible API on one port: ``rag serve`` or ``python app.py``
(``--host 127.0.0.1 --port 7860``).

Settings are read once from the environment (RAG_* variables, OPENAI_API_KEY, OPENAI_BASE_URL), the index is
built on first run, and one FastAPI app serves the ``/v1`` routes (``rag.app.api``) with the Gradio UI
mounted at ``/``. Off loopback the API needs ``RAG_API_KEY`` (a bearer token): without it the server
refuses to start rather than open the API to the network.
"""

from __future__ import annotations

import argparse
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


def build_app(pipeline: Any, api_key: str | None = None) -> Any:
    """One FastAPI app: the ``/v1`` API routes, and the Gradio chat UI mounted at ``/``. ``pipeline``: a
    ``Pipeline`` or a ``LivePipeline``; the chat reopens it when an ingest changes the index."""
    import gradio as gr
    from fastapi import FastAPI

    from rag.app.api import create_api
    from rag.app.live import LivePipeline
    from rag.app.ui import CSS, build_ui, theme

    live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline(pipeline)
    app = create_api(live, api_key, FastAPI(docs_url=None, redoc_url=None, openapi_url=None))
    return gr.mount_gradio_app(app, build_ui(live), path="/", css=CSS, theme=theme(), footer_links=["api"],
                               show_error=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Chat with the ML paper abstracts (Gradio UI).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    return parser


def serve(host: str = "127.0.0.1", port: int = 7860) -> int:
    """Open the pipeline (building the index if missing) and serve the UI until interrupted."""
    offline_environment()
    import uvicorn

    from rag.answer.llm import make_llm_client
    from rag.app.live import LivePipeline
    from rag.errors import RagError
    from rag.pipeline import Pipeline
    from rag.settings import load_settings

    try:
        settings = load_settings()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    if host not in LOOPBACK and not api_key:
        print(f"error: --host {host} would open the API (/v1/chat/completions) to the network without a key; "
              "set RAG_API_KEY=<secret> (clients send it as 'Authorization: Bearer <secret>') or serve on "
              "127.0.0.1", file=sys.stderr)
        return 2
    try:
        print(
            f"Opening the index in {settings.data_dir} (if it is missing it is built from the corpus first; "
            "a progress bar follows) ...",
            file=sys.stderr,
        )
        llm_client = make_llm_client(settings)
        pipeline = Pipeline.open(settings, llm_client=llm_client)
        live = LivePipeline(pipeline)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for note in pipeline.store.healed:
        print(f"healed: {note}", file=sys.stderr)
    mode = f"LLM: {settings.llm_model}" if pipeline.llm_answerer is pipeline.answerer else "extractive (offline)"
    print(f"Answerer: {mode}. Serving the chat on http://{host}:{port} and the OpenAI-compatible API on "
          f"http://{host}:{port}/v1 ({'bearer key required' if api_key else 'no key'})", file=sys.stderr)
    uvicorn.run(build_app(live, api_key), host=host, port=port, log_level="warning")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return serve(args.host, args.port)
