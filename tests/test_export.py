"""Reference export (BibTeX with stable keys and escaped fields, a Markdown list numbered like the markers) and
the CLI end to end over the fixture formats: ``--references``, the filter flags, and metadata in ``--json``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
from conftest import HashEmbedder

from rag.answer.references import bibtex_key, keys, markdown_reference, references, to_bibtex
from rag.app.cli import main
from rag.index.corpus import load_papers, parse_file
from rag.settings import Settings
from rag.types import Answer, Citation, Paper

DATA = Path(__file__).parent / "data"
PAPERS = {p.title: p for p in load_papers([DATA])}
ATTENTION = PAPERS["Attention Is All You Need"]
SUBQUADRATIC = PAPERS["Sub-quadratic 𝒪(n log n) Attention for Long-Context Transformers"]
HOSTILE = Paper(
    "pdeadbeef0123", "A } title @misc{evil, with 100% of $x_i$ & #tags \\input{/etc/passwd}",
    "An abstract that closes } early and opens { again, with ~ and ^ and a backslash \\ too.",
    authors=("Zoë O'Brien", "{Weird} Name"), year=2024, venue="J. of {Braces}", doi="10.1/x}y", url="https://a.b/c d",
)  # fmt: skip


def _answer(*papers: Paper) -> Answer:
    citations = tuple(Citation(n, p, p.abstract[:40], (0,), "supported", 0.9) for n, p in enumerate(papers, start=1))
    return Answer("q?", " ".join(f"Claim [{c.marker}]." for c in citations), citations, False, "extractive", ())


# ---- BibTeX ------------------------------------------------------------------------------------------


def test_keys_are_stable_ascii_and_distinct() -> None:
    assert bibtex_key(ATTENTION) == "vaswani2017attention"
    assert bibtex_key(SUBQUADRATIC) == "muller2023subquadratic"
    assert bibtex_key(replace(ATTENTION, authors=(), year=None)) == "attention-" + ATTENTION.id[1:7]
    twin = replace(ATTENTION, id="p0123456789ab", title="Attention Is Not All You Need")
    assert keys([ATTENTION, twin]) == [f"vaswani2017attention-{ATTENTION.id[1:7]}", "vaswani2017attention-012345"]
    assert keys([ATTENTION]) == ["vaswani2017attention"]  # the same key in every export it is alone in


def test_bibtex_round_trips_through_the_parser_and_back_to_the_same_text(tmp_path: Path) -> None:
    papers = list(PAPERS.values())
    path = tmp_path / "export.bib"
    path.write_text(to_bibtex(papers))
    back = {r.title: r for r in parse_file(path)}
    assert set(back) == set(PAPERS)
    for title, record in back.items():
        paper = PAPERS[title]
        assert record.abstract == paper.abstract
        assert (record.meta.authors, record.meta.year, record.meta.doi) == (paper.authors, paper.year, paper.doi)
        assert (record.meta.arxiv_id, record.meta.url) == (paper.arxiv_id, paper.url)
    assert "J{\\\"o}rg M{\\\"u}ller" in path.read_text() and "98{\\%}" in path.read_text()


def test_hostile_fields_are_escaped_and_cannot_break_the_entry(tmp_path: Path) -> None:
    text = to_bibtex([HOSTILE, ATTENTION])
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks and [e.key for e in library.entries] == ["obrien2024title", "vaswani2017attention"]
    fields = {f.key: f.value for f in library.entries[0].fields}
    assert "doi" not in fields and "url" not in fields  # a brace or a space in them: left out
    assert "\\input" not in fields["title"] and "{\\textbackslash}input" in fields["title"]
    path = tmp_path / "hostile.bib"
    path.write_text(text)
    (record, _) = parse_file(path)
    assert (record.title, record.abstract) == (" ".join(HOSTILE.title.split()), HOSTILE.abstract)


# ---- Markdown ------------------------------------------------------------------------------------------


def test_markdown_list_follows_the_markers_and_escapes() -> None:
    text = references(_answer(ATTENTION, HOSTILE, ATTENTION), "markdown")
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0] == (
        "- [1, 3] Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit, Llion Jones, Aidan N. Gomez, et al. "
        "(2017). *Attention Is All You Need*. <https://arxiv.org/abs/1706.03762>"
    )
    assert lines[1].startswith(
        "- [2] Zoë O'Brien, {Weird} Name (2024). *A } title @misc{evil, with 100% of \\$x\\_i\\$ \\& \\#tags \\\\input"
    )
    assert "<https://a.b/c d>" not in lines[1]  # not a URL: left out
    assert markdown_reference(replace(ATTENTION, authors=(), year=None, url=None)) == "*Attention Is All You Need*."


def test_no_citation_no_references() -> None:
    assert references(_answer(), "bibtex") == "" and references(_answer(), "markdown") == ""
    with pytest.raises(ValueError, match="unknown reference style 'ris'"):
        references(_answer(), "ris")  # type: ignore[arg-type]


# ---- the CLI ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("export") / "data", abstain_threshold=0.0)
    embedder = HashEmbedder()
    assert main(["ingest", "--quiet", str(DATA)], settings=settings, embedder=embedder) == 0
    return {"settings": settings, "embedder": embedder}


def _run(capsys: pytest.CaptureFixture[str], indexed: dict[str, Any], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), **indexed)
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_references_bibtex_prints_only_the_entries(
    capsys: pytest.CaptureFixture[str], indexed: dict[str, Any]
) -> None:
    code, out, err = _run(capsys, indexed, "ask", "What does LoRA freeze and inject?", "--references", "bibtex")
    assert code == 0
    library = bibtexparser.parse_string(out)
    assert not library.failed_blocks and library.entries and len(library.entries) == len(library.blocks)
    assert "hu2021lora" in [e.key for e in library.entries]
    assert "LoRA" in err and "[1]" in err  # the answer went to stderr


def test_ask_references_markdown_and_json(capsys: pytest.CaptureFixture[str], indexed: dict[str, Any]) -> None:
    code, out, _ = _run(capsys, indexed, "ask", "What does LoRA freeze and inject?", "--references", "markdown")
    assert code == 0 and out.startswith("- [1") and "*LoRA: Low-Rank Adaptation of Large Language Models*" in out
    code, out, _ = _run(capsys, indexed, "ask", "What does LoRA freeze?", "--json", "--references", "markdown")
    data = json.loads(out)
    assert data["references"].startswith("- [1")
    paper = next(c["paper"] for c in data["citations"] if c["paper"]["title"].startswith("LoRA"))
    assert paper["authors"][0] == "Edward J. Hu" and paper["year"] == 2021 and paper["categories"][0] == "cs.CL"
    assert paper["url"] == "https://arxiv.org/abs/2106.09685"


def test_search_filter_flags(capsys: pytest.CaptureFixture[str], indexed: dict[str, Any]) -> None:
    code, out, _ = _run(capsys, indexed, "search", "attention", "--json", "--author", "MULLER", "--author", "devlin")
    assert code == 0
    assert {h["paper"]["title"][:4] for h in json.loads(out)} == {"Sub-", "BERT"}
    _, out, _ = _run(capsys, indexed, "search", "language models", "--json", "--since", "2020", "--category", "cs")
    hits = json.loads(out)
    assert hits and all(h["paper"]["year"] >= 2020 and h["paper"]["categories"] for h in hits)
    assert all(isinstance(h["paper"]["year"], int) and isinstance(h["paper"]["authors"], list) for h in hits)
    code, _, err = _run(capsys, indexed, "search", "x", "--since", "last year")
    assert code == 2 and "must be a year like 2021" in err
    code, _, err = _run(capsys, indexed, "search", "x", "--since", "2023", "--until", "2020")
    assert code == 5 and "since=2023 is after until=2020" in err
    code, out, err = _run(capsys, indexed, "search", "attention", "--until", "1990")
    assert code == 0 and out == "" and "No paper matches the filters" in err


def test_author_names_with_and_or_a_suffix_stay_one_author_each(tmp_path: Path) -> None:
    """"Procter and Gamble Research Lab" is one author, not two, and "Google, Inc." is not the person Inc. Google;
    "Martin Luther King Jr" has the last name King (in the key too), as BibTeX readers split names; the export
    reads back as the same authors, and a name LaTeX has no characters for prints no warning."""
    paper = replace(ATTENTION, authors=("Procter and Gamble Research Lab", "Martin Luther King Jr", "Zoë Bloggs",
                                        "Google, Inc."))
    text = to_bibtex([paper])
    library = bibtexparser.parse_string(text, append_middleware=[
        bibtexparser.middlewares.SeparateCoAuthors(), bibtexparser.middlewares.SplitNameParts()])  # fmt: skip
    names = library.entries[0]["author"]
    assert len(names) == 4
    assert names[1].last == ["King"] and names[1].jr == ["Jr"] and names[1].first == ["Martin", "Luther"]
    assert bibtex_key(replace(paper, authors=paper.authors[1:])).startswith("king")
    path = tmp_path / "names.bib"
    path.write_text(text, encoding="utf-8")
    [record] = parse_file(path)
    assert record.meta.authors == paper.authors


def test_characters_latex_cannot_name_are_kept_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    paper = replace(ATTENTION, title="数学 for Transformers 🙂", authors=("李 数",))
    with caplog.at_level("WARNING"):
        text = to_bibtex([paper])
    assert "数学 for Transformers 🙂" in text and not caplog.records


def test_a_key_two_papers_of_the_corpus_share_is_the_same_in_every_export() -> None:
    """The reviewer's two John Smith 2020 "Learning ..." papers: exported one at a time, both were
    ``smith2020learning``; cited together, both keys changed."""
    one = replace(ATTENTION, id="p111111aaaaaa", title="Learning sparse codes", authors=("John Smith",), year=2020)
    two = replace(ATTENTION, id="p222222bbbbbb", title="Learning to iterate ISTA", authors=("John Smith",), year=2020)
    corpus = {p.id: p for p in (one, two, ATTENTION)}
    alone = [bibtexparser.parse_string(references(_answer(p), "bibtex", corpus)).entries[0].key for p in (one, two)]
    together = [e.key for e in bibtexparser.parse_string(references(_answer(one, two), "bibtex", corpus)).entries]
    assert alone == together == ["smith2020learning-111111", "smith2020learning-222222"]
    assert bibtexparser.parse_string(references(_answer(ATTENTION), "bibtex", corpus)).entries[0].key == (
        "vaswani2017attention")  # a key no other paper shares keeps its plain form


def test_conference_venues_are_inproceedings_and_script_letters_compile() -> None:
    for venue, kind in [("Advances in Neural Information Processing Systems 32", "inproceedings"),
                        ("NIPS 2017", "inproceedings"), ("Proceedings of ACL", "inproceedings"),
                        ("Transactions of the ACL", "article"), ("Journal of Machine Learning Research", "article")]:
        entry = bibtexparser.parse_string(to_bibtex([replace(ATTENTION, venue=venue)])).entries[0]
        assert entry.entry_type == kind, venue
    text = to_bibtex([SUBQUADRATIC])
    assert "\\mathcal{O}" in text and "\\mathscr" not in text  # \mathscr needs the mathrsfs package


def test_bibtex_and_others_reads_et_al_in_markdown() -> None:
    line = markdown_reference(replace(ATTENTION, authors=("Jacob Devlin", "Ming-Wei Chang", "others")))
    assert line.startswith("Jacob Devlin, Ming-Wei Chang, et al. (2017)") and "others" not in line


def test_control_and_bidi_characters_never_reach_an_export(tmp_path: Path) -> None:
    """A tester's title holding a right-to-left override (U+202E) was written to a .bib file as ``\\u202e`` (the
    terminal escaping), which BibTeX reads as a breve accent: "2̆02eevil"; Markdown kept a NUL. Both exports drop
    such characters."""
    rlo = replace(ATTENTION, id="prlo", title="\u202eevil RLO title\u202c normal\x00 end")
    text = to_bibtex([rlo])
    assert "\u202e" not in text and "\\u202e" not in text and "\x00" not in text
    path = tmp_path / "rlo.bib"
    path.write_text(text)
    (record,) = parse_file(path)
    assert record.title == "evil RLO title normal end"
    line = markdown_reference(rlo)
    assert "\x00" not in line and "\u202e" not in line and "*evil RLO title normal end*" in line
