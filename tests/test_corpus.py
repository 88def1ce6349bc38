"""The corpus parser: the bundled listings, JSONL/CSV inputs, a round-trip property test, and bad input
(which must raise a CorpusError naming file and line and leave the index exactly as it was)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, HashEmbedder, make_paper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import CorpusError
from rag.index.corpus import (
    BOILERPLATE,
    MAX_LINE_CHARS,
    dedupe,
    load_papers,
    paper_id,
    parse_csv,
    parse_file,
    parse_jsonl,
    parse_listing,
)
from rag.index.formats import Record
from rag.index.formats.base import INVISIBLE
from rag.index.ingest import ingest, keyword_dir
from rag.index.store import Store, open_chroma
from rag.text import find_urls, normalize_title

FILE_002 = CORPUS / "002_436f255107bb065d.txt"
FILE_003 = CORPUS / "003_4cdc1e3ca58c9d01.txt"
FILE_004 = CORPUS / "004_189af028c8290844.txt"

ABSTRACT = (
    "We study a simple problem in machine learning. Our method is evaluated on three benchmarks and "
    "improves accuracy by 3.5 points. Code is at https://github.com/example/repo."
)


# ---- the bundled corpus --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "count", "date"), [(FILE_002, 240, None), (FILE_003, 86, "Mar 21"), (FILE_004, 71, "Mar 17")]
)
def test_each_listing_has_its_exact_record_count_and_date(path: Path, count: int, date: str | None) -> None:
    records = parse_file(path)
    assert len(records) == count
    assert {r.listing_date for r in records} == {date}
    assert all(r.title and len(r.abstract.split()) >= 12 for r in records)
    assert all(r.source.startswith(path.name + ":") for r in records)
    # no boilerplate or date line slipped in as a title
    assert not {r.title.lower() for r in records} & BOILERPLATE
    assert not any(r.title.startswith("Subscribe") for r in records)


def test_bundled_corpus_dedupes_to_383_papers_14_with_two_sources() -> None:
    papers = load_papers([CORPUS])
    assert len(papers) == 383
    assert len({p.id for p in papers}) == 383
    twice = [p for p in papers if len(p.sources) == 2]
    assert len(twice) == 14
    assert all(len(p.sources) in (1, 2) for p in papers)
    for p in twice:  # two different files, each source a file:line
        files = {s.split(":")[0] for s in p.sources}
        assert len(files) == 2, p.sources
    # 240 + 86 + 71 records, 14 of them duplicates
    assert sum(len(p.sources) for p in papers) == 240 + 86 + 71 == 383 + 14


def test_first_title_of_002_has_the_glued_subscribe_removed() -> None:
    first = parse_file(FILE_002)[0]
    assert first.title == "Domain Generalization via Rationale Invariance"
    assert first.source == f"{FILE_002.name}:3"
    assert first.abstract.startswith(
        "This paper offers a new perspective to ease the challenge of domain generalization"
    )
    assert first.listing_date is None
    papers = load_papers([FILE_002])
    assert papers[0].urls == ("https://github.com/liangchen527/RIDG",)


def test_titles_with_colons_question_marks_and_seg_tokens_are_intact() -> None:
    titles = {r.title for path in (FILE_002, FILE_003, FILE_004) for r in parse_file(path)}
    assert "Reasoning to Attend: Try to Understand How <SEG> Token Works" in titles
    assert "NNN: Next-Generation Neural Networks for Marketing Measurement" in titles
    assert "What exactly has TabPFN learned to do?" in titles
    assert "Why think step by step? Reasoning emerges from the locality of experience" in titles
    assert (
        "Which Features are Learnt by Contrastive Learning? On the Role of Simplicity Bias in Class Collapse "
        "and Feature Suppression"
    ) in titles
    assert sum(":" in t for t in titles) > 50
    assert sum("?" in t for t in titles) >= 20


def test_dates_follow_the_file_and_dedup_keeps_the_first_date() -> None:
    papers = load_papers([CORPUS])
    by_title = {p.title: p for p in papers}
    assert (
        by_title["DIMAT: Decentralized Iterative Merging-And-Training for Deep Learning Models"].listing_date
        == "Mar 21"
    )
    assert by_title["Subject Membership Inference Attacks in Federated Learning"].listing_date == "Mar 17"
    assert by_title["Domain Generalization via Rationale Invariance"].listing_date is None
    for p in papers:
        if len(p.sources) == 2 and p.sources[0].startswith("002_"):
            # date-less first source: the date comes from the second file
            assert p.listing_date in {"Mar 21", "Mar 17"}


def test_only_real_month_names_make_a_date_line(tmp_path: Path) -> None:
    text = f"Sept 9\n\nMayhem 2\n\n{ABSTRACT}\n\nJanuary 3, 2024\n\nMarch 21\n\nMarching 21\n\n{ABSTRACT}\n"
    records = parse_listing(tmp_path / "dates.txt", text)
    assert [(r.title, r.listing_date) for r in records] == [("Mayhem 2", "Sept 9"), ("Marching 21", "March 21")]


def test_subscribe_is_unglued_from_the_first_title_only(tmp_path: Path) -> None:
    text = f"Subscribe\nSubscribeFirst Title\n{ABSTRACT}\nSubscribeNet: A Title Starting With Subscribe\n{ABSTRACT}\n"
    titles = [r.title for r in parse_listing(tmp_path / "s.txt", text)]
    assert titles == ["First Title", "SubscribeNet: A Title Starting With Subscribe"]


def test_paper_ids_are_stable() -> None:
    title = "Domain Generalization via Rationale Invariance"
    assert paper_id(title) == "pe07529f3dc95"  # regression value: ids key the index, they must never change
    assert paper_id(title) == paper_id(title)
    assert paper_id("  domain generalization VIA rationale-invariance! ") == "pe07529f3dc95"
    assert paper_id("Domain Generalisation via Rationale Invariance") != "pe07529f3dc95"
    assert normalize_title("Reasoning to Attend: Try to Understand How <SEG> Token Works") == (
        "reasoning to attend try to understand how seg token works"
    )
    first = [p.id for p in load_papers([CORPUS])]
    second = [p.id for p in load_papers([FILE_004, FILE_003, FILE_002])]
    assert sorted(first) == sorted(second)
    assert first[0] == "pe07529f3dc95"


def test_urls_are_extracted_from_abstracts() -> None:
    papers = load_papers([CORPUS])
    with_urls = [p for p in papers if p.urls]
    assert len(with_urls) >= 40
    for p in with_urls:
        for url in p.urls:
            assert url.startswith(("http://", "https://"))
            assert url in p.abstract
            assert not url.endswith((".", ",", ")", ";"))
    assert find_urls("See https://x.org/a_b. And (http://y.io/c), https://x.org/a_b again.", schemed=True) == (
        "https://x.org/a_b",
        "http://y.io/c",
    )
    assert find_urls("no links here, only https:// and text") == ()
    # LaTeX leftovers of the scrape end a link; a scheme glued to a stray "htt" still starts one; a bare
    # www. address is a link for the checker but not a paper's code link
    text = r"see https://x.org/r/{github} and htthttps://github.com/a/b. Or www.site.org/p."
    assert find_urls(text) == ("https://x.org/r/", "https://github.com/a/b", "www.site.org/p")
    assert find_urls(text, schemed=True) == ("https://x.org/r/", "https://github.com/a/b")
    # a host without a dot is still a link (the checker must see it), and "//" later in a www. address does
    # not make it schemed
    assert find_urls("see http://localhost:8000/x and www.a.org//b") == ("http://localhost:8000/x", "www.a.org//b")
    assert find_urls("see http://localhost:8000/x and www.a.org//b", schemed=True) == ("http://localhost:8000/x",)
    assert any(p.urls == ("https://github.com/Wusiwei0410/MMRA",) for p in papers)


# ---- JSONL and CSV -------------------------------------------------------------------------------


def test_jsonl_with_title_and_abstract_fields(tmp_path: Path) -> None:
    path = tmp_path / "papers.jsonl"
    rows = [
        {"title": "A Title: With Colon?", "abstract": ABSTRACT, "extra": 1},
        {"Title": "  Second   Paper ", "summary": "Short abstract.\nWith a newline.", "date": "Mar 3"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows[:1]) + "\n\n" + json.dumps(rows[1]) + "\n")
    records = parse_jsonl(path)
    assert [(r.title, r.abstract, r.listing_date, r.source) for r in records] == [
        ("A Title: With Colon?", ABSTRACT, None, "papers.jsonl:1"),
        ("Second Paper", "Short abstract. With a newline.", "Mar 3", "papers.jsonl:3"),
    ]
    papers = load_papers([path])
    assert papers[0].urls == ("https://github.com/example/repo",)


def test_csv_with_title_and_abstract_columns(tmp_path: Path) -> None:
    path = tmp_path / "papers.csv"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "Title", "Abstract", "listing_date"])
    writer.writerow([1, 'Commas, "Quotes" and: Colons', ABSTRACT, "Mar 17"])
    writer.writerow([2, "Multi-line Field", "First line.\nSecond line, still the same abstract.", ""])
    path.write_text(buf.getvalue(), encoding="utf-8")
    records = parse_csv(path)
    assert [(r.title, r.abstract, r.listing_date) for r in records] == [
        ('Commas, "Quotes" and: Colons', ABSTRACT, "Mar 17"),
        ("Multi-line Field", "First line. Second line, still the same abstract.", None),
    ]
    assert records[0].source == "papers.csv:2"
    assert [p.title for p in load_papers([tmp_path])] == [r.title for r in records]


def test_folder_mixes_formats_and_dedupes_across_them(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "Same Paper", "abstract": ABSTRACT}) + "\n")
    (tmp_path / "b.csv").write_text(f'title,abstract\n"SAME paper!","{ABSTRACT}"\n')
    (tmp_path / "notes.md").write_text("ignored: not a corpus suffix")
    papers = load_papers([tmp_path])
    assert len(papers) == 1
    assert papers[0].sources == ("a.jsonl:1", "b.csv:2")


# ---- round trip (property test) ------------------------------------------------------------------

_PLAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
_TITLE_WORD = st.one_of(
    _PLAIN,
    _PLAIN.map(lambda w: w + ":"),
    _PLAIN.map(lambda w: w + "?"),
    st.sampled_from(["<SEG>", "<EOS>", "[MASK]", "Multi-Modal", "GPT-4", "3.5", "(RAG)", "&", "\u00e9t\u00e9"]),
)
_CAP = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=1)
# A title: starts with a capital (as real titles do, so a glued "Subscribe" can be told apart), 3..14 words
# (so it can never read as a date line "Mar 21" or the boilerplate "New"), at most 200 characters.
_TITLE = st.builds(
    lambda cap, first, rest: " ".join([cap + first, *rest]),
    _CAP,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=9),
    st.lists(_TITLE_WORD, min_size=2, max_size=13),
).filter(lambda t: len(t) <= 200 and t.lower() not in BOILERPLATE and not t.startswith("Subscribe"))
_ABSTRACT_WORD = st.one_of(_PLAIN, st.sampled_from(["e.g.", "i.e.", "3.5%", "v1.2.3", "arXiv:2101.00001", "(ours)"]))
_SENTENCE = st.builds(
    lambda cap, words: " ".join([cap + "x", *words]) + ".", _CAP, st.lists(_ABSTRACT_WORD, min_size=3, max_size=19)
)
# An abstract: 3..6 sentences of 4..20 words each ending in "." -- so >= 12 words with sentence
# punctuation, the parser's test for an abstract line (real abstracts are far longer).
_ABSTRACT = st.lists(_SENTENCE, min_size=3, max_size=6).map(" ".join)


@st.composite
def listings(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], str | None]:
    papers = draw(st.lists(st.tuples(_TITLE, _ABSTRACT), min_size=1, max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    blank = draw(st.booleans())  # a blank line between all lines, as in 003/004, or none, as in 002
    header = draw(
        st.lists(
            st.sampled_from(
                [
                    "new",
                    "Get trending papers in your email inbox!",
                    "Get trending papers in your email inbox once a day!",
                    "byAK and the research community",
                    "Subscribe",
                ]
            ),
            max_size=5,
        )
    )
    date = draw(st.one_of(st.none(), st.sampled_from(["Mar 21", "Mar 17", "February 3, 2024", "Sept 9"])))
    glued = draw(st.booleans())
    lines = list(header)
    if date:
        lines.append(date)
    for n, (title, abstract) in enumerate(papers):
        pad = draw(st.sampled_from(["", " ", "  ", "\t"]))
        lines.append(("Subscribe" if glued and n == 0 else "") + title + pad)
        # scraped pages carry odd whitespace inside a line: tabs, no-break spaces, U+2028 line separators
        gap = draw(st.sampled_from([" ", " ", "  ", "\t", "\u00a0", " \u2028", "\u2029", "\x0c"]))
        lines.append(pad + abstract.replace(" ", gap))
        if draw(st.booleans()) and n < len(papers) - 1:
            lines.append(draw(st.sampled_from(["", "new", "Subscribe"])))
    sep = newline * 2 if blank else newline
    return sep.join(lines) + draw(st.sampled_from(["", newline])), papers, date


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listings())
def test_listing_round_trip(case: tuple[str, list[tuple[str, str]], str | None]) -> None:
    text, papers, date = case
    records = parse_listing(Path("generated.txt"), text)
    expected = [(" ".join(t.split()), " ".join(a.split())) for t, a in papers]
    assert [(r.title, r.abstract) for r in records] == expected
    assert {r.listing_date for r in records} == {date}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(listings())
def test_listing_round_trip_through_a_file(tmp_path: Path, case: tuple[str, list[tuple[str, str]], str | None]) -> None:
    text, papers, _ = case
    path = tmp_path / "listing.txt"
    path.write_bytes(text.encode("utf-8"))
    got = [(r.title, r.abstract) for r in parse_file(path)]
    assert got == [(" ".join(t.split()), " ".join(a.split())) for t, a in papers]


_FIELD = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00") | st.sampled_from("\n\r\t"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() and s.split() and not all(unicodedata.category(c) in INVISIBLE for c in s))
"""A title or abstract a file may hold: not blank, not only invisible characters (those are refused)."""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_FIELD, _FIELD), min_size=1, max_size=5))
def test_jsonl_and_csv_round_trip(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    expected = [(" ".join(t.split()), " ".join(a.split())) for t, a in rows]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps({"title": t, "abstract": a}) + "\n" for t, a in rows), encoding="utf-8")
    assert [(r.title, r.abstract) for r in parse_jsonl(jsonl)] == expected
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["title", "abstract"])
    writer.writerows(rows)
    table = tmp_path / "rows.csv"
    table.write_bytes(buf.getvalue().encode("utf-8"))
    assert [(r.title, r.abstract) for r in parse_csv(table)] == expected


# ---- bad input -----------------------------------------------------------------------------------

GOOD_LISTING = "Subscribe\n\nA Good Title: Here?\n\n" + ABSTRACT + "\n\nAnother Good Title\n\n" + ABSTRACT + "\n"


def _bad_files(folder: Path) -> dict[str, tuple[Path, int | None, str]]:
    """name -> (file, expected line or None, a phrase of the message)."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, int | None, str]] = {}

    binary = folder / "binary.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    cases["binary"] = (binary, 3, "binary")  # the first NUL is on line 3

    empty = folder / "empty.txt"
    empty.write_bytes(b"  \n\n \t\n")
    cases["empty"] = (empty, None, "empty")

    no_abstract = folder / "no_abstract.txt"
    no_abstract.write_text(f"First Title\n{ABSTRACT}\nOrphan Title Without Abstract\nThird Title\n{ABSTRACT}\n")
    cases["title without abstract"] = (no_abstract, 3, "has no abstract")

    trailing = folder / "trailing_title.txt"
    trailing.write_text(f"First Title\n{ABSTRACT}\n\nLast Title Alone\n")
    cases["last title without abstract"] = (trailing, 4, "has no abstract")

    huge = folder / "huge_line.txt"
    huge.write_text("Title\n" + "word " * 2_000_000 + "\n")  # a 10 MB line
    cases["10 MB line"] = (huge, 2, f"limit is {MAX_LINE_CHARS:,}")

    broken = folder / "broken_utf8.txt"
    broken.write_bytes(
        f"Title One\n{ABSTRACT}\nTitle Two\n".encode() + b"caf\xc3 au lait \xff\xfe. " + ABSTRACT.encode()
    )
    cases["broken UTF-8"] = (broken, 4, "invalid UTF-8")

    bad_json = folder / "bad.jsonl"
    bad_json.write_text(json.dumps({"title": "T", "abstract": ABSTRACT}) + '\n\n{"title": "T2", "abstract": \n')
    cases["malformed JSONL"] = (bad_json, 3, "not valid JSON")

    missing_field = folder / "missing.jsonl"
    missing_field.write_text(
        json.dumps({"title": "T", "abstract": ABSTRACT}) + "\n" + json.dumps({"title": "T2"}) + "\n"
    )
    cases["JSONL without abstract"] = (missing_field, 2, "'T2' has no abstract")

    not_object = folder / "list.jsonl"
    not_object.write_text('["title", "abstract"]\n')
    cases["JSONL line not an object"] = (not_object, 1, "'title'")

    no_columns = folder / "no_columns.csv"
    no_columns.write_text("name,summary_text\nA,B\n")
    cases["CSV without title/abstract"] = (no_columns, 1, "'title' and 'abstract' columns")

    blank_cell = folder / "blank_cell.csv"
    blank_cell.write_text(f'title,abstract\nOK,"{ABSTRACT}"\n"   ",something\n')
    cases["CSV with a blank title"] = (blank_cell, 3, "non-empty")

    late_nul = folder / "late_nul.csv"
    late_nul.write_bytes(b"title,abstract\n" + b"A,B\n" * 5000 + b"C,D\x00\n")
    cases["NUL byte past the first 8 KB"] = (late_nul, 5002, "binary")

    utf16 = folder / "utf16.txt"
    utf16.write_bytes(GOOD_LISTING.encode("utf-16"))
    cases["UTF-16 text"] = (utf16, None, "save it as UTF-8")

    header_only = folder / "header_only.csv"
    header_only.write_text("title,abstract\n")
    cases["CSV with no rows"] = (header_only, None, "no rows")
    return cases


