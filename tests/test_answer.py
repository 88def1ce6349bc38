"""The extractive answerer: verbatim quotes with matching [n] markers, list format, abstention, follow-ups."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.answer.base import ABSTENTION, is_abstention
from rag.answer.compose.analysis import analyse
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.notes import is_note, names_paper, note_names
from rag.settings import Settings
from rag.text import parse_markers, parts_in_order, quote_parts, sentences, short_title, strip_markers
from rag.types import Answer, Hit, Paper, Retrieved
from tests.conftest import SMALL_PAPERS, HashEmbedder, make_paper

ROOT = Path(__file__).resolve().parent.parent

EXTRA = [
    make_paper(
        "Speech Tokenizers Revisited",
        "Tokenizers shape speech models. We compare twelve speech tokenizers on LibriSpeech and CommonVoice. "
        "Discrete units from HuBERT give the lowest word error rate.",
    ),
]


def make_hits(question: str, papers: Sequence[Paper], embedder: HashEmbedder) -> tuple[Hit, ...]:
    """Hits scored like the retriever: sentence similarities with the question, papers by best sentence."""
    qvec = embedder.embed_query(question)
    out = []
    for paper in papers:
        sents = sentences(paper.abstract)
        sims = embedder.embed(sents) @ qvec
        best = int(np.argmax(sims))
        out.append(Hit(paper, float(sims.max()), sents[best], best, float(sims[best]),
                       sentence_scores=tuple(float(s) for s in sims)))
    return tuple(sorted(out, key=lambda h: -h.score))


def answer(question: str, papers: Sequence[Paper] = SMALL_PAPERS + EXTRA, abstain: bool = False,
           history: Sequence[dict[str, str]] = ()) -> tuple[list[str], Answer, Retrieved]:
    embedder = HashEmbedder()
    a = ExtractiveAnswerer(Settings(), embedder)
    standalone = a.condense(question, history)
    r = Retrieved(standalone, make_hits(standalone, papers, embedder), 0.8, abstain)
    items = list(a.stream(question, r, list(history)))
    final = items[-1]
    assert isinstance(final, Answer)
    return [i for i in items[:-1] if isinstance(i, str)], final, r


def assert_faithful(final: Answer) -> None:
    """Every sentence quotes the abstract it cites, and markers and citations agree; a note ("Yes: <title>",
    "The X abstract does not state ...") names the paper it cites."""
    numbers = sorted({n for m in parse_markers(final.text) for n in m.numbers})
    assert numbers == [c.marker for c in final.citations] == list(range(1, len(final.citations) + 1))
    for check in final.checks:
        assert check.verdict == "supported", check
        if is_note(check.text):
            assert all(names_paper(note_names(check.text), final.citations[n - 1].paper.title,
                                   final.citations[n - 1].paper.abstract) for n in check.markers), check
            continue
        body = check.text
        for c in final.citations:
            for name in (c.paper.title, short_title(c.paper.title)):
                if body.startswith(f"- {name}: "):
                    body = body[len(f"- {name}: "):]
        cited = [final.citations[n - 1].paper.abstract for n in check.markers]
        parts = quote_parts(strip_markers(body))  # a quote below the sentence: parts joined with "…"
        assert any(body in abstract or parts_in_order(parts, abstract) for abstract in cited), body
    for c in final.citations:
        assert c.quote and all(s in c.paper.abstract for s in sentences(c.quote))


def test_answer_quotes_the_relevant_sentences_verbatim() -> None:
    texts, final, _ = answer("How much faster is the speech recognition tokenizer, and where is it evaluated?")
    assert texts == [final.text]
    assert final.answerer == "extractive" and not final.abstained
    assert "runs 3.5x faster than prior work" in final.text
    assert "It is evaluated on LibriSpeech." in final.text
    assert final.citations[0].paper.title == "Fast Tokenization for Speech Recognition"
    assert_faithful(final)
    # every sentence is followed by its marker
    for sentence in re.split(r"(?<=\])\s+", final.text):
        assert re.search(r"\[\d+\]$", sentence), sentence


def test_answer_uses_the_question_words_not_just_the_first_sentence() -> None:
    _, final, _ = answer("What share of the variance do SAE features explain?")
    assert "SAE features explain 42.5% of the variance." in final.text
    assert_faithful(final)


def test_answer_is_short() -> None:
    _, final, _ = answer("Which loss is proposed for domain generalization?")
    assert 1 <= len(final.checks) <= 8
    assert "rationale invariance loss" in final.text


def test_which_papers_gives_one_line_per_paper() -> None:
    _, final, _ = answer("Which papers are about speech recognition tokenizers?")
    lines = final.text.splitlines()
    assert len(lines) >= 2
    titles = [c.paper.title for c in final.citations]
    assert {"Fast Tokenization for Speech Recognition", "Speech Tokenizers Revisited"} <= set(titles)
    for line, citation in zip(lines, final.citations, strict=False):
        assert line.startswith(f"- {citation.paper.title}: ")
        assert line.endswith(f"[{citation.marker}]")
    assert_faithful(final)


@pytest.mark.parametrize("question", ["Which papers study X?", "List papers on Y", "Are there any papers about Z?",
                                      "What papers propose a new loss?"])
def test_list_questions_are_detected(question: str) -> None:
    assert analyse(question).kind == "list"


@pytest.mark.parametrize("question", ["Which loss does the paper propose?", "What does MaxSup penalize?"])
def test_other_questions_are_not_lists(question: str) -> None:
    assert analyse(question).kind != "list"


def test_abstains_with_the_exact_sentence() -> None:
    texts, final, _ = answer("How does QLoRA quantize weights?", abstain=True)
    assert texts == [ABSTENTION]
    assert final.text == ABSTENTION and final.abstained and final.citations == () and final.checks == ()
    assert is_abstention(" the corpus does not cover this question ")


def test_abstains_without_hits() -> None:
    a = ExtractiveAnswerer(Settings(), HashEmbedder())
    final = list(a.stream("anything", Retrieved("anything", (), 0.0, False), []))[-1]
    assert isinstance(final, Answer) and final.text == ABSTENTION and final.abstained


def test_misaligned_sentence_scores_still_answer() -> None:
    paper = SMALL_PAPERS[2]
    hit = Hit(paper, 1.0, "x", 0, 0.4, sentence_scores=(0.1,))  # wrong length: lexical scores only
    a = ExtractiveAnswerer(Settings(), HashEmbedder())
    final = list(a.stream("Where is it evaluated, LibriSpeech?", Retrieved("q", (hit,), 0.9, False), []))[-1]
    assert isinstance(final, Answer) and "LibriSpeech" in final.text
    assert_faithful(final)


def test_followup_carries_the_previous_question_forward() -> None:
    history = [{"role": "user", "content": "Is there a fast tokenizer for speech recognition?"},
               {"role": "assistant", "content": "Yes [1]."}]
    standalone = ExtractiveAnswerer(Settings(), HashEmbedder()).condense("Which dataset was it evaluated on?", history)
    assert "tokenizer" in standalone and "speech" in standalone
    assert standalone.endswith("Which dataset was it evaluated on?")
    _, final, r = answer("Which dataset was it evaluated on?", SMALL_PAPERS, history=history)
    assert r.hits[0].paper.title == "Fast Tokenization for Speech Recognition"
    assert "LibriSpeech" in final.text
    assert_faithful(final)


def test_self_contained_followup_is_left_alone() -> None:
    history = [{"role": "user", "content": "What is LAWN?"}, {"role": "assistant", "content": "..."}]
    question = "How does graph message passing with edge attention predict molecule properties?"
    answerer = ExtractiveAnswerer(Settings(), HashEmbedder())
    assert answerer.condense(question, history) == question
    assert answerer.condense("What is LAWN?", []) == "What is LAWN?"


@pytest.mark.slow
def test_every_dev_answer_quotes_its_sources_verbatim(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """On every dev-set question (real index, real MiniLM), every cited sentence is a verbatim quote."""
    items = [json.loads(line) for line in (ROOT / "evals" / "dev.jsonl").read_text().splitlines() if line.strip()]
    answered = 0
    for item in items:
        final = real_pipeline.ask(item["question"], item["history"], answerer="extractive")
        if final.abstained:
            assert final.text == ABSTENTION
            continue
        answered += 1
        assert final.checks, item["id"]
        assert_faithful(final)
        assert strip_markers(final.text)
    assert answered >= len(items) // 2


def test_a_doubted_follow_up_about_the_one_paper_cited_is_answered_by_both_answerers() -> None:
    """A third turn "which GPU did they use?" the abstention model doubts is answered from the paper the last answer
    cited, saying what its abstract does not state; the LLM answerer is handed it too (``overrules``)."""
    paper = SMALL_PAPERS[0]
    first = sentences(paper.abstract)[0]
    history = [{"role": "user", "content": "What do sparse autoencoders find?"},
               {"role": "assistant", "content": f"{first} [1]"}]
    _, final, retrieved = answer("which GPU did they use?", [paper], abstain=True, history=history)
    assert not final.abstained and "does not state" in final.text.split("\n")[0], final.text
    assert ExtractiveAnswerer(Settings(), HashEmbedder()).overrules("which GPU did they use?", retrieved, history)
    _, final, _ = answer("which GPU did they use?", [paper], abstain=True)  # no chat: refused as before
    assert final.abstained
