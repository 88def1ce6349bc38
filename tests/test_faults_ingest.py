"""Fault-finding for ingest (issue 13): generated bad inputs, concurrent ingests, accidental emptying, ids.

Every bad input must end in a clean ``CorpusError`` (exit 3 through the CLI) naming the bad file, with the
data dir byte-identical afterwards. Two ingests on one data dir are serialised by the lock: the second one
waits (and then reports the truth) or gives up with ``IngestBusyError`` naming the first one's pid.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import unicodedata
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT, SMALL_PAPERS, HashEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.app.cli import main
from rag.errors import ConfigError, CorpusError, IngestBusyError, RagError
from rag.index.corpus import MAX_TITLE_CHARS, load_papers, paper_id
from rag.index.ingest import rebuild_inputs, rebuild_marker, run_ingest
from rag.index.lock import LOCK_NAME, OWNER_NAME, ingest_lock
from rag.index.store import Store, open_chroma
from rag.pipeline import Pipeline
from rag.settings import Settings

ABSTRACT = (
    "We study a simple problem in machine learning. Our method is evaluated on three benchmarks and "
    "improves accuracy by 3.5 points over the strongest baseline."
)


def write_jsonl(path: Path, papers: list[tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"title": t, "abstract": a}) + "\n" for t, a in papers), encoding="utf-8")
    return path


def small_corpus(folder: Path) -> Path:
    return write_jsonl(folder / "small.jsonl", [(p.title, p.abstract) for p in SMALL_PAPERS])


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> SHA-256 of its bytes)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def stored_content(data_dir: Path) -> tuple[object, ...]:
    """Everything stored for the fake embedder: records (ids, texts, metadata, vectors) and the BM25 files.
    (Chroma rewrites its own files when it merely opens or reads them, so an ingest that opened the index
    can only be compared by content; ingests that fail while parsing are compared byte for byte.)"""
    store = Store(open_chroma(data_dir, fresh=True), HashEmbedder.name)
    rows = [c.get(include=["documents", "metadatas", "embeddings"]) for c in (store.chunks, store.sentences)]
    records = [sorted(zip(r["ids"], r["documents"], [json.dumps(m, sort_keys=True) for m in r["metadatas"]],
                          [list(map(float, v)) for v in r["embeddings"]], strict=True)) for r in rows]  # fmt: skip
    stamp = {k: v for k, v in (store.chunks.metadata or {}).items()}
    return records, stamp, {k: v for k, v in tree_digest(data_dir).items() if k.startswith("bm25-")}


def ingest_cli(capsys: pytest.CaptureFixture[str], settings: Settings, embedder: HashEmbedder, *args: str):  # type: ignore[no-untyped-def]
    code = main(["ingest", "--quiet", *args], settings=settings, embedder=embedder)
    out, err = capsys.readouterr()
    return code, out, err


def summary_numbers(line: str) -> dict[str, int]:
    """The counts of an ingest summary line ("added 4, updated 0, ... index holds 4 papers, ...")."""
    pairs = re.findall(r"(added|updated|unchanged|removed) (\d+)", line)
    held = re.search(r"index holds (\d+) papers?, (\d+) chunks?, (\d+) sentences?", line)
    assert held is not None, line
    return {
        **{k: int(v) for k, v in pairs},
        "papers": int(held[1]),
        "chunks": int(held[2]),
        "sentences": int(held[3]),
    }


# ----------------------------------------------------------------------------------- generated bad inputs

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _json_line(value: object) -> str:
    return json.dumps(value)


BAD_INPUTS = st.one_of(
    # binary: NUL bytes anywhere
    st.tuples(
        st.sampled_from([".txt", ".jsonl", ".csv"]),
        st.tuples(st.binary(max_size=300), st.binary(max_size=300)).map(lambda ab: b"x" + ab[0] + b"\x00" + ab[1]),
    ),
    # broken UTF-8 (a lone continuation byte / an invalid start byte) after some valid text
    st.tuples(
        st.sampled_from([".txt", ".jsonl", ".csv"]),
        st.tuples(
            st.text(alphabet="abc xyz\n", max_size=200), st.sampled_from([b"\x80", b"\xc3(", b"\xff", b"\xed\xa0\x80"])
        ).map(lambda t: b"T" + t[0].encode() + t[1] + b" tail"),
    ),
    # UTF-16 text
    st.tuples(st.sampled_from([".txt", ".jsonl"]), st.text(min_size=1, max_size=100).map(lambda t: t.encode("utf-16"))),
    # empty or whitespace only
    st.tuples(st.sampled_from([".txt", ".jsonl", ".csv"]), st.text(alphabet=" \t\r\n", max_size=30).map(str.encode)),
    # deeply nested JSON (RecursionError inside json) at the top level or inside a field
    st.tuples(
        st.just(".jsonl"),
        st.integers(min_value=2_000, max_value=40_000)
        .flatmap(
            lambda n: st.sampled_from(
                [
                    "[" * n + "]" * n,
                    '{"title": ' + "[" * n + "]" * n + ', "abstract": "x"}',
                    '{"a": ' * n + "1" + "}" * n,
                ]
            )
        )
        .map(str.encode),
    ),
    # an integer of more than 4,300 digits (ValueError inside json)
    st.tuples(
        st.just(".jsonl"),
        st.integers(min_value=4_301, max_value=30_000).map(
            lambda n: (json.dumps({"title": "T", "abstract": ABSTRACT})[:-1] + ', "n": ' + "7" * n + "}").encode()
        ),
    ),
    # a line longer than the limit (a 10 MB line is the same fault)
    st.tuples(
        st.sampled_from([".txt", ".jsonl", ".csv"]),
        st.integers(min_value=100_001, max_value=130_000).map(lambda n: b"title,abstract\n" + b"y" * n),
    ),
    # JSONL: not JSON, not an object, missing or blank or non-text fields
    st.tuples(
        st.just(".jsonl"),
        st.one_of(
            st.text(min_size=1, max_size=40).filter(lambda t: _not_json(t)).map(lambda t: t.replace("\n", " ")),
            _JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(_json_line),
            st.dictionaries(st.sampled_from(["title", "abstract", "date", "x"]), _JSON_VALUES, max_size=4)
            .filter(
                lambda d: (
                    not (
                        isinstance(d.get("title"), str)
                        and d["title"].strip()
                        and isinstance(d.get("abstract"), str)
                        and d["abstract"].strip()
                    )
                )
            )
            .map(_json_line),
        ).map(lambda line: (json.dumps({"title": "Fine", "abstract": ABSTRACT}) + "\n" + line + "\n").encode()),
    ),
    # a title over the one limit of every format, or an abstract over it (CSV cells may hold newlines)
    st.tuples(
        st.sampled_from([".jsonl", ".csv", ".txt"]),
        st.integers(min_value=MAX_TITLE_CHARS + 1, max_value=MAX_TITLE_CHARS + 2_000).map(lambda n: "T" * n),
    ).map(lambda t: (t[0], _one_paper(t[0], t[1], ABSTRACT))),
    st.tuples(
        st.just(".csv"), st.integers(min_value=101, max_value=200).map(lambda n: "\n".join([ABSTRACT] * 10 * n))
    ).map(lambda t: (t[0], _one_paper(".csv", "A Fine Title", t[1]))),
    # CSV without title/abstract columns, or with a blank cell
    st.tuples(
        st.just(".csv"),
        st.one_of(
            st.lists(st.sampled_from(["name", "summary_x", "text", "id"]), min_size=1, max_size=4, unique=True).map(
                lambda cols: (",".join(cols) + "\n" + ",".join("v" for _ in cols) + "\n").encode()
            ),
            st.sampled_from([f'title,abstract\n"",{ABSTRACT}\n', "title,abstract\nT,\n", "title,abstract\n"]).map(
                str.encode
            ),
        ),
    ),
    # listing: a title with no abstract after it
    st.tuples(
        st.just(".txt"),
        st.text(alphabet="ABCDEFGHIJ klmnop", min_size=3, max_size=60)
        .filter(lambda t: t.strip() and t.strip().lower() not in ("new", "subscribe"))
        .map(lambda t: f"A Good Title\n{ABSTRACT}\n{t}\n".encode()),
    ),
)


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _one_paper(suffix: str, title: str, abstract: str) -> bytes:
    if suffix == ".jsonl":
        return (json.dumps({"title": title, "abstract": abstract}) + "\n").encode()
    if suffix == ".csv":
        cell = abstract.replace('"', '""')
        return f'title,abstract\n{title},"{cell}"\n'.encode()
    return f"{title}\n{abstract}\n".encode()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path, dict[str, str]]:
    """An index of the small corpus made by ``rag ingest``, and the digest of its data dir."""
    root = tmp_path_factory.mktemp("faults")
    settings = Settings(data_dir=root / "data")
    good = root / "good"
    small_corpus(good)
    assert main(["ingest", "--quiet", str(good)], settings=settings, embedder=HashEmbedder()) == 0
    return settings, good, tree_digest(settings.data_dir)


@settings(
    max_examples=260, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(case=BAD_INPUTS)
def test_every_bad_input_is_a_corpus_error_and_leaves_the_index_byte_identical(
    case: tuple[str, bytes], built: tuple[Settings, Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, good, digest = built
    suffix, data = case
    bad = good.parent / f"bad{suffix}"
    bad.write_bytes(data)
    try:
        with pytest.raises(RagError) as info:  # any other exception type fails the test
            load_papers([good, bad])
        assert type(info.value) is CorpusError and info.value.path == str(bad), info.value
        embedder = HashEmbedder()
        code, out, err = ingest_cli(capsys, settings, embedder, str(good), str(bad))
        assert code == 3 and out == "" and err.startswith(f"error: {bad}"), err
        assert "Nothing was written to the index" in err and "Traceback" not in err
        assert embedder.calls == []
        assert tree_digest(settings.data_dir) == digest
    finally:
        bad.unlink()


# ------------------------------------------------------------------------------------ never emptied by accident


def test_empty_folder_and_md_only_folder_are_errors_and_change_nothing(
    built: tuple[Settings, Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _, digest = built
    empty = tmp_path / "empty"
    empty.mkdir()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "README.md").write_text("# not a corpus\n")
    (notes / "todo.md").write_text("- nothing\n")
    (notes / "sub").mkdir()
    code, out, err = ingest_cli(capsys, settings, HashEmbedder(), str(empty))
    assert code == 3 and out == ""
    assert f"error: {empty}: the folder holds no .txt, .jsonl, .json, .csv, .tsv or .bib files" in err
    code, _, err = ingest_cli(capsys, settings, HashEmbedder(), str(notes))
    assert code == 3 and f"error: {notes}: the folder holds no .txt, .jsonl, .json, .csv, .tsv or .bib files" in err
    assert "(it holds 3 other entries: .md, sub/)" in err
    with pytest.raises(CorpusError, match="no files or folders were given"):
        load_papers([])
    assert tree_digest(settings.data_dir) == digest
    code = main(["stats", "--json"], settings=settings, embedder=HashEmbedder())
    assert code == 0 and json.loads(capsys.readouterr().out)["papers"] == 4


def test_dropping_more_than_half_needs_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    full = small_corpus(tmp_path / "full")
    assert ingest_cli(capsys, settings, HashEmbedder(), str(full))[0] == 0
    half = write_jsonl(tmp_path / "half" / "h.jsonl", [(p.title, p.abstract) for p in SMALL_PAPERS[:2]])
    one = write_jsonl(tmp_path / "one" / "o.jsonl", [(SMALL_PAPERS[0].title, SMALL_PAPERS[0].abstract)])
    before = stored_content(settings.data_dir)
    code, out, err = ingest_cli(capsys, settings, HashEmbedder(), str(one))
    assert code == ConfigError.exit_code == 2 and out == ""
    assert "would remove 3 of the 4 indexed papers" in err and "rag ingest --prune" in err
    assert stored_content(settings.data_dir) == before  # refused before any write
    code, out, _ = ingest_cli(capsys, settings, HashEmbedder(), str(half))  # exactly half: the mirror behaviour
    numbers = summary_numbers(out)
    assert code == 0 and [numbers[k] for k in ("added", "updated", "unchanged", "removed", "papers")] == [0, 0, 2, 2, 2]
    code, out, _ = ingest_cli(capsys, settings, HashEmbedder(), "--prune", str(full))
    assert code == 0 and summary_numbers(out)["added"] == 2
    code, out, _ = ingest_cli(capsys, settings, HashEmbedder(), "--prune", str(one))
    assert code == 0 and summary_numbers(out)["removed"] == 3 and summary_numbers(out)["papers"] == 1
    store = Store(open_chroma(settings.data_dir), HashEmbedder.name)
    assert set(store.state()) == {SMALL_PAPERS[0].id}
    code, _, err = ingest_cli(capsys, settings, HashEmbedder(), "--prune", "--rebuild", str(one))
    assert code == 2 and "not allowed with argument" in err


class FailingEmbedder(HashEmbedder):
    """Dies on its ``fail_on``-th call (a crash mid-ingest)."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on

    def embed(self, texts):  # type: ignore[no-untyped-def]
        if len(self.calls) + 1 == self.fail_on:
            self.calls.append(-1)
            raise RuntimeError("killed mid-rebuild")
        return super().embed(texts)