BAD_NAMES = [
    "binary",
    "empty",
    "title without abstract",
    "last title without abstract",
    "10 MB line",
    "broken UTF-8",
    "malformed JSONL",
    "JSONL without abstract",
    "JSONL line not an object",
    "CSV without title/abstract",
    "CSV with a blank title",
    "NUL byte past the first 8 KB",
    "CSV with no rows",
    "UTF-16 text",
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int | None, str]]:
    cases = _bad_files(tmp_path_factory.mktemp("bad"))
    assert sorted(cases) == sorted(BAD_NAMES)
    return cases


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_file_raises_corpus_error_naming_file_and_line(
    name: str, bad_files: dict[str, tuple[Path, int | None, str]]
) -> None:
    path, line, phrase = bad_files[name]
    with pytest.raises(CorpusError) as info:
        parse_file(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    assert phrase in str(err)
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(err).startswith(where + ": ")
    assert "Nothing was written to the index" in str(err)


def test_missing_path_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file"):
        load_papers([tmp_path / "nope.txt"])


def _snapshot(store: Store, data_dir: Path) -> tuple[object, ...]:
    meta = keyword_dir(data_dir, store.embedder_name) / "meta.json"
    return store.state(), store.counts(), store.fingerprint(), store.chunk_texts(), meta.read_text(), store.papers()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_file_leaves_the_index_exactly_as_it_was(
    name: str, bad_files: dict[str, tuple[Path, int | None, str]], tmp_path: Path
) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "listing.txt").write_text(GOOD_LISTING)
    (good / "more.jsonl").write_text(json.dumps({"title": "A JSON Paper", "abstract": ABSTRACT}) + "\n")
    data_dir = tmp_path / "data"
    embedder = HashEmbedder()
    store = Store(open_chroma(data_dir), embedder.name)
    first = ingest(load_papers([good]), store, embedder, data_dir, progress=False)  # the CLI's path
    assert (first.added, first.papers) == (3, 3)
    before = _snapshot(store, data_dir)

    # the new inputs: an edit to a good paper, a new one, and the bad file
    (good / "listing.txt").write_text(GOOD_LISTING.replace("Another Good Title", "A Replaced Title"))
    bad, _, _ = bad_files[name]
    calls = len(embedder.calls)
    with pytest.raises(CorpusError):
        ingest(load_papers([good, bad]), store, embedder, data_dir, progress=False)
    assert len(embedder.calls) == calls  # nothing embedded
    assert _snapshot(store, data_dir) == before
    # and a fresh client on the same folder sees the same thing
    reopened = Store(open_chroma(data_dir), embedder.name)
    assert reopened.state() == before[0] and reopened.counts() == before[1]


