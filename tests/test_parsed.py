"""The parsed-inputs cache: unchanged inputs skip parsing, any change or damage is a miss, never an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.index import parsed
from rag.index.corpus import load_papers, parse_file
from rag.index.parsed import CACHE, RECORDS, parsed_papers


def _write(path: Path, titles: list[str]) -> Path:
    rows = [{"title": t, "abstract": f"We study {t.lower()} with a new method and report gains."} for t in titles]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(paths: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(parsed, "load_papers", refuse)


def test_unchanged_inputs_come_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = [_write(tmp_path / "a.jsonl", ["Alpha Nets", "Beta Nets"]), _write(tmp_path / "b.jsonl", ["Gamma"])]
    first = parsed_papers(inputs, tmp_path / "data")
    assert first == load_papers(inputs) and (tmp_path / "data" / CACHE).is_file()
    _no_parsing(monkeypatch)
    assert parsed_papers(inputs, tmp_path / "data") == first  # every field, sources with file and line too


def test_any_change_to_the_inputs_or_the_parsers_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    a = _write(tmp_path / "a.jsonl", ["Alpha Nets", "Beta Nets"])
    parsed_papers([a], data)
    info = a.stat()
    _write(a, ["Alpha Nots", "Beta Nets"])  # same size, same time: only the content tells
    os.utime(a, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert a.stat().st_size == info.st_size
    assert [p.title for p in parsed_papers([a], data)] == ["Alpha Nots", "Beta Nets"]
    b = _write(tmp_path / "b.jsonl", ["Gamma"])
    assert len(parsed_papers([a, b], data)) == 3  # another input
    assert len(parsed_papers([a], data)) == 2  # one fewer
    monkeypatch.setattr(parsed, "_code_version", lambda: "a new parser")
    calls: list[object] = []
    monkeypatch.setattr(parsed, "parse_file", lambda path: calls.append(path) or parse_file(path))
    parsed_papers([a], data)
    assert len(calls) == 1


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"key": 3}', b'{"items": [1, 2]}', b"\xff\xfe\x00"])
def test_a_damaged_cache_is_a_miss_and_is_rewritten(tmp_path: Path, damage: bytes) -> None:
    a = _write(tmp_path / "a.jsonl", ["Alpha Nets"])
    data = tmp_path / "data"
    expected = parsed_papers([a], data)
    (data / CACHE).write_bytes(damage)
    assert parsed_papers([a], data) == expected
    assert json.loads((data / CACHE).read_text())["items"][0]["title"] == "Alpha Nets"


def test_a_damaged_cache_with_the_right_key_is_a_miss(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", ["Alpha Nets"])
    data = tmp_path / "data"
    expected = parsed_papers([a], data)
    cache = json.loads((data / CACHE).read_text())
    (data / CACHE).write_text(json.dumps({"key": cache["key"], "items": [{"title": "no id"}]}))
    assert parsed_papers([a], data) == expected


def test_bad_inputs_are_reported_every_time_and_never_cached(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "No abstract here"}\n', encoding="utf-8")
    for _ in range(2):
        with pytest.raises(CorpusError):
            parsed_papers([bad], tmp_path / "data")
    assert not (tmp_path / "data" / CACHE).exists()
    with pytest.raises(CorpusError):
        parsed_papers([tmp_path / "missing.jsonl"], tmp_path / "data")


def test_a_fifo_is_parsed_not_cached(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    assert parsed.file_digests([fifo]) is None  # never opened for hashing (it could be read only once)
    with pytest.raises(CorpusError):
        parsed_papers([fifo], tmp_path / "data")


def test_an_unwritable_data_dir_only_costs_the_cache(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", ["Alpha Nets"])
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert [p.title for p in parsed_papers([a], blocked / "data")] == ["Alpha Nets"]


def test_a_new_file_is_the_only_one_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    a, b = _write(tmp_path / "a.jsonl", ["Alpha Nets", "Beta Nets"]), _write(tmp_path / "b.jsonl", ["Gamma"])
    parsed_papers([a], data)
    assert len(list((data / RECORDS).glob("*.json"))) == 1
    seen: list[Path] = []
    real = parsed.parse_file
    monkeypatch.setattr(parsed, "parse_file", lambda path: seen.append(path) or real(path))
    papers = parsed_papers([a, b], data)
    assert seen == [b] and papers == load_papers([a, b])  # a's records from the cache, de-duplicated again
    (next(f for f in (data / RECORDS).glob("*.json") if "Gamma" in f.read_text())).write_text("{")  # damaged
    (data / CACHE).unlink()
    assert parsed_papers([a, b], data) == papers and seen == [b, b]


def test_a_file_rewritten_while_it_is_parsed_is_not_cached_under_its_old_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An auto-export (Zotero's Better BibTeX rewrites its file on every library change) between the digest and the
    read: the papers read are returned, but never cached under the old bytes' digest, so the old bytes, given again,
    are parsed as they are."""
    abstract = "We study the problem of retrieval for scientific papers and show that a simple method works well."
    library = tmp_path / "lib.csv"
    old, new = (f'title,abstract\n{t},"{abstract}"\n' for t in ("Old paper", "New paper"))
    library.write_text(old, encoding="utf-8")

    def rewritten_meanwhile(path: Path) -> list:  # type: ignore[type-arg]
        library.write_text(new, encoding="utf-8")
        return parse_file(path)

    monkeypatch.setattr(parsed, "parse_file", rewritten_meanwhile)
    assert [p.title for p in parsed_papers([library], tmp_path / "data")] == ["New paper"]
    monkeypatch.setattr(parsed, "parse_file", parse_file)
    library.write_text(old, encoding="utf-8")
    assert [p.title for p in parsed_papers([library], tmp_path / "data")] == ["Old paper"]
