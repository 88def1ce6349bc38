"""Inputs as users' files hold them (a review of the formats): LaTeX macros that are words, merged ``.bib``
files with a repeated key or field, comments and ``crossref`` in BibTeX, author lists, DOIs written with a
prefix, and CSV headers that name no title or abstract column."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rag.errors import CorpusError
from rag.index.corpus import load_papers
from rag.index.formats.authors import split_authors
from rag.index.formats.latex import latex_to_text
from rag.index.formats.meta import parse_doi

ABSTRACT = "We study a simple problem in machine learning. Our method improves accuracy by 3.5 points on three tasks."


# ---- LaTeX: no macro deletes a word ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"Translating Images to \LaTeX{} with Transformers", "Translating Images to LaTeX with Transformers"),
        (r"\TeX\ and \BibTeX{} entries", "TeX and BibTeX entries"),
        (r"scanned pages, \ie{} images, \eg receipts, \etc.", "scanned pages, i.e. images, e.g. receipts, etc."),
        (r"latency is \SI{5}{\milli\second} at \qty{2.5}{GB}", "latency is 5 ms at 2.5 GB"),
        (r"\SIrange{1}{5}{\kilo\gram\per\metre\squared} and \num{3}", "1–5 kg/m² and 3"),
        (r"our \method beats \baseline", "our method beats baseline"),  # an unknown macro keeps its name
        (r"the 5\textsuperscript{th} \operatorname{argmax}", "the 5th argmax"),  # ... or its argument
        (r"{\em our} method \xspace{}is \bf $\left( x \right)$", "our method is ( x )"),  # layout prints nothing
        (r"e.g.\@ the {\it best\/} $\det(A) \ne 0$ for {\cal O}(n)", "e.g. the best det(A) ≠ 0 for O(n)"),
        (r"as shown in~\cite[p.~3]{x,y}.", "as shown in."),  # citations are dropped with their space
        (r"models (\citet{a}; \citep{b}) work", "models work"),
        (r"Section~\ref{s} and Eq.~\eqref{e}", "Section ?? and Eq. (??)"),  # as LaTeX prints an unknown reference
    ],
)
def test_latex_macros_keep_their_words(latex: str, text: str) -> None:
    """pylatexenc deletes the macros it does not know: "Translating Images to \\LaTeX{} with Transformers" was
    stored as "Translating Images to with Transformers", ``\\SI{5}{\\milli\\second}`` as "5"."""
    assert latex_to_text(latex) == text


def test_a_bibtex_title_keeps_latex_logos(tmp_path: Path) -> None:
    path = tmp_path / "latex.bib"
    path.write_text(
        "@article{tex1,\n  title = {Translating Images to \\LaTeX{} with Transformers},\n"
        "  abstract = {We generate \\LaTeX{} markup, \\ie{} code; latency is \\SI{5}{\\milli\\second}.},\n}\n"
    )
    (paper,) = load_papers([path])
    assert paper.title == "Translating Images to LaTeX with Transformers"
    assert paper.abstract == "We generate LaTeX markup, i.e. code; latency is 5 ms."


# ---- BibTeX: merged files --------------------------------------------------------------------------

_MERGED = """@string{nips = "Advances in Neural Information Processing Systems"}
@inproceedings{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam},
  booktitle = nips # " 30",
  year = {2017},
  abstract = {We propose the Transformer, a model architecture based solely on attention.},
}
@string{nips = "Advances in Neural Information Processing Systems"}
@inproceedings{vaswani2017,
  title = "Dropout: A Simple Way to Prevent Overfitting",
  author = {Srivastava, Nitish and Hinton, Geoffrey},
  booktitle = nips # " 27",
  month = jun,
  year = {2014},
  doi = {10.5555/2627435},
  url = {https://jmlr.org/papers/v15/srivastava14a.html},
  abstract = {Dropout prevents overfitting by randomly dropping units during training.},
}
"""


def test_an_entry_with_a_repeated_key_is_read_like_any_other(tmp_path: Path) -> None:
    """bibtexparser returns it as a failed block the middlewares skip: its authors were one name, its venue
    ``nips # " 27"``, its DOI and date lost, and a braced URL stopped the ingest."""
    path = tmp_path / "merged.bib"
    path.write_text(_MERGED)
    first, second = load_papers([path])
    assert first.title == "Attention Is All You Need"
    assert second.title == "Dropout: A Simple Way to Prevent Overfitting"
    assert second.authors == ("Nitish Srivastava", "Geoffrey Hinton")
    assert second.venue == "Advances in Neural Information Processing Systems 27"
    assert (second.year, second.date, second.doi) == (2014, "2014-06", "10.5555/2627435")
    assert second.sources == ("merged.bib:10",)


def test_a_repeated_field_keeps_its_first_value_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "dupfield.bib"
    path.write_text(
        "@article{a1,\n  title = {Attention Is All You Need},\n  author = {Vaswani, Ashish and Shazeer, Noam},\n"
        "  year = {2017},\n  Year = {2018},\n  journal = {NeurIPS},\n  abstract = {" + ABSTRACT + "},\n}\n"
        '@string{x = "One"}\n@string{x = "Two"}\n'
    )
    with caplog.at_level(logging.WARNING):
        (paper,) = load_papers([path])
    assert (paper.authors, paper.year, paper.venue) == (("Ashish Vaswani", "Noam Shazeer"), 2017, "NeurIPS")
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}:5: entry 'a1' names the field 'Year' a second time; the first value is kept (remove one)",
        f"{path}:10: @string 'x' is defined again with another text; the first is kept",
    ]