def test_paper_helper_matches_parser(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_text(f"A Good Title: Here?\n{ABSTRACT}\n")
    (parsed,) = load_papers([path])
    assert parsed == make_paper("A Good Title: Here?", ABSTRACT, "one.txt:1")


def test_two_papers_with_one_title_but_other_ids_are_both_kept(tmp_path: Path) -> None:
    """Distinct papers can share a title ("A Survey of ..."): their arXiv ids or DOIs tell them apart, and
    merging them would lose one abstract. A record without ids joins the first; one with an id joins its own."""
    other = "A different study of the same name. It measures something else entirely, on other data sets."
    rows = [
        {"id": "2101.00001", "title": "A Survey of Things", "abstract": ABSTRACT, "authors": "Ann Lee"},
        {"id": "2202.00002v2", "title": "A survey of things", "abstract": other, "authors": "Bo Chen"},
    ]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "b.bib").write_text(
        "@article{chen, title={A Survey of Things}, author={Chen, Bo}, eprint={2202.00002}, year={2022},\n"
        f" abstract={{{other}}}}}\n"
    )
    (tmp_path / "c.csv").write_text(f'title,abstract\n"A Survey of Things","{ABSTRACT}"\n')
    papers = load_papers([tmp_path])
    assert [p.abstract for p in papers] == [ABSTRACT, other]
    first, second = papers
    assert first.id == paper_id("A Survey of Things") and second.id != first.id
    assert (first.arxiv_id, first.sources) == ("2101.00001", ("a.jsonl:1", "c.csv:2"))
    assert (second.arxiv_id, second.sources) == ("2202.00002", ("a.jsonl:2", "b.bib:1"))
    assert second.year == 2022


