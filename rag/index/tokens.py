"""Token counting with tiktoken ``cl100k_base``, offline.

``tiktoken.get_encoding`` downloads its BPE file on first use. The package ships that file in
``rag/data/tiktoken/`` (checked against tiktoken's published SHA-256), and the encoding is built from it
directly: no network, no cache folder, no environment variable changed.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

import tiktoken

from rag.errors import ConfigError
from rag.resources import data_path

ENCODING = "cl100k_base"
BPE_FILE = "cl100k_base.tiktoken"
BPE_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# tiktoken_ext.openai_public.cl100k_base, which would download the same file.
_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding, built once per process from the bundled BPE file."""
    path = data_path("tiktoken", BPE_FILE)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the bundled tokenizer file {path} ({exc}); reinstall the rag package") from exc
    if hashlib.sha256(data).hexdigest() != BPE_SHA256:
        raise ConfigError(f"the bundled tokenizer file {path} is damaged (hash mismatch); reinstall the rag package")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    return tiktoken.Encoding(name=ENCODING, pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens=_SPECIAL)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` tokens."""
    tokens = encoding().encode(text, disallowed_special=())
    return text if len(tokens) <= limit else encoding().decode(tokens[:limit])