def _many(n: int, tag: str = "") -> list[tuple[str, str]]:
    return [(f"Paper {tag}{i} on topic {i * 7}", f"Abstract {i} studies topic {i * 7}. It has two sentences.")
            for i in range(n)]  # fmt: skip


def test_rebuild_starts_clean_and_a_failed_rebuild_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    corpus = write_jsonl(tmp_path / "c" / "c.jsonl", _many(40))  # two batches of 32 and 8
    first = HashEmbedder()
    assert ingest_cli(capsys, settings, first, str(corpus))[0] == 0
    stored = Store(open_chroma(settings.data_dir), HashEmbedder.name).chunks.get(include=["documents", "metadatas"])
    again = HashEmbedder()
    code, out, _ = ingest_cli(capsys, settings, again, "--rebuild", str(corpus))
    assert code == 0 and out.startswith("rebuilt from scratch: added 40, updated 0, unchanged 0, removed 0")
    assert sum(again.calls) == sum(first.calls)  # everything embedded again
    rebuilt = Store(open_chroma(settings.data_dir), HashEmbedder.name).chunks.get(include=["documents", "metadatas"])
    assert sorted(rebuilt["ids"]) == sorted(stored["ids"])
    # a rebuild that dies in its second batch: the first batch is stored, the rerun embeds only the rest
    with pytest.raises(RuntimeError, match="killed mid-rebuild"):
        run_ingest(settings, FailingEmbedder(fail_on=2), [corpus], rebuild=True, progress=False)
    marker = rebuild_marker(settings.data_dir, HashEmbedder.name)
    assert marker.exists()
    assert len(Store(open_chroma(settings.data_dir), HashEmbedder.name).state()) == 32
    resumed = HashEmbedder()
    report = run_ingest(settings, resumed, [corpus], rebuild=True, progress=False)
    assert (report.added, report.unchanged, report.papers, report.rebuilt) == (8, 32, 40, True)
    assert len(resumed.calls) == 1 and not marker.exists()
    assert not (settings.data_dir / OWNER_NAME).exists()