def _rec(source: str, arxiv: str | None = None, doi: str | None = None, abstract: str = ABSTRACT) -> Any:
    from rag.index.formats import Metadata, Record

    return Record("A Survey of Large Language Models", abstract, source, meta=Metadata(arxiv_id=arxiv, doi=doi))


def test_namesakes_do_not_depend_on_the_order_of_the_files() -> None:
    """Zhao's survey (arXiv A), Minaee's preprint (arXiv B with DOI X) and Minaee's journal entry (DOI X only):
    two papers, the journal entry with its preprint, the same ids whatever the order; removing one of them
    leaves the other's id as it was."""
    import itertools

    zhao, minaee, journal = _rec("a:1", "2303.18223"), _rec("c:1", "2402.06196", "10.1/X"), _rec("b:1", doi="10.1/x")
    seen = set()
    for order in itertools.permutations([zhao, minaee, journal]):
        papers = dedupe(list(order))
        seen.add(tuple(sorted((p.id, p.arxiv_id, (p.doi or "").lower() or None, tuple(sorted(p.sources)))
                              for p in papers)))
    assert len(seen) == 1
    (papers,) = seen
    assert [(arxiv, doi, sources) for _, arxiv, doi, sources in papers] in (
        [("2303.18223", None, ("a:1",)), ("2402.06196", "10.1/x", ("b:1", "c:1"))],
        [("2402.06196", "10.1/x", ("b:1", "c:1")), ("2303.18223", None, ("a:1",))],
    )
    ids = {arxiv: pid for pid, arxiv, _, _ in papers}
    assert ids["2303.18223"] == paper_id(zhao.title)  # the smallest identifier keeps the title's id
    assert [p.id for p in dedupe([zhao])] == [ids["2303.18223"]]


