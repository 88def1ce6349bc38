"""Token counting with tiktoken ``cl100k_base``, offline.

``tiktoken.get_encoding`` downloads its BPE file on first use. llama-index-core ships that file in
its ``_static/tiktoken_cache``; pointing ``TIKTOKEN_CACHE_DIR`` there makes it work with no network.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import tiktoken

from rag.errors import ConfigError

ENCODING = "cl100k_base"


def _bundled_cache() -> Path:
    import llama_index.core

    return Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"


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