def test_a_plain_rerun_finishes_an_interrupted_rebuild_of_the_users_own_papers(tmp_path: Path) -> None:
    """The error after an interrupted rebuild says "run `rag ingest`": run without paths, that finishes the
    rebuild of the inputs it was given, not of the configured corpus (it used to replace the user's papers
    with the bundled ones)."""
    settings = Settings(data_dir=tmp_path / "data")
    mine = write_jsonl(tmp_path / "mine" / "mine.jsonl", _many(40))
    run_ingest(settings, HashEmbedder(), [mine], progress=False)
    with pytest.raises(RuntimeError, match="killed mid-rebuild"):
        run_ingest(settings, FailingEmbedder(fail_on=2), [mine], rebuild=True, progress=False)
    report = run_ingest(settings, HashEmbedder(), progress=False)  # no paths: as the message says
    assert (report.added, report.unchanged, report.removed, report.papers) == (8, 32, 0, 40)
    assert not rebuild_marker(settings.data_dir, HashEmbedder.name).exists()
    rebuild_marker(settings.data_dir, HashEmbedder.name).write_text("a rebuild started\n")  # an older marker
    assert rebuild_inputs(rebuild_marker(settings.data_dir, HashEmbedder.name)) is None


# --------------------------------------------------------------------------------------------- Unicode ids