def test_a_preprint_and_its_journal_version_are_one_paper() -> None:
    """An arXiv record with a DOI and a BibTeX entry with that DOI and no arXiv id: one paper; so is a Zotero
    preprint entry whose DOI is arXiv's own (10.48550/arXiv.…) with the journal's entry."""
    from rag.index.formats import Metadata, Record
    from rag.index.formats.meta import make_metadata

    records = [
        Record("Same Name", ABSTRACT, "a.jsonl:1", meta=Metadata(arxiv_id="2101.00001", doi="10.1/X")),
        Record("Same Name", ABSTRACT, "b.bib:1", meta=Metadata(doi="10.1/x")),
        Record("Same Name", ABSTRACT, "c.bib:1", meta=Metadata(arxiv_id="2101.00001", doi="10.9/other")),
    ]
    papers = dedupe(records)
    assert len(papers) == 1 and papers[0].sources == ("a.jsonl:1", "b.bib:1", "c.bib:1")
    zotero = make_metadata(doi="10.48550/arXiv.2402.06196")
    assert (zotero.arxiv_id, zotero.doi) == ("2402.06196", None)
    journal = make_metadata(doi="10.1145/3700000")
    pair = [Record("Large language models: a survey", ABSTRACT, f"z.bib:{n}", meta=m)
            for n, m in enumerate((zotero, journal), start=1)]
    assert len(dedupe(pair)) == 1
    old = [Record("Knot Floer Homology", ABSTRACT, f"o.bib:{n}", meta=make_metadata(arxiv=a))
           for n, a in enumerate(("math.GT/0209056v4", "arXiv:math/0209056"), start=1)]  # fmt: skip
    assert [(p.arxiv_id, p.sources) for p in dedupe(old)] == [("math/0209056", ("o.bib:1", "o.bib:2"))]


