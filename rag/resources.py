"""Package data (bundled corpus, prompts, tokenizer file, fitted weights), found with ``importlib.resources``.

Everything lives under ``rag/data/`` inside the package, so a plain (non-editable) wheel install works
from any folder. The top-level ``corpus/`` and ``prompts/`` of the checkout are links into it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib.resources import as_file, files
from pathlib import Path
from types import ModuleType


def data_path(*parts: str) -> Path:
    """The filesystem path of ``rag/data/<parts...>`` (installs are unpacked, so this is a real path)."""
    resource = files("rag").joinpath("data", *parts)
    with as_file(resource) as path:  # a no-op for an unpacked install; the path stays valid
        return Path(path)


def source_digest(sources: Iterable[Path], salt: str = "") -> str:
    """SHA-256 (hex) of ``salt`` and the bytes of ``sources``, in order: a key that changes whenever that code
    changes (the index layout, the input parsers, the acronym miner key their caches with it)."""
    digest = hashlib.sha256(salt.encode())
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def modules_digest(*modules: ModuleType, salt: str = "") -> str:
    """The first 16 hex digits of ``source_digest`` over these modules' files, every ``.py`` file of a package
    (``rag.text``: the tokenizer and sentence splitter live in its submodules, not in its ``__init__``): a cache
    key of the code that fills the cache (the index layout, the acronym miner, the lexicon, the BM25 index)."""
    return source_digest((path for m in modules for path in _module_files(m)), salt)[:16]


def _module_files(module: ModuleType) -> list[Path]:
    """A module's source file, or a package's ``.py`` files (its subpackages' too), in a fixed order."""
    roots = getattr(module, "__path__", None)
    if roots is None:
        return [Path(module.__file__ or "")]
    return sorted(path for root in roots for path in Path(root).rglob("*.py"))  # a namespace package has no __file__