def legacy_paper_id(title: str) -> str:
    """The id scheme before issue 13 (a copy): sha1 of the title's a-z0-9 words."""
    folded = unicodedata.normalize("NFKD", title)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return "p" + hashlib.sha1(" ".join(re.findall(r"[a-z0-9]+", folded)).encode()).hexdigest()[:12]


BUNDLED_IDS_SHA256 = "76fe83952e07d70a5057ae66e096fa690951252a72c6966a954e12b17cfad8a3"
"""SHA-256 of the sorted, comma-joined ids of the 383 bundled papers, computed before the id change."""


def test_all_383_bundled_papers_keep_their_ids() -> None:
    papers = load_papers([CORPUS])
    assert len(papers) == 383
    assert all(p.id == legacy_paper_id(p.title) for p in papers)
    assert hashlib.sha256(",".join(sorted(p.id for p in papers)).encode()).hexdigest() == BUNDLED_IDS_SHA256
    assert any(not p.title.isascii() for p in papers)  # "λ-ECLIPSE: ..." keeps its id too


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("深度学习的新方法", "强化学习的新方法"),
        ("Обучение с подкреплением", "Глубокое обучение"),
        ("!!!", "???"),
        ("Transformer 用于机器翻译", "Transformer 用于图像分类"),
        ("कि", "की"),  # Devanagari vowel signs are letters' parts, not accents
    ],
)
def test_different_non_latin_titles_are_different_papers(first: str, second: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "u.jsonl", [(first, ABSTRACT), (second, ABSTRACT + " Again.")])
    papers = load_papers([path])
    assert [p.title for p in papers] == [first, second]
    assert papers[0].id != papers[1].id and paper_id(first) == papers[0].id
    assert re.fullmatch(r"p[0-9a-f]{12}", papers[1].id)
    assert paper_id(first) == paper_id(first + " ")  # stable


