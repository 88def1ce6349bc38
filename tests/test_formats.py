"""Corpus formats with metadata: the arXiv dump's JSON lines, BibTeX from a reference manager, CSV with a
header, told apart by content whatever the file's name; LaTeX and hard line breaks come out as clean text;
a paper without an abstract is reported by file and line; metadata survives the index round trip."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import HashEmbedder

from rag.errors import CorpusError
from rag.index.corpus import load_papers, paper_id, parse_file
from rag.index.formats import detect_format
from rag.index.formats.authors import split_authors
from rag.index.formats.latex import latex_to_text
from rag.index.formats.meta import make_metadata, parse_arxiv_id, parse_date, parse_year
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.types import Paper

DATA = Path(__file__).parent / "data"
ARXIV = DATA / "arxiv-metadata-sample.json"
BIB = DATA / "zotero-library.bib"
CSV = DATA / "zotero-export.csv"
ABSTRACT = "We study a simple problem in machine learning. Our method improves accuracy by 3.5 points on three tasks."


def _by_title(paths: list[Path]) -> dict[str, Paper]:
    return {p.title: p for p in load_papers(paths)}


# ---- the arXiv metadata dump -----------------------------------------------------------------------


def test_arxiv_dump_lines_give_clean_text_and_full_metadata() -> None:
    papers = _by_title([ARXIV])
    assert len(papers) == 4
    attention = papers["Attention Is All You Need"]
    assert attention.abstract.startswith("The dominant sequence transduction models are based on complex recurrent or ")
    assert "\n" not in attention.abstract and "  " not in attention.abstract
    assert attention.authors[:2] == ("Ashish Vaswani", "Noam Shazeer") and len(attention.authors) == 8
    assert (attention.year, attention.date) == (2017, "2017-06-12")  # v1, not the 2023 update
    assert attention.categories == ("cs.CL", "cs.LG")
    assert attention.arxiv_id == "1706.03762" and attention.url == "https://arxiv.org/abs/1706.03762"
    assert attention.venue is None and attention.doi is None and attention.listing_date is None
    assert attention.sources == ("arxiv-metadata-sample.json:1",)
    assert attention.id == paper_id("Attention Is All You Need")


def test_arxiv_latex_becomes_text() -> None:
    paper = _by_title([ARXIV])["Sub-quadratic 𝒪(n log n) Attention for Long-Context Transformers"]
    assert paper.authors == ("Jörg Müller", "Ana García", "François Lefèvre")
    assert "keeping 98% of the accuracy" in paper.abstract  # a bare % is a percent sign, not a comment
    assert "“a small constant” times the spectral norm – a bound that is tight." in paper.abstract
    assert not any(ch in paper.abstract + paper.title for ch in "\\${}")
    assert paper.venue == "Trans. Mach. Learn. Res. 2023" and paper.doi == "10.5555/tmlr.2023.0042"
    assert paper.url == "https://arxiv.org/abs/2301.04567"  # the arXiv page before the DOI


def test_old_style_arxiv_id_and_journal_ref() -> None:
    paper = _by_title([ARXIV])["The Large N Limit of Superconformal Field Theories and Supergravity"]
    assert paper.arxiv_id == "hep-th/9711200" and paper.url == "https://arxiv.org/abs/hep-th/9711200"
    assert (paper.year, paper.venue, paper.categories) == (1997, "Adv.Theor.Math.Phys.2:231-252,1998", ("hep-th",))


def test_arxiv_row_without_abstract_is_reported_by_file_and_line(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in ARXIV.read_text().splitlines()]
    rows[2]["abstract"] = "   \n "
    path = tmp_path / "snapshot.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(CorpusError) as info:
        load_papers([path])
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert "paper 'Sub-quadratic 𝒪(n log n) Attention for Long-Context Transformers' has no abstract" in str(info.value)


# ---- BibTeX -----------------------------------------------------------------------------------------


def test_zotero_bibtex_with_accents_and_braces() -> None:
    papers = _by_title([BIB])
    assert len(papers) == 3
    bert = papers["BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"]
    assert bert.authors == ("Jacob Devlin", "Ming-Wei Chang", "Kenton Lee", "Kristina Toutanova")
    assert (bert.year, bert.date) == (2019, "2019-06")
    assert bert.venue.startswith("Proceedings of the 2019 Conference of the North American Chapter")  # type: ignore[union-attr]
    assert bert.doi == "10.18653/v1/N19-1423" and bert.url == "https://doi.org/10.18653/v1/N19-1423"
    assert bert.abstract.startswith("We introduce a new language representation model called BERT, which stands for ")
    assert bert.sources == ("zotero-library.bib:15",)
    samplers = papers["Gradient Noise in Schrödinger-Bridge Samplers: A Study of Æsthetic Failure Modes"]
    assert samplers.authors == ("Åsa Sjöström", "Søren Østergaard")
    assert samplers.arxiv_id == "2402.01234" and samplers.url == "https://arxiv.org/abs/2402.01234"
    assert "explains 60% of them." in samplers.abstract
    assert "Computer Science - Machine Learning" in samplers.categories


def test_bibtex_entries_without_abstract_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "library.bib"
    path.write_text(
        BIB.read_text()
        + "\n@book{goodfellow_deep_2016,\n  title = {Deep Learning},\n  author = {Goodfellow, Ian},\n  year = {2016}}\n"
        + "\n@misc{web_page,\n  title = {A Web Page},\n  url = {https://example.org}}\n"
    )
    with pytest.raises(CorpusError) as info:
        load_papers([path])
    lines = path.read_text().splitlines()
    first = next(n for n, line in enumerate(lines, start=1) if "goodfellow_deep_2016" in line)
    second = next(n for n, line in enumerate(lines, start=1) if "web_page" in line)
    assert (info.value.path, info.value.line) == (str(path), first)
    assert "'goodfellow_deep_2016' has no abstract" in str(info.value)
    assert f"'web_page' (line {second})" in str(info.value)


def test_a_title_with_nothing_visible_is_an_error_saying_so(tmp_path: Path) -> None:
    """A title of zero-width spaces used to be indexed and shown blank; the error names the field, not "needs
    non-empty 'title' and 'abstract' fields" when both are there."""
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"title": "Fine", "abstract": ABSTRACT}) + "\n"
                    + json.dumps({"title": " \u200b\u200d ", "abstract": ABSTRACT}) + "\n")  # fmt: skip
    with pytest.raises(CorpusError) as info:
        load_papers([path])
    assert info.value.line == 2 and str(info.value).startswith(f"{path}:2: title: the title has no visible characters")


