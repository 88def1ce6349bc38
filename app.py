"""Serve the chat UI: ``python app.py [--host 127.0.0.1] [--port 7860]`` (the same as ``rag serve``)."""

from __future__ import annotations

import sys

from rag.app.serve import main

if __name__ == "__main__":
    sys.exit(main())
