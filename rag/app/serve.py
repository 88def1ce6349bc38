"""Serve the chat UI: ``rag serve`` or ``python app.py`` (``--host 127.0.0.1 --port 7860``).

Settings are read once from the environment (RAG_* variables, OPENAI_API_KEY, OPENAI_BASE_URL), the index is
built on first run, and the UI is built from the open pipeline.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def offline_environment() -> None:
    """Nothing may reach a model hub or phone home: set the offline switches unless the user set them."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Chat with the ML paper abstracts (Gradio UI).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    return parser


def serve(host: str = "127.0.0.1", port: int = 7860) -> int:
    """Open the pipeline (building the index if missing) and serve the UI until interrupted."""
    offline_environment()
    from pydantic import ValidationError

    from rag.answer.llm import make_client
    from rag.app.ui import build_ui, launch
    from rag.errors import RagError
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: invalid setting: {exc}", file=sys.stderr)
        return 2
    try:
        print(
            f"Opening the index in {settings.data_dir} (if it is missing it is built from the corpus first; "
            "a progress bar follows) ...",
            file=sys.stderr,
        )
        llm_client = make_client(settings)
        pipeline = Pipeline.open(settings, llm_client=llm_client)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    mode = f"LLM: {settings.llm_model}" if pipeline.llm_answerer is pipeline.answerer else "extractive (offline)"
    print(f"Answerer: {mode}. Serving on http://{host}:{port}", file=sys.stderr)
    launch(build_ui(pipeline), host=host, port=port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return serve(args.host, args.port)