def test_format_characters_in_a_title_split_no_paper() -> None:
    """A zero-width space or a soft hyphen copied from a PDF is dropped from the title: one paper, one id."""
    from rag.index.formats import Metadata, Record

    plain = Record("Attention Is All You Need", ABSTRACT, "a:1", meta=Metadata(arxiv_id="1706.03762"))
    copied = Record("Attention Is All You Ne\u200bed", ABSTRACT, "b:1", meta=Metadata(arxiv_id="1706.03762"))
    soft = Record("Soft\u00admax Bottleneck Revisited", ABSTRACT, "b:2")
    papers = dedupe([plain, copied, soft, Record("Softmax Bottleneck Revisited", ABSTRACT, "a:2")])
    assert [(p.title, p.sources) for p in papers] == [  # the stored title is the first record's, as written
        ("Attention Is All You Need", ("a:1", "b:1")), ("Soft\u00admax Bottleneck Revisited", ("b:2", "a:2"))]
    assert papers[0].id == paper_id("Attention Is All You Need")
    assert papers[1].id == paper_id("Softmax Bottleneck Revisited")
    persian = Record("یادگیری\u200cعمیق", ABSTRACT, "c:1")  # a ZWNJ is spelling: kept in the stored title
    assert dedupe([persian])[0].title == "یادگیری\u200cعمیق"
    invisible = [Record("\u200b\u2060\u00ad", ABSTRACT, "d:1"), Record("\u200b", ABSTRACT + " Other.", "d:2")]
    assert len(dedupe(invisible)) == 2  # nothing but format characters: the titles as they are


