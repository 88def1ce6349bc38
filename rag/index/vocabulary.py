"""Ordinary English words, as the packaged embedding model's tokenizer knows them.

The uncased WordPiece vocabulary of all-MiniLM-L6-v2 (30,522 entries) holds the whole words of everyday and
scientific English, but not the names papers coin ("sparsemax", "tabpfn", "dimat"). Reading a word against it
tells a coined name typed in lower case from an ordinary word ("map", "clip", "read")."""

from __future__ import annotations

import json
from functools import lru_cache

from rag.errors import ConfigError
from rag.index.onnx import model_dir


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Ordinary words: the whole words (no "##" pieces) of the packaged embedding tokenizer's vocabulary."""
    try:
        vocab = json.loads((model_dir() / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    except (ConfigError, OSError, ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.islower())