def test_ascii_ids_are_unchanged_and_variants_still_merge(tmp_path: Path) -> None:
    for title in ("Domain Generalization via Rationale Invariance", "A-B: c?", "x", "Café au lait", "ﬁne ligature"):
        assert paper_id(title) == legacy_paper_id(title)
    assert paper_id("ЖЖЖ Glubokoe") == paper_id("жжж  glubokoe!")  # case and punctuation aside, one paper
    path = write_jsonl(tmp_path / "v.jsonl", [("Café au Lait", ABSTRACT), ("cafe au lait!", ABSTRACT)])
    (paper,) = load_papers([path])
    assert paper.sources == ("v.jsonl:1", "v.jsonl:2")


def test_titles_differing_only_outside_latin_are_two_papers_not_merged(tmp_path: Path) -> None:
    """λ-ECLIPSE and μ-ECLIPSE share their legacy id (Greek letters ignored): two papers, neither merged nor
    refused; the smaller title keeps the id, whatever the order."""
    long = "-ECLIPSE: Multi-Concept Personalized Text-to-Image Diffusion Models via CLIP Latent Space"
    path = write_jsonl(tmp_path / "c.jsonl", [("μ" + long, ABSTRACT), ("λ" + long, ABSTRACT + " Again.")])
    papers = load_papers([path])
    assert [p.title[0] for p in papers] == ["μ", "λ"] and papers[0].id != papers[1].id
    assert papers[1].id == paper_id("λ" + long)  # λ sorts before μ: it keeps the id it always had


