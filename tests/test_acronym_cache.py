"""The acronym table cache: mined once per store stamp, a damaged or stale file is mined afresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SMALL_PAPERS, make_paper

from rag.retrieve import acronym_cache
from rag.retrieve.acronym_cache import acronym_table
from rag.retrieve.query import mine_acronyms

PAPERS = [*SMALL_PAPERS, make_paper("Sparse Autoencoders", "We train sparse autoencoders (SAEs) on activations.")]


def _mined() -> dict[str, set[str]]:
    return mine_acronyms(f"{p.title}. {p.abstract}" for p in PAPERS)


def test_the_table_is_mined_once_per_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = acronym_table(PAPERS, tmp_path, "emb", "stamp-1")
    assert first.pairs == _mined() and first.pairs  # the corpus has acronyms to find
    assert list(tmp_path.glob("acronyms-*.json"))

    def refuse(texts: object) -> dict[str, set[str]]:
        raise AssertionError("mined again")

    monkeypatch.setattr(acronym_cache, "mine_acronyms", refuse)
    again = acronym_table(PAPERS, tmp_path, "emb", "stamp-1")
    assert again.pairs == first.pairs and again.expand("SAE features") == first.expand("SAE features")
    with pytest.raises(AssertionError, match="mined again"):
        acronym_table(PAPERS, tmp_path, "emb", "stamp-2")  # a write changed the stamp


@pytest.mark.parametrize("damage", [b"", b"{", b'{"key": 1}', b'{"key": "x", "pairs": 3}', b"\x00\xff"])
def test_a_damaged_cache_is_mined_afresh(tmp_path: Path, damage: bytes) -> None:
    acronym_table(PAPERS, tmp_path, "emb", "s")
    (path,) = tmp_path.glob("acronyms-*.json")
    path.write_bytes(damage)
    assert acronym_table(PAPERS, tmp_path, "emb", "s").pairs == _mined()
    assert acronym_table(PAPERS, tmp_path, "emb", "s").pairs == _mined()  # and saved again


def test_without_a_data_dir_or_a_writable_one_it_is_only_mined(tmp_path: Path) -> None:
    assert acronym_table(PAPERS, None, "emb", "s").pairs == _mined()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert acronym_table(PAPERS, blocked, "emb", "s").pairs == _mined()