def test_bibtex_concatenation_and_macros_are_resolved(tmp_path: Path) -> None:
    """``#`` joins parts (macros, @strings built by ``#`` themselves, month names, quoted and braced text); a title
    or abstract naming an undefined macro is an error at its entry, not the macro's name indexed as text."""
    path = tmp_path / "library.bib"
    path.write_text(
        '@string{nips = "Advances in Neural " # "Information Processing Systems"}\n@String(start = {We propose})\n'
        '@inproceedings{a,\n  title = "A " # {Concatenated} # " Title",\n  abstract = start # " a method. It works.",'
        '\n  booktitle = nips # " 30",\n  year = 2017,\n  month = jan # "~15"\n}\n'
    )
    (paper,) = load_papers([path])
    assert (paper.title, paper.abstract) == ("A Concatenated Title", "We propose a method. It works.")
    assert (paper.venue, paper.date) == ("Advances in Neural Information Processing Systems 30", "2017-01")
    path.write_text("@misc{b,\n  title = {T},\n  abstract = undefinedmacro\n}\n")
    with pytest.raises(CorpusError, match=r"library.bib:1: entry 'b': the macro 'undefinedmacro' is not defined"):
        load_papers([path])
    path.write_text("@misc{b,\n  title = {Sparse Widgets} for Neural Nets},\n  abstract = {A long abstract.}\n}\n")
    with pytest.raises(CorpusError, match=r"entry 'b': its braces or quotes do not balance near '\{Sparse Widgets\} "
                                          r"for Neural Nets'"):  # it had been "the macro ... is not defined"
        load_papers([path])
    path.write_text(  # a venue abbreviation defined in another file stays as written; "sept" is September
        '@string{a = "Hello"}\n@string{b = a # " world, and more."}\n@string{c = "C# in practice"}\n'
        '@misc{c,\n  title = c,\n  abstract = b,\n  booktitle = "Proc. " # icml,\n  year = 2020,\n'
        '  month = sept # "~15"\n}\n'
    )
    (paper,) = load_papers([path])
    assert (paper.title, paper.abstract, paper.venue) == ("C# in practice", "Hello world, and more.", "Proc. icml")
    assert paper.date == "2020-09"