# ------------------------------------------------------------------------------------------- special files


@pytest.fixture
def alarm():  # type: ignore[no-untyped-def]
    """Fail (instead of hanging the suite) if the body blocks for 20 s, e.g. opening a FIFO."""
    import signal

    def boom(*_: object) -> None:
        raise TimeoutError("blocked: a special file was opened blocking")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_special_files_are_named_and_never_block(
    tmp_path: Path, built: tuple[Settings, Path, dict[str, str]], capsys: pytest.CaptureFixture[str], alarm: None
) -> None:
    settings, good, digest = built
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "inside.txt")
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "gone.csv")
    cases = [
        (fifo, "this is a named pipe (FIFO), not a corpus file"),
        (Path("/dev/null"), "this is a character device, not a corpus file"),
        (folder, f"{folder / 'inside.txt'}: this is a named pipe (FIFO)"),
        (loop, "this is a symbolic link loop"),
        (dangling, f"points at {tmp_path / 'gone.csv'}, which does not exist"),
        (tmp_path / "missing.txt", "no such file or folder"),
    ]
    started = time.monotonic()
    for path, message in cases:
        code, out, err = ingest_cli(capsys, settings, HashEmbedder(), str(good), str(path))
        assert code == 3 and out == "" and message in err, (path, err)
    assert time.monotonic() - started < 10
    assert tree_digest(settings.data_dir) == digest


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_named(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "secret.jsonl", [("T", ABSTRACT)])
    path.chmod(0)
    with pytest.raises(CorpusError, match="permission denied; make the file readable"):
        load_papers([path])


# ------------------------------------------------------------------------------------------------ the lock


