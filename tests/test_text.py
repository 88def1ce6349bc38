"""The text rules of ``rag.text`` on hand-made cases, generated round trips, and the verbatim property of
the extractive answerer on every dev-set answer through the real pipeline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.citations import check_answer
from rag.index.corpus import paper_id
from rag.text import (
    ABBREVIATIONS,
    STOPWORDS,
    answer_sentences,
    content_words,
    find_numbers,
    key_terms,
    list_label,
    markers_in,
    normalize_query,
    normalize_title,
    normalize_verbatim,
    numbers_in,
    parse_markers,
    sentences,
    split_sentences,
    strip_bullet,
    strip_markers,
    tokenize,
    words,
)
from rag.types import Answer
from tests.conftest import HashEmbedder, make_paper

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We use e.g. BERT. It works, i.e. Accuracy rises.", ["We use e.g. BERT.", "It works, i.e. Accuracy rises."]),
        ("Smith et al. Show it. Next.", ["Smith et al. Show it.", "Next."]),
        ("See Fig. 2 and Eq. 3 vs. Sec. 4. Done.", ["See Fig. 2 and Eq. 3 vs. Sec. 4.", "Done."]),
        ("By J. Smith. Then more.", ["By J. Smith.", "Then more."]),
        ("Images, audio, etc. All work.", ["Images, audio, etc.", "All work."]),  # "etc." ends a sentence
        ("For each x. With this.", ["For each x.", "With this."]),  # a lower-case variable can end one
        ("It gains 3.5 points with v1.2.3. Next.", ["It gains 3.5 points with v1.2.3.", "Next."]),
        ("A 3.5. v2 stays.", ["A 3.5. v2 stays."]),  # a lower-case start continues the sentence
        ("Code: https://a.io/x.y/z.html. Next.", ["Code: https://a.io/x.y/z.html.", "Next."]),
        ("See arXiv:2101.00001 now. Ok.", ["See arXiv:2101.00001 now.", "Ok."]),
        ("It aims to (1) elicit, (2) balance. (3) Follows.", ["It aims to (1) elicit, (2) balance.", "(3) Follows."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("Is it? Yes! no. more", ["Is it?", "Yes! no. more"]),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected
    assert [text[s.start : s.end] for s in split_sentences(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("First claim. [1] Second [2]. Third.", ["First claim. [1]", "Second [2].", "Third."]),
        (
            "First claim. [1] Second, e.g. this one [2]. Third (3).\n- Title: quote [4]",
            ["First claim. [1]", "Second, e.g. this one [2].", "Third (3).", "- Title: quote [4]"],
        ),
        ("A claim. [2][1] Next one.", ["A claim. [2][1]", "Next one."]),
        ("Code at https://x.org/y [1] Then a claim [2]", ["Code at https://x.org/y [1]", "Then a claim [2]"]),
        ("- Title: quote [1]\n- Other: more [2]", ["- Title: quote [1]", "- Other: more [2]"]),
        ("Claim.\n[3]", ["Claim. [3]"]),  # a line of markers only belongs to the sentence before
        ("It struggles with (2). Next (3).", ["It struggles with (2).", "Next (3)."]),
        ("Smith et al. [1] found it.", ["Smith et al. [1] found it."]),
        ("Fig. 2 shows it [1].", ["Fig. 2 shows it [1]."]),
    ],
)
def test_answer_sentences(text: str, expected: list[str]) -> None:
    assert answer_sentences(text) == expected
    assert all(normalize_verbatim(s) in normalize_verbatim(text) for s in expected)


def test_one_abbreviation_list() -> None:
    assert {"e.g", "i.e", "al", "fig", "vs"} <= ABBREVIATIONS
    assert "etc" not in ABBREVIATIONS


# ---------------------------------------------------------------------------------------------- markers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("A [1].", [(1,)]),
        ("A [1, 3].", [(1, 3)]),
        ("A [1,2;4].", [(1, 2, 4)]),
        ("A [2-4] and [2–4].", [(2, 3, 4), (2, 3, 4)]),
        ("A [Source 2], [sources 1, 3] and [ref 5].", [(2,), (1, 3), (5,)]),
        ("A 【2】 and 【1, 2】 and 【12】 here.", [(2,), (1, 2), (12,)]),
        ("A [1][2].", [(1,), (2,)]),
        ("Steps: (1) encode, (2) decode, (i) test. Struggle with (2). Predictions (1)-(3).", []),
        ("It maps R to [0,1] and x[0] is set [12].", [(12,)]),
        ("Not numbers: [CLS], ![pic], [a1], [1000].", []),
    ],
)
def test_marker_forms(text: str, numbers: list[tuple[int, ...]]) -> None:
    markers = parse_markers(text)
    assert [m.numbers for m in markers] == numbers
    assert markers_in(text) == [n for group in numbers for n in group]
    for m in markers:
        assert text[m.start : m.end].startswith(("[", "【")) and text[m.start : m.end].endswith(("]", "】"))


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("A claim [1]. More [2, 3].", "A claim. More."),
        ("and ![pic] x [1]", "and ![pic] x"),
        ("claim [1] Next", "claim Next"),
        ("A [1][2] [3].", "A."),
        ("often struggle with (2). [1]", "often struggle with (2)."),
        ("maps R to [0,1] to estimate [1].", "maps R to [0,1] to estimate."),
        ("word , word ; done  twice [Source 1]", "word , word ; done  twice"),
        ("【1】 Lead", "Lead"),
    ],
)
def test_strip_markers_keeps_the_text_around(text: str, stripped: str) -> None:
    assert strip_markers(text) == stripped


_PLAIN = st.lists(st.sampled_from([*"abcXY ,.;:!?()-'\"09", "(1)", "(ii)", "![pic]", "  "])).map("".join)
_MARK = st.builds(
    lambda n, style: style.format(n), st.integers(1, 99), st.sampled_from(["[{}]", "【{}】", "[Source {}]", "[ {} ]"])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_PLAIN, _MARK), max_size=6), _PLAIN)
def test_inserting_markers_and_stripping_them_gives_the_text_back(pieces: list[tuple[str, str]], tail: str) -> None:
    """Markers put after any text (with a space before them or not) strip back to exactly that text."""
    assert not parse_markers("".join(p for p, _ in pieces) + tail)
    spaced = "".join(f"{p.rstrip(' ')} {m}" if p.endswith(" ") else f"{p}{m}" for p, m in pieces) + tail
    expected = "".join(p.rstrip(" ") if p.endswith(" ") else p for p, _ in pieces) + tail
    assert markers_in(spaced) == [int("".join(ch for ch in m if ch.isdigit())) for _, m in pieces]
    assert strip_markers(spaced) == expected.strip()


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("- Graph Networks: It improves QM9. [1]", "- Graph Networks: "),
        ("* graph networks — It improves. [1]", "* graph networks — "),
        ("1. **Graph Networks**: It improves.", "1. **Graph Networks**: "),
        ("- What Do SAEs Learn? Sparse Features: We train. [2]", "- What Do SAEs Learn? Sparse Features: "),
        ("Graph Networks - it improves", "Graph Networks - "),
        ("- Graph Networks-based models improve.", ""),  # a hyphen inside a word is no separator
        ("- Other Paper: text", ""),
        ("Graph Networks improve.", ""),
    ],
)
def test_list_labels(line: str, label: str) -> None:
    titles = ["Graph Networks", "What Do SAEs Learn? Sparse Features"]
    assert list_label(line, titles) == label
    assert strip_bullet("- x") == "x" and strip_bullet("2) x") == "x" and strip_bullet("-x") == "-x"


# ---------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("It explains 42.5% of 1,000 runs [3].", {"42.5", "1000"}),
        ("QM9 and H100 improve by 8% and 1,000 x 3.5", {"8", "1000", "3.5"}),
        ("9x faster, 0.4B tokens, v1.2 and arXiv:2101.00001.", {"9", "0.4", "2101.00001"}),
        ("Items 1, 2 and 3; pairs (1,2) and 10.", {"1", "2", "3", "10"}),
        ("No digits here [1] 【2】.", set()),
    ],
)
def test_numbers(text: str, numbers: set[str]) -> None:
    assert numbers_in(text) == numbers
    assert sorted(find_numbers(text)) == sorted(numbers)


def test_numbers_keep_their_order() -> None:
    assert find_numbers("trained on 0.4B tokens with 9x speedup, 42% savings and 9 GPUs") == ["0.4", "9", "42"]


# ---------------------------------------------------------------------------------------------- normalisation


def test_title_normalisation_and_ids_stay_byte_identical() -> None:
    assert normalize_title("Reasoning to Attend: Try to Understand How <SEG> Token Works") == (
        "reasoning to attend try to understand how seg token works"
    )
    assert normalize_title("Naïve  Bayes — Revisited!") == "naive bayes revisited"
    # ids of existing indexes: sha1 of the normalised title, unchanged since the first ingest
    digest = hashlib.sha1(b"domain generalization via rationale invariance").hexdigest()
    assert paper_id("Domain Generalization via Rationale Invariance") == "p" + digest[:12]


def test_verbatim_and_query_normalisation() -> None:
    assert normalize_verbatim("  The  Loss\nWorks. ") == "the loss works."
    assert normalize_query("  Sparse\u2013autoencoders\u00a0 “SAE”\x00 ") == 'Sparse-autoencoders "SAE"'


# ---------------------------------------------------------------------------------------------- words


def test_tokenize_words_and_content_words() -> None:
    assert words("GPT-4o beats v1.2, (SAEs)!") == ["GPT-4o", "beats", "v1.2", "SAEs"]
    assert tokenize("The state-of-the-art models") == ["state-of-the-art", "state", "art", "model"]
    assert tokenize("We propose a new method") == []
    assert content_words("Sparse autoencoders on QM9 explain 42.5%") == {"spars", "autoencod", "explain"}
    assert key_terms("What do sparse Autoencoders learn about autoencoders?", {"what"}) == [
        "sparse", "Autoencoders", "learn"
    ]
    assert {"the", "paper", "method"} <= STOPWORDS


# ---------------------------------------------------------------------------------------------- the checker


def test_checker_keeps_enumerations_and_intervals_as_quoted() -> None:
    paper = make_paper(
        "Proper Losses",
        "Methods aim to (1) elicit skills and (2) balance them. They often struggle with (2). "
        "Existing methods map R to [0,1] to estimate probabilities.",
    )
    text = "They often struggle with (2). [1] Existing methods map R to [0,1] to estimate probabilities. [1]"
    checked = check_answer(text, [paper], HashEmbedder())
    assert checked.text == text
    assert [c.text for c in checked.checks] == [
        "They often struggle with (2).",
        "Existing methods map R to [0,1] to estimate probabilities.",
    ]
    assert [c.verdict for c in checked.checks] == ["supported", "supported"]
    assert checked.citations[0].sentence_indices == (1, 2)


# ---------------------------------------------------------------------------------------------- verbatim answers

# Questions aimed at abstracts holding "(2).", "(1)-(3)" and "[0,1]" (which an older marker rule rewrote as
# citations), with the text their answer must quote as it stands.
MARKER_SHAPED = [
    (
        "Why do influence-based methods for instruction tuning data selection often struggle to achieve balanced "
        "performance?",
        "often struggle with (2).",
    ),
    ("Which predictions of the LLMs are Bayesian in expectation paper were validated on GPT-3?", "(1)-(3),"),
    (
        "How do existing methods for proper loss learning map R to [0,1] to estimate probabilities, and how does "
        "LegendreTron extend this?",
        "maps R to [0,1] to estimate",
    ),
]


def verbatim_problems(answer: Answer) -> list[str]:
    """Sentences of an extractive answer that are not, markers stripped, a substring of an abstract they cite.

    The answerer writes ``quote [n] quote [n]`` (quotes joined by a space, no "…") or, for list questions,
    ``- Title: quote [n] ...`` lines; the ``- Title: `` label is presentation and is taken off first."""
    cited = {c.marker: c.paper for c in answer.citations}
    problems = []
    for line in answer.text.splitlines():
        body = line
        for paper in cited.values():
            label = f"- {' '.join(paper.title.split())}: "
            if line.startswith(label):
                body = line[len(label) :]
        for sentence in answer_sentences(body):
            quote, markers = strip_markers(sentence), markers_in(sentence)
            if not markers or not any(m in cited and quote in cited[m].abstract for m in markers):
                problems.append(f"{sentence!r} cites {markers}")
    return problems


@pytest.mark.slow
def test_every_extractive_answer_sentence_is_verbatim_from_its_cited_abstract(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    items = [json.loads(line) for line in (ROOT / "evals" / "dev.jsonl").read_text().splitlines() if line.strip()]
    asked = [(i["id"], i["question"], i.get("history") or None, "") for i in items]
    asked += [(f"marker-shaped-{n}", q, None, quote) for n, (q, quote) in enumerate(MARKER_SHAPED)]
    problems: list[str] = []
    n_sentences = 0
    for item_id, question, history, quote in asked:
        answer = real_pipeline.ask(question, history, answerer="extractive")
        if answer.abstained:
            continue
        n_sentences += len(answer_sentences(answer.text))
        problems += [f"{item_id}: {p}" for p in verbatim_problems(answer)]
        if quote and quote not in answer.text:
            problems.append(f"{item_id}: the answer does not quote {quote!r}: {answer.text[:300]!r}")
    assert not problems, "\n".join(problems)
    assert n_sentences > 300  # the dev set's answers were all checked, not skipped