def test_bibtex_year_not_yet_known_is_no_year(tmp_path: Path) -> None:
    """Mendeley and JabRef write a publication status in ``year``; the paper is read without a year."""
    entries = [f"@article{{k{i},\n  title = {{Paper {i}}},\n  year = {{{status}}},\n  abstract = {{{ABSTRACT}}}}}\n"
               for i, status in enumerate(["in press", "Forthcoming", "n.d.", "to appear", "2021"])]  # fmt: skip
    path = tmp_path / "library.bib"
    path.write_text("\n".join(entries))
    assert [(p.title, p.year) for p in load_papers([path])] == [
        ("Paper 0", None), ("Paper 1", None), ("Paper 2", None), ("Paper 3", None), ("Paper 4", 2021)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [
        ("@article{a,\n  title = {T},\n  abstract = {Unclosed\n\n@misc{b, title={U}, abstract={V}}\n", 1, "not valid"),
        ("@article{a,\n  abstract = {" + ABSTRACT + "}}\n", 1, "'a' has no title"),
        ("@article{a,\n  title = {T},\n  year = {someday},\n  abstract = {" + ABSTRACT + "}}\n", 1, "year"),
        ("@article{a,\n  title = {T},\n  url = {javascript:alert(1)},\n  abstract = {" + ABSTRACT + "}}\n", 1, "url"),
    ],
)
def test_bad_bibtex_is_an_error_at_its_line(tmp_path: Path, text: str, line: int, phrase: str) -> None:
    path = tmp_path / "bad.bib"
    path.write_text("% Encoding: UTF-8\n\n" + text)
    with pytest.raises(CorpusError) as info:
        parse_file(path)
    assert info.value.line == line + 2 and phrase in str(info.value)
    assert "Nothing was written to the index" in str(info.value)


# ---- CSV with a header ---------------------------------------------------------------------------


def test_zotero_csv_columns_are_understood() -> None:
    papers = _by_title([CSV])
    rag_paper = papers["Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks"]
    assert rag_paper.authors == ("Patrick Lewis", "Ethan Perez", "Aleksandra Piktus")
    assert (rag_paper.year, rag_paper.date, rag_paper.listing_date) == (2020, "2020-05-22", None)
    assert rag_paper.arxiv_id == "2005.11401" and rag_paper.url == "https://arxiv.org/abs/2005.11401"
    assert rag_paper.categories == ("retrieval", "cs.CL")
    instruct = papers["Training language models to follow instructions with human feedback"]
    assert instruct.venue == "Advances in Neural Information Processing Systems"
    assert instruct.url is not None and instruct.url.startswith("https://proceedings.neurips.cc/paper/2022/")


@pytest.mark.parametrize(
    ("text", "line", "phrase"),
    [  # an unquoted comma used to cut the abstract short; an unclosed quote swallowed every row after it
        ("title,abstract\nComma paper,We propose X, which does Y.\nOther,Fine.\n", 2, "has 3 fields but the header"),
        ('title,abstract\nA,"Open quote here.\nB,Abstract of B.\nC,Abstract of C.\n', 2, "check the quotes"),
        ("title,abstract\nA,Abstract A.\n\n\nB,\n", 5, "'B' has no abstract"),  # blank lines still count
        ("title,abstract\r\nA,\"Two\r\nlines.\"\r\n\r\nB,\r\n", 5, "'B' has no abstract"),
    ],
)
def test_bad_csv_rows_are_errors_at_their_line(tmp_path: Path, text: str, line: int, phrase: str) -> None:
    path = tmp_path / "papers.csv"
    path.write_bytes(text.encode())
    with pytest.raises(CorpusError) as info:
        load_papers([path])
    assert info.value.line == line and phrase in str(info.value), str(info.value)