def test_percent_comments_inside_and_between_entries_are_comments(tmp_path: Path) -> None:
    """bibtexparser glued a comment line to the next field's name ("entry 'e1' has no title" for an entry with a
    title), stopped at a comment holding a comma, and read an entry commented out line by line. A ``%`` inside a
    value is text."""
    path = tmp_path / "comments.bib"
    path.write_text(
        "% @article{old,\n%   title = {Commented Out},\n% }\n"
        "@article{e1,\n  % a note, with a comma and a {brace\n  title = {Comment Lines Inside Entries},\n"
        "  % year = {2019},\n  year = {2020}, % the published year\n"
        '  abstract = "A 50% chance of failure, then",\n}\n'
        "@article{e2,\n  title = {Second},\n  abstract = {Errors fall by 30\n% on average.},\n}\n"
    )
    first, second = load_papers([path])
    assert (first.title, first.year, first.abstract) == ("Comment Lines Inside Entries", 2020,
                                                        "A 50% chance of failure, then")  # fmt: skip
    assert first.sources == ("comments.bib:4",)
    assert second.abstract == "Errors fall by 30 % on average."


def test_crossref_children_inherit_from_their_container_which_is_no_paper(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An ``@proceedings`` without abstract stopped the ingest ("entry 'parent' has no abstract") and its papers
    had no venue or year."""
    path = tmp_path / "proceedings.bib"
    path.write_text(
        "@proceedings{Parent,\n  title = {Proceedings of Something},\n  year = {2018},\n  month = jul,\n"
        "  publisher = {PMLR},\n  doi = {10.1000/proceedings}\n}\n"
        "@inproceedings{child2018,\n  title = {Crossref Child Paper},\n  author = {Kim, Lee},\n"
        "  crossref = {parent},\n  abstract = {" + ABSTRACT + "}\n}\n"
        "@inproceedings{late,\n  title = {Late Paper},\n  crossref = {parent},\n  year = 2019,\n"
        "  abstract = {" + ABSTRACT + "}\n}\n"
        "@inproceedings{orphan,\n  title = {Orphan Paper},\n  crossref = {elsewhere},\n  year = 2020,\n"
        "  abstract = {" + ABSTRACT + "}\n}\n"
        "@inproceedings{Loop,\n  title = {Loop Paper},\n  crossref = {loop},\n  abstract = {" + ABSTRACT + "}\n}\n"
    )
    with caplog.at_level(logging.WARNING):
        child, late, orphan, _ = load_papers([path])
    assert (child.title, child.venue, child.year, child.date) == ("Crossref Child Paper", "Proceedings of Something",
                                                                  2018, "2018-07")  # fmt: skip
    assert child.doi is None  # the proceedings' DOI is not the paper's
    assert (late.venue, late.year, late.date) == ("Proceedings of Something", 2019, None)
    assert (orphan.venue, orphan.year) == (None, 2020)
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}:20: entry 'orphan' cross-references 'elsewhere', which is not an entry of this file; its venue and "
        "year stay as written",
        f"{path}:26: entry 'Loop' cross-references itself; its venue and year stay as written",  # not "not an entry"
    ]


# ---- DOIs --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "doi"),
    [
        ("DOI: 10.1000/ABC ", "10.1000/ABC"),  # was None: the value was split at its space before the label
        ("doi 10.1000/abc", "10.1000/abc"),
        ("https://doi.org/10.18653/v1/P19-1001", "10.18653/v1/P19-1001"),
        ("doi.org/10.1000/y", "10.1000/y"),
        ("https://www.doi.org/10.1000/w", "10.1000/w"),
        ("http://dx.doi.org/10.1000/z", "10.1000/z"),
    ],
)
def test_dois_are_read_with_their_label_or_resolver(value: str, doi: str) -> None:
    assert parse_doi(value) == doi


def test_a_doi_that_is_none_is_left_out_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bib = tmp_path / "dois.bib"
    bib.write_text(
        "@article{m2,\n  title = {DOI Uppercase},\n  doi = {DOI: 10.1000/ABC },\n  abstract = {" + ABSTRACT + "}\n}\n"
        "@article{m3,\n  title = {Not a DOI},\n  doi = {P19-1001},\n  abstract = {" + ABSTRACT + "}\n}\n"
    )
    table = tmp_path / "dois.csv"
    table.write_text(f"title,abstract,doi\nCSV Paper,{ABSTRACT},https://example.org/P19-1001\n")
    with caplog.at_level(logging.WARNING):
        upper, other, row = load_papers([bib, table])
    assert (upper.doi, upper.url) == ("10.1000/ABC", "https://doi.org/10.1000/ABC")
    assert other.doi is None and row.doi is None
    assert [r.getMessage() for r in caplog.records] == [
        f"{bib}:6: doi 'P19-1001' is not a DOI (10.<number>/<suffix>); it is left out",
        f"{table}:2: doi 'https://example.org/P19-1001' is not a DOI (10.<number>/<suffix>); it is left out",
    ]


# ---- authors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("de la Fuente, Juan", ("Juan de la Fuente",)),  # was two authors: "de la Fuente", "Juan"
        ("King, Jr., Martin Luther", ("Martin Luther King Jr.",)),  # was three
        ("Vaswani, A., Shazeer, N., Parmar, N.", ("A. Vaswani", "N. Shazeer", "N. Parmar")),  # lost "N." as a repeat
        ("Smith, J., Jones, K.", ("J. Smith", "K. Jones")),
        ("van der Berg, Piet; Le Cun, Yann; others", ("Piet van der Berg", "Yann Le Cun")),
        ("Smith, John and Doe, Jane and others", ("John Smith", "Jane Doe")),
        ("{Procter and Gamble} and Ng, Andrew", ("{Procter and Gamble}", "Andrew Ng")),
        ("J. Smith, K. Jones, and L. Wu", ("J. Smith", "K. Jones", "L. Wu")),
        ("Alice Smith, Bob Jones", ("Alice Smith", "Bob Jones")),
        ("Smith J, Jones K", ("Smith J", "Jones K")),
        ("Martin Luther King, Jr.", ("Martin Luther King Jr.",)),
        ("Wei Wang and Wei Wang", ("Wei Wang", "Wei Wang")),  # two people of one name
        (["King, Jr., Martin", "O'Brien, Conan", "others"], ("Martin King Jr.", "Conan O'Brien")),
    ],
)
def test_author_strings_are_split_into_people(value: str | list[str], names: tuple[str, ...]) -> None:
    assert split_authors(value) == names


def test_bibtex_and_others_is_no_author(tmp_path: Path) -> None:
    path = tmp_path / "others.bib"
    path.write_text("@article{a,\n  title = {T},\n  author = {Devlin, Jacob and Chang, Ming-Wei and others},\n"
                    "  abstract = {" + ABSTRACT + "}\n}\n")  # fmt: skip
    (paper,) = load_papers([path])
    assert paper.authors == ("Jacob Devlin", "Ming-Wei Chang")


# ---- CSV headers and long lines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Paper Title,Summary,Author", "found 'Paper Title', 'Summary', 'Author'; accepted names for the title: title "
                                       "(any case, '_' or '-' for spaces)"),
        ("Titel;Zusammenfassung", "found 'Titel', 'Zusammenfassung'; accepted names for the title: title; for the "
                                  "abstract: abstract, summary, abstract note, abstractnote (any case"),
    ],
)  # fmt: skip
def test_a_csv_header_without_title_or_abstract_shows_what_it_found_and_what_would_do(
    tmp_path: Path, header: str, message: str
) -> None:
    path = tmp_path / "papers.csv"
    path.write_text(f"{header}\nA,B,C\n")
    with pytest.raises(CorpusError) as info:
        load_papers([path])
    assert str(info.value).startswith(f"{path}:1: the header must name 'title' and 'abstract' columns; {message}")


def test_a_line_over_the_limit_names_the_field_to_shorten(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"title": "Long", "abstract": "word " * 30_000}) + "\n")
    expected = (r"long\.jsonl:1: line is 150,033 characters; the limit is 100,000, that of an abstract "
                r"\(a title: 400\): shorten its 'abstract' field \(150,000 characters\)")
    with pytest.raises(CorpusError, match=expected):
        load_papers([path])
    path = tmp_path / "long.csv"
    path.write_text("title,abstract\nLong," + "word " * 30_000 + "\n")
    with pytest.raises(CorpusError, match=r"long\.csv:2: line is 150,005 .*: shorten the abstract on it"):
        load_papers([path])


def test_a_lone_surrogate_escape_is_named_as_such_and_a_whole_pair_is_read(tmp_path: Path) -> None:
    """JSON allows "\\ud800" alone, which is no character: ingest said the row "needs non-empty 'title' and
    'abstract' fields (... unable to parse raw data as a unicode string)"."""
    abstract = "We study lone surrogates in abstracts and show that they break text encoders in many ways."
    path = tmp_path / "half.jsonl"
    row = '{"title": "TITLE", "abstract": "ABSTRACT"}\n'.replace("ABSTRACT", abstract)
    path.write_text(row.replace("TITLE", "Lone \\ud800 surrogate"), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"half\.jsonl:1: the 'title' field holds a \\u escape that is not a whole "
                                          r"character \(half of a surrogate pair\)"):
        load_papers([path])
    path.write_text(row.replace("TITLE", "Emoji \\ud83d\\ude00 paper"), encoding="utf-8")
    assert [p.title for p in load_papers([path])] == ["Emoji \U0001f600 paper"]


def test_old_mac_line_ends_are_read_and_a_pretty_printed_json_object_is_named(tmp_path: Path) -> None:
    """A reviewer's CR-only CSV got the csv module's "new-line character seen in unquoted field ... universal-newline
    mode?", and an indented JSON object "Expecting property name enclosed in double quotes"."""
    abstract = "We study line ends in exported tables and show that old formats still turn up in practice."
    mac = tmp_path / "mac.csv"
    mac.write_bytes(f"title,abstract\rA paper,{abstract}\rB paper,{abstract}\r".encode())
    assert [p.title for p in load_papers([mac])] == ["A paper", "B paper"]
    pretty = tmp_path / "paper.json"
    pretty.write_text(json.dumps({"title": "A paper", "abstract": abstract}, indent=2) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"paper\.json:1: this JSON object spans several lines; write each paper "
                                          r"as one object"):
        load_papers([pretty])
