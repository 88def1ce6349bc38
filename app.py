"""Serve the chat UI: ``python app.py [--host 127.0.0.1] [--port 7860]``.

Settings are read once from the environment (RAG_* variables, OPENAI_API_KEY, OPENAI_BASE_URL), the index is
built on first run, and the UI is built from the open pipeline.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the ML paper abstracts (Gradio UI).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on (default 7860)")
    args = parser.parse_args(argv)

    from pydantic import ValidationError

    from rag.errors import RagError
    from rag.llm import make_client
    from rag.pipeline import Pipeline
    from rag.settings import Settings
    from rag.ui import build_ui, launch

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
    print(f"Answerer: {mode}. Serving on http://{args.host}:{args.port}", file=sys.stderr)
    launch(build_ui(pipeline), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