def test_excel_csv_quirks_are_read(tmp_path: Path) -> None:
    """Excel's "sep=;" line before the header, rows of empty fields, trailing empty fields and trailing empty header
    cells (they were "the column '' named twice"); a column with no name is ignored as an unknown one is."""
    path = tmp_path / "excel.csv"
    path.write_text(f"sep=;\ntitle;abstract;year\nOne;{ABSTRACT};2021;;\n;;\n;;;\nTwo;{ABSTRACT};\n")
    assert [(p.title, p.year) for p in load_papers([path])] == [("One", 2021), ("Two", None)]
    path.write_text(f"sep=\t\ntitle\tabstract\nTabbed\t{ABSTRACT}\n")
    assert [p.title for p in load_papers([path])] == ["Tabbed"]
    path.write_text(f"title,abstract,year,,\r\nThree,{ABSTRACT},2022,,\r\nFour,{ABSTRACT},,note,\r\n")
    assert [(p.title, p.year) for p in load_papers([path])] == [("Three", 2022), ("Four", None)]


def test_csv_with_a_bad_year_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f'title,abstract,year\nOne,"{ABSTRACT}",2021\nTwo,"{ABSTRACT}",next year\n')
    with pytest.raises(CorpusError) as info:
        parse_file(path)
    assert info.value.line == 3 and "year 'next year'" in str(info.value)


# ---- detection by content --------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "name"), [(ARXIV, "dump.txt"), (BIB, "refs.txt"), (CSV, "export.dat"),
                                              (ARXIV, "noext"), (BIB, "library.json")])  # fmt: skip
def test_format_is_told_by_content_whatever_the_name(tmp_path: Path, source: Path, name: str) -> None:
    renamed = tmp_path / name
    shutil.copy(source, renamed)
    got = [(p.title, p.abstract, p.authors, p.year) for p in load_papers([renamed])]
    assert got == [(p.title, p.abstract, p.authors, p.year) for p in load_papers([source])]


def test_detection_rules() -> None:
    assert detect_format('{"title": "T", "abstract": "A"}\n') == "jsonl"
    assert detect_format("% JabRef\n\n@Article{key,\n title={T}}") == "bibtex"
    assert detect_format('"Title","Abstract Note","Author"\n"a","b","c"\n') == "csv"
    assert detect_format("A Paper Title\nIts abstract line goes here and is long enough.\n") == "listing"
    assert detect_format("[1, 2]\n", ".jsonl") == "jsonl"  # broken by its suffix: that format's error
    assert detect_format("name,summary\n", ".csv") == "csv"


def test_a_folder_reads_every_format(tmp_path: Path) -> None:
    for source in (ARXIV, BIB, CSV):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "README.md").write_text("not a corpus file")
    papers = load_papers([tmp_path])
    assert len(papers) == 4 + 3 + 2 - 1  # the TMLR paper is in the dump and the .bib
    (merged,) = [p for p in papers if p.doi == "10.5555/tmlr.2023.0042"]
    assert merged.sources == ("arxiv-metadata-sample.json:3", "zotero-library.bib:2")


# ---- value rules -----------------------------------------------------------------------------------


