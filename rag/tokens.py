"""Token counting with tiktoken ``cl100k_base``, offline.

``tiktoken.get_encoding`` downloads its BPE file on first use. llama-index-core ships that file in
its ``_static/tiktoken_cache``; pointing ``TIKTOKEN_CACHE_DIR`` there makes it work with no network.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import tiktoken

from rag.errors import ConfigError

ENCODING = "cl100k_base"


def _bundled_cache() -> Path:
    """llama-index-core's ``_static/tiktoken_cache``, found without importing llama-index (seconds of imports)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("llama-index-core is not installed; its bundled tiktoken cache is needed offline")
    return Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding, loaded once per process from the bundled cache."""
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(_bundled_cache())
    try:
        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # network or cache failure
        raise ConfigError(
            f"cannot load tiktoken {ENCODING} offline ({exc}); reinstall llama-index-core "
            "or set TIKTOKEN_CACHE_DIR to a folder holding the cl100k_base file"
        ) from exc


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` tokens."""
    tokens = encoding().encode(text, disallowed_special=())
    return text if len(tokens) <= limit else encoding().decode(tokens[:limit])