def test_second_ingest_gives_up_naming_the_holder_and_readers_keep_working(
    built: tuple[Settings, Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, good, digest = built
    quick = Settings(**{**settings.model_dump(), "ingest_lock_timeout": 0.3})
    with ingest_lock(settings.data_dir, 1):
        assert (settings.data_dir / OWNER_NAME).read_text().strip() == str(os.getpid())
        started = time.monotonic()
        code, out, err = ingest_cli(capsys, quick, HashEmbedder(), str(good))
        assert code == IngestBusyError.exit_code == 8 and out == ""
        assert f"another ingest (pid {os.getpid()}) is writing {settings.data_dir}; waiting up to 0.3s" in err
        assert f"error: another ingest (pid {os.getpid()}) is running on {settings.data_dir}; waited 0.3s" in err
        assert "RAG_INGEST_LOCK_TIMEOUT" in err and 0.3 <= time.monotonic() - started < 5
        assert main(["search", "rationale invariance", "--json"], settings=settings, embedder=HashEmbedder()) == 0
        assert json.loads(capsys.readouterr().out)[0]["paper"]["id"] == SMALL_PAPERS[1].id
    assert not (settings.data_dir / OWNER_NAME).exists()
    unlocked = {k: v for k, v in digest.items() if k != LOCK_NAME}
    after = tree_digest(settings.data_dir)
    # the reader's search saved the acronym, name and word tables it mined (caches keyed by the store's stamp, not
    # the index)
    stamp = Store(open_chroma(settings.data_dir), HashEmbedder().name).stamp()
    tables = ("acronyms-", "casing-", "spelling-")
    for table in tables:
        assert json.loads((settings.data_dir / f"{table}hash-bow-256.json").read_text())["key"].startswith(stamp)
    assert {k: v for k, v in after.items() if k != LOCK_NAME and not k.startswith(tables)} == unlocked
    code, out, _ = ingest_cli(capsys, quick, HashEmbedder(), str(good))  # free again
    assert code == 0 and summary_numbers(out)["unchanged"] == 4


def test_a_waiting_ingest_runs_once_the_holder_releases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data", ingest_lock_timeout=30)
    corpus = small_corpus(tmp_path / "c")
    release = threading.Event()

    def hold() -> None:
        with ingest_lock(settings.data_dir, 1):
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    while not (settings.data_dir / OWNER_NAME).exists():
        time.sleep(0.01)
    threading.Timer(0.5, release.set).start()
    code, out, err = ingest_cli(capsys, settings, HashEmbedder(), str(corpus))
    holder.join()
    assert code == 0 and "waiting up to 30s" in err and summary_numbers(out)["added"] == 4


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from conftest import HashEmbedder
    from rag.app.cli import main
    from rag.settings import Settings

    class SlowEmbedder(HashEmbedder):
        def embed(self, texts):
            time.sleep(float(sys.argv[3]))
            return super().embed(texts)

    settings = Settings(data_dir=Path(sys.argv[1]), ingest_lock_timeout=float(sys.argv[2]))
    sys.exit(main(["ingest", "--quiet", *sys.argv[4:]], settings=settings, embedder=SlowEmbedder()))
    """
)


def _child(data_dir: Path, timeout: float, delay: float, *paths: Path) -> subprocess.Popen[str]:
    code = CHILD.format(tests=str(ROOT / "tests"))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir), str(timeout), str(delay), *map(str, paths)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip


def _wait_for_owner(data_dir: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not (data_dir / OWNER_NAME).exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)


@pytest.mark.slow
def test_two_concurrent_ingest_processes_leave_an_exact_index_and_true_summaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    a = write_jsonl(tmp_path / "a" / "a.jsonl", _many(70, "A"))  # three batches, 0.5 s each
    b = write_jsonl(tmp_path / "b" / "b.jsonl", _many(70, "A")[:60] + _many(5, "B"))
    # 1. the second ingest waits for the first, then mirrors its own inputs; both summaries are the truth
    first = _child(data_dir, 60, 0.5, a)
    _wait_for_owner(data_dir, first)
    second = _child(data_dir, 60, 0.0, b)
    out_a, err_a = first.communicate(timeout=120)
    out_b, err_b = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, (err_a, err_b)
    assert f"another ingest (pid {first.pid}) is writing {data_dir}" in err_b
    sa, sb = summary_numbers(out_a), summary_numbers(out_b)
    assert (sa["added"], sa["papers"]) == (70, 70)
    assert (sb["added"], sb["unchanged"], sb["removed"], sb["papers"]) == (5, 60, 10, 65)
    store = Store(open_chroma(data_dir, fresh=True), HashEmbedder.name)
    assert set(store.state()) == {paper_id(t) for t, _ in _many(70, "A")[:60] + _many(5, "B")}
    assert (
        store.counts()
        == {"papers": 65, "chunks": sb["chunks"], "sentences": sb["sentences"]}
        == {k: sb[k] for k in ("papers", "chunks", "sentences")}
    )
    # 2. a second ingest that may not wait fails with IngestBusyError naming the first; the index is exact
    first = _child(data_dir, 60, 0.5, a)
    _wait_for_owner(data_dir, first)
    busy = _child(data_dir, 0.2, 0.0, b)
    _, err_busy = busy.communicate(timeout=120)
    out_a, err_a = first.communicate(timeout=120)
    assert busy.returncode == IngestBusyError.exit_code, err_busy
    assert f"error: another ingest (pid {first.pid}) is running on {data_dir}" in err_busy
    assert first.returncode == 0, err_a
    sa = summary_numbers(out_a)
    assert (sa["added"], sa["unchanged"], sa["removed"], sa["papers"]) == (10, 60, 5, 70)
    client = open_chroma(data_dir, fresh=True)  # this process's cached view predates the children's writes
    assert set(Store(client, HashEmbedder.name).state()) == {paper_id(t) for t, _ in _many(70, "A")}
    pipeline = Pipeline.open(Settings(data_dir=data_dir), embedder=HashEmbedder(), chroma_client=client, progress=False)
    top = [h.paper.id for h in pipeline.search("topic 14", 3)]
    assert paper_id(_many(70, "A")[2][0]) in top  # "Paper A2 on topic 14": a usable index


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_stale_lock(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    corpus = write_jsonl(tmp_path / "a" / "a.jsonl", _many(70, "K"))
    child = _child(data_dir, 60, 5.0, corpus)
    _wait_for_owner(data_dir, child)
    child.kill()
    child.communicate(timeout=60)
    started = time.monotonic()
    report = run_ingest(Settings(data_dir=data_dir, ingest_lock_timeout=0), HashEmbedder(), [corpus], progress=False)
    assert report.papers == 70 and time.monotonic() - started < 30


def test_a_folder_skips_hidden_entries_and_names_the_sub_folders_it_leaves_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reviewer's folder: Emacs's lock link ".#refs.bib" (pointing nowhere) stopped the ingest, a ".hidden.jsonl"
    copy was indexed, and nothing said that "sub/" was not read."""
    from rag.index.files import expand_paths

    folder = tmp_path / "papers"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_text('{"title": "T", "abstract": "An abstract."}\n')
    (folder / ".hidden.jsonl").write_text('{"title": "U", "abstract": "A copy."}\n')
    (folder / ".#refs.bib").symlink_to("root@host.1234:1700000000")
    (folder / "sub" / "b.jsonl").write_text('{"title": "V", "abstract": "Nested."}\n')
    with caplog.at_level("WARNING"):
        assert expand_paths([folder]) == [folder / "a.jsonl"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{folder}: left out 1 sub-folder(s) (sub/); folders are read one level deep, so name a sub-folder (to rag "
        "ingest or in RAG_CORPUS_PATHS) to read it"
    ]
    caplog.clear()
    with caplog.at_level("WARNING"):
        expand_paths([folder], quiet=True)
    assert not caplog.records


def test_a_folder_names_the_files_it_leaves_out_and_a_packed_file_is_named_as_such(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A reviewer's folder with "a.jsonl.gz" and "refs.ris" was ingested without a word about them, and the gzip file
    named on its own was "a binary file (it holds NUL bytes)"."""
    import gzip

    from rag.index.corpus import load_papers
    from rag.index.files import expand_paths

    folder = tmp_path / "papers"
    folder.mkdir()
    row = b'{"title": "T", "abstract": "An abstract long enough to be one."}\n'
    (folder / "a.jsonl").write_bytes(row)
    (folder / "b.jsonl.gz").write_bytes(gzip.compress(row))
    (folder / "refs.ris").write_text("TY  - JOUR\n")
    with caplog.at_level("WARNING"):
        assert expand_paths([folder]) == [folder / "a.jsonl"]
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"{folder}: left out 2 file(s) whose names it does not read (b.jsonl.gz, refs.ris)")
    with pytest.raises(CorpusError, match=r"b\.jsonl\.gz: the file is gzip-compressed; unpack it"):
        load_papers([folder / "b.jsonl.gz"])