def test_value_rules() -> None:
    assert split_authors("Smith, John") == ("John Smith",)
    assert split_authors("Smith, John; Doe, Jane") == ("John Smith", "Jane Doe")
    assert split_authors("A. Smith, B. Jones and C. Li") == ("A. Smith", "B. Jones", "C. Li")
    assert split_authors(["Li, Wei", "Ana García"]) == ("Wei Li", "Ana García")
    assert split_authors("Devlin, Jacob and Chang, Ming-Wei") == ("Jacob Devlin", "Ming-Wei Chang")
    assert parse_date("Mon, 2 Apr 2007 19:18:42 GMT") == "2007-04-02"
    assert parse_date("2023-5") == "2023-05" and parse_date("Mar 21") is None and parse_date("2023-13-01") is None
    assert parse_year("2020a") == 2020 and parse_year(None) is None
    assert parse_year("In Press") is None and parse_year(" n.d. ") is None
    for bad in ("soon", "0999", 3000, True, "in press 20x"):
        with pytest.raises(ValueError):
            parse_year(bad)
    assert parse_arxiv_id("https://arxiv.org/pdf/2101.00001v3.pdf") == "2101.00001"
    assert parse_arxiv_id("10.48550/arXiv.2101.00001") == "2101.00001" and parse_arxiv_id("2101.1") is None
    assert parse_arxiv_id("math.GT/0309136v2") == parse_arxiv_id("arXiv:math/0309136") == "math/0309136"
    meta = make_metadata(doi="https://doi.org/10.1000/a(b)c", url="https://example.org/x")
    assert meta.doi == "10.1000/a(b)c" and meta.url == "https://doi.org/10.1000/a(b)c"
    with pytest.raises(ValueError):
        make_metadata(url='https://e.org/"><script>')


def test_latex_to_text() -> None:
    assert latex_to_text("M{\\\"u}ller and Garc{\\'i}a") == "Müller and García"
    assert latex_to_text("$\\alpha$-divergence of 50% of\n   samples") == "α-divergence of 50% of samples"
    assert latex_to_text("plain -- text") == "plain – text"
    assert latex_to_text("badly \\frac{ broken") == "badly \\frac{ broken"  # not "badly %s/%s broken"
    assert latex_to_text("Regret beyond \\sqrt") == "Regret beyond \\sqrt"  # pylatexenc raised KeyError
    assert latex_to_text("{unbalanced \\textbf{markup") == "unbalanced markup"


# ---- stored and read back ------------------------------------------------------------------------


def test_old_records_read_back_and_ids_stay_stable() -> None:
    old = {"id": "p1", "title": "T", "abstract": "A", "sources": ["f.txt:1"], "listing_date": None, "urls": []}
    paper = Paper.from_dict(old)
    assert (paper.authors, paper.year, paper.url, paper.categories) == ((), None, None, ())
    full = Paper("p2", "T", "A", authors=("X Y",), year=2020, categories=("cs.CL",), url="https://a.b")
    assert Paper.from_dict(json.loads(json.dumps(full.to_dict()))) == full
    assert full.content_hash == Paper("p2", "T", "A").content_hash  # metadata never re-embeds


def test_metadata_survives_the_index_and_a_metadata_edit_does_not_re_embed(tmp_path: Path) -> None:
    embedder = HashEmbedder()
    store = Store(open_chroma(tmp_path / "data"), embedder.name)
    papers = load_papers([ARXIV])
    ingest(papers, store, embedder, tmp_path / "data", progress=False)
    assert store.papers() == {p.id: p for p in papers}
    calls = len(embedder.calls)
    edited = [p if p.arxiv_id != "1706.03762" else Paper(**{**asdict(p), "venue": "NeurIPS 2017"}) for p in papers]
    report = ingest(edited, store, embedder, tmp_path / "data", progress=False)
    assert len(embedder.calls) == calls and report.relabeled == 1
    assert store.papers()[paper_id("Attention Is All You Need")].venue == "NeurIPS 2017"


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"\texttt{DSPy}: Compiling Declarative Calls", "DSPy: Compiling Declarative Calls"),
        (r"We use the \texttt{foo\_bar} library and \mbox{two words}", "We use the foo_bar library and two words"),
        (r"p {\textless} 0.05, {\textgreater} 1M, {\textbar}V{\textbar}", "p < 0.05, > 1M, |V|"),
        (r"a {\~{}} b {\^{}} c", "a ~ b ^ c"),
        (r"see \href{https://x.org}{the code}", "see the code (https://x.org)"),
    ],
)
def test_latex_keeps_the_text_of_text_macros_and_reference_manager_escapes(latex: str, text: str) -> None:
    """pylatexenc drops ``\\texttt{...}`` with its contents (model names in arXiv abstracts) and turns Zotero's
    ``{\\textless}`` and Mendeley's ``{\\~{}}`` into nothing."""
    from rag.index.formats.latex import latex_to_text

    assert latex_to_text(latex) == text