def test_titles_that_differ_only_outside_a_to_z_are_two_papers_in_any_order() -> None:
    """ "α-Divergence …" and "β-Divergence …" map to one legacy id: both are kept (the ingest used to stop), the
    smaller title key keeping the id; "straße" and "strasse" are one title, so one paper."""
    alpha = Record("α-Divergence Minimization for Variational Inference", ABSTRACT, "a:1")
    beta = Record("β-Divergence Minimization for Variational Inference", ABSTRACT + " Beta.", "b:1")
    forward, backward = dedupe([alpha, beta]), dedupe([beta, alpha])
    assert len(forward) == 2 and {p.id for p in forward} == {p.id for p in backward}
    assert {p.id: p.title for p in forward} == {p.id: p.title for p in backward}
    street = [Record("Straße Models", ABSTRACT, "a:2"), Record("Strasse models", ABSTRACT, "b:2")]
    assert len(dedupe(street)) == 1 and dedupe(street)[0].id == dedupe(street[::-1])[0].id


def test_merged_records_with_different_abstracts_are_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Two records of one title and no ids are one paper, which keeps the first abstract: the other abstract is
    not searchable, so the ingest says which records differ and how to keep both."""
    from rag.index.formats import Record

    same = [Record("A Survey of Deep Learning", ABSTRACT, "a.csv:2"), Record("A survey of deep learning!", ABSTRACT,
                                                                              "b.csv:7")]  # fmt: skip
    with caplog.at_level("WARNING", logger="rag.index.corpus"):
        assert len(dedupe(same)) == 1
    assert not caplog.records  # the same abstract: nothing lost
    other = Record("A survey of deep learning", "Speech recognition, surveyed at length.", "b.csv:9")
    with caplog.at_level("WARNING", logger="rag.index.corpus"):
        (paper,) = dedupe([*same, other])
    assert paper.abstract == ABSTRACT and paper.sources == ("a.csv:2", "b.csv:7", "b.csv:9")
    assert [r.getMessage() for r in caplog.records] == [
        "a.csv:2 and b.csv:9 share the title 'A Survey of Deep Learning' but not the abstract; they are read as one "
        "paper with the first abstract, its missing metadata (authors, year, DOI ...) filled from the other (give "
        "each an arXiv id or a DOI to keep both)"
    ]


def test_two_titles_giving_one_arxiv_id_are_both_kept_and_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A tester's dump with id 2101.00002 twice (a title edited between two concatenated snapshots) became two
    papers sharing the id and its link, with no word about it."""
    from rag.index.formats import Metadata, Record

    old = Record("Sparse Widgets", ABSTRACT, "dump.json:2", meta=Metadata(arxiv_id="2101.00002"))
    new = Record("Sparse Widgets for Neural Nets", ABSTRACT, "dump.json:9", meta=Metadata(arxiv_id="2101.00002"))
    with caplog.at_level("WARNING", logger="rag.index.corpus"):
        assert len(dedupe([old, new])) == 2  # nothing dropped
    assert [r.getMessage() for r in caplog.records] == [
        "dump.json:2 'Sparse Widgets' and dump.json:9 'Sparse Widgets for Neural Nets' both give the arXiv id "
        "2101.00002; both are kept (remove the outdated one, or give it its own id)"
    ]


def test_a_listing_title_before_a_short_line_says_what_an_abstract_line_needs(tmp_path: Path) -> None:
    """A tester's page with a one-sentence abstract was told "title 'Title X' has no abstract after it" although the
    abstract was the next line."""
    page = tmp_path / "page.txt"
    page.write_text(f"A Good Title\n{ABSTRACT}\nTitle X\nAbstract X is here. Fine.\n", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        parse_listing(page)
    message = str(caught.value)
    assert "page.txt:3: title 'Title X' has no abstract after it: the next line ('Abstract X is here. Fine.', line 4)"\
        " is too short for one (an abstract line has 200 characters, or 12 words and a sentence's end)" in message
    assert "\n" not in message


def test_a_file_named_both_through_its_folder_and_directly_is_read_once(tmp_path: Path) -> None:
    """A tester's `rag ingest in2 in2/base.jsonl` recorded every paper's source twice."""
    folder = tmp_path / "in2"
    folder.mkdir()
    (folder / "base.jsonl").write_text(json.dumps({"title": "A Good Title", "abstract": ABSTRACT}) + "\n")
    (paper,) = load_papers([folder, folder / "base.jsonl", tmp_path / "in2" / ".." / "in2"])
    assert paper.sources == ("base.jsonl:1",)