def test_a_tilde_in_the_arxiv_dump_is_a_tilde_and_bibtex_urls_lose_their_escapes(tmp_path: Path) -> None:
    from rag.index.formats.bibtex import _url
    from rag.index.formats.latex import latex_to_text

    abstract = "Code at https://www.cs.example.edu/~smith/code; we get ~30% gains"
    assert latex_to_text(abstract, tilde_is_space=False) == abstract
    assert latex_to_text("Donald~E. Knuth") == "Donald E. Knuth"  # BibTeX's non-breaking space
    assert _url(r"https://www.aclweb.org/anthology/P19{\_}1001") == "https://www.aclweb.org/anthology/P19_1001"
    assert _url(r"\url{http://x.edu/{~}me/a{\%}20b} http://second.org") == "http://x.edu/~me/a%20b"


def test_authors_that_are_not_names_are_a_one_line_error(tmp_path: Path) -> None:
    abstract = "We study the problem of retrieval for scientific papers and show that a simple method works well."
    for value in (5, {"a": 1}, ["A Smith", 3]):
        path = tmp_path / "authors.jsonl"
        path.write_text(json.dumps({"title": "Graph retrieval", "abstract": abstract, "authors": value}) + "\n")
        with pytest.raises(CorpusError, match=r"authors\.jsonl:1: authors must be a string or a list of strings"):
            load_papers([path])


def test_tab_and_semicolon_separated_tables_are_read_and_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    """A TSV, or a CSV saved by Excel with semicolons, was read as a listing page: one paper titled "title
    abstract". A header naming the abstract twice reported a "missing" abstract for every row."""
    abstract = "We study the problem of retrieval for scientific papers and show that a simple method works well."
    for name, sep in (("papers.tsv", "\t"), ("excel.csv", ";"), ("tabs.txt", "\t")):
        path = tmp_path / name
        path.write_text(sep.join(["title", "abstract", "year"]) + "\n" + sep.join(["T7", abstract, "2020"]) + "\n")
        [paper] = load_papers([path])
        assert (paper.title, paper.abstract, paper.year) == ("T7", abstract, 2020), name
    twice = tmp_path / "twice.csv"
    twice.write_text(f"title,abstract,Abstract\nT10,{abstract},\n")
    with pytest.raises(CorpusError, match=r"twice\.csv:1: the header names the column 'abstract' twice; keep one"):
        load_papers([twice])


def test_csv_rows_are_named_by_their_first_line_after_blank_lines_and_appledouble_files_are_skipped(
    tmp_path: Path,
) -> None:
    """A quoted abstract over two lines named its row by the last line; blank lines before the header hid it; a
    macOS ``._papers.csv`` beside the file (AppleDouble, binary) stopped the folder's ingest; a JSON line holding
    U+2028 in a ``.txt`` was read as a listing page."""
    abstract = "We study the problem of retrieval for scientific papers and show that a simple method works well."
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "papers.csv").write_text(f'\n\ntitle,abstract\nT1,"{abstract}\nsecond line"\nT2,"{abstract}"\nT3,\n')
    (folder / "._papers.csv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    with pytest.raises(CorpusError, match=r"papers\.csv:7: paper 'T3' has no abstract"):
        load_papers([folder])
    (folder / "papers.csv").write_text(f'\n\ntitle,abstract\nT1,"{abstract}\nsecond line"\nT2,"{abstract}"\n')
    read = [(p.title, p.sources) for p in load_papers([folder])]
    assert read == [("T1", ("papers.csv:4",)), ("T2", ("papers.csv:6",))]
    line = tmp_path / "rows.txt"
    line.write_text(json.dumps({"title": "Line\u2028separated", "abstract": abstract}, ensure_ascii=False) + "\n")
    assert [p.title for p in load_papers([line])] == ["Line separated"]


def test_broken_latex_keeps_its_text_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert latex_to_text("Abstract \\\\ badly $ broken \\frac{") == "Abstract \\\\ badly $ broken \\frac{"
    assert not [r for r in caplog.records if r.name.startswith("pylatexenc")]
