"""Answerers behind one interface. The extractive answerer is the offline default.

The extractive answerer quotes the sentences of the retrieved abstracts that best answer the question,
so every sentence of its answer is verbatim from the abstract it cites (faithful by construction).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from math import log
from typing import Any, Protocol

from rag.answer.citations import Checked, check_answer
from rag.answer.compose.analysis import analyse
from rag.answer.compose.followup import resolve_followup
from rag.answer.compose.selection import is_background, is_boilerplate, redundancy
from rag.answer.compose.shapes import compare
from rag.index.embeddings import Embedder
from rag.settings import Settings
from rag.text import normalize_verbatim, split_sentences, tokenize
from rag.types import Answer, Hit, Retrieved

ABSTENTION = "The corpus does not cover this question."
"""The one abstention sentence, shared by prompts, answerers, UI and evals."""


class Answerer(Protocol):
    """Turns retrieved papers into an answer with ``[n]`` citations."""

    name: str

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """A standalone version of a follow-up question (the question itself if there is no history)."""
        ...

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final ``Answer``."""
        ...


def abstention(question: str, retrieved: Retrieved, answerer: str) -> Answer:
    """The abstaining answer: exactly ``ABSTENTION``, no citations."""
    return Answer(question, ABSTENTION, (), True, answerer, retrieved.hits)


def checked_answer(
    question: str, checked: Checked, answerer: str, retrieved: Retrieved, timings: dict[str, float], **extra: Any
) -> Answer:
    """The final ``Answer`` of an answerer from its citation-checked text (both answerers end here)."""
    return Answer(
        question,
        checked.text,
        checked.citations,
        False,
        answerer,
        retrieved.hits,
        checks=checked.checks,
        removed_markers=checked.removed_markers,
        timings=timings,
        **extra,
    )


def is_abstention(text: str) -> bool:
    """Whether an answer text is the abstention sentence (tolerating case, quotes and trailing dots)."""
    def canon(t: str) -> str:
        return normalize_verbatim(t).strip(" \"'“”.`*")

    return canon(text).startswith(canon(ABSTENTION))


# --- follow-ups ---------------------------------------------------------------------------------------

_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|theirs|this|that|these|those|he|she|his|her|the (?:paper|model|method|"
    r"approach|authors|work|study|benchmark|dataset|framework|technique|system))\b",
    re.IGNORECASE,
)
_QUESTION_WORDS = frozenset(
    ["what", "which", "how", "who", "whom", "why", "when", "where", "whose", "does", "did", "do", "is", "are",
     "was", "were", "can", "could"]
)


def carry_forward(question: str, history: Sequence[dict[str, str]]) -> str:
    """A standalone query for a follow-up (``rag.answer.compose.followup.resolve_followup``): the previous
    question's content words and the previous answer's names, then the question; a question that stands on
    its own (a new topic, its own method name before any pronoun) is returned unchanged."""
    return resolve_followup(question, history)


# --- sentence selection -------------------------------------------------------------------------------

_QUANTITY = re.compile(r"\b(how (?:much|many|large|big|fast|long|small)|what (?:speedup|accuracy|percentage|size|"
                       r"sizes|number|fraction|ratio|score|improvement|gain|cost)|by how)\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")


def is_list_question(question: str) -> bool:
    """Questions asking for several papers ("Which papers ...", "List ...", "Are there papers ...")."""
    return analyse(question).kind == "list"


@dataclass(frozen=True, slots=True)
class Pick:
    """A candidate answer sentence: which hit, which sentence, its text and score."""

    hit: int
    index: int
    text: str
    score: float
    relevance: float = 0.0
    """The score without the paper's rank prior (what list answers compare across papers)."""


@dataclass(frozen=True, slots=True)
class Weights:
    """How sentence scores combine. Tuned on ``evals/dev.jsonl`` (key-fact recall 0.79 through the
    pipeline, vs 0.59 for "three most query-similar sentences of the top five papers")."""

    similarity: float = 1.0
    lexical: float = 1.6
    paper: float = 1.5
    quantity: float = 0.08
    position: float = 0.02
    keep_ratio: float = 0.6
    max_sentences: int = 6
    per_paper: int = 5
    max_papers: int = 2
    other_paper_ratio: float = 0.85
    """Sentences of papers after the first need this share of the best score (keeps answers on topic)."""
    list_papers: int = 5
    list_sentences: int = 3
    list_ratio: float = 0.5
    followup_similarity: float = 0.2
    """Similarity weight for follow-ups (sentence scores then reflect the carried-forward query)."""
    boilerplate: float = 1.0
    """Penalty for "Code is available at ..." and "Recent advances ..." sentences (unless asked for)."""
    max_redundancy: float = 0.75
    """A sentence whose content words are this much in one chosen sentence is left out (MMR-style)."""


def _sentences(hit: Hit) -> list[str]:
    return [hit.paper.abstract[s.start : s.end] for s in split_sentences(hit.paper.abstract)]


def score_sentences(
    question: str, retrieved: Retrieved, weights: Weights, extra_query: str = ""
) -> list[Pick]:
    """Every sentence of every hit scored for the question: query similarity (``Hit.sentence_scores``),
    IDF-weighted overlap with the question's stemmed words, the paper's retrieval rank, and a small
    bonus for numbers when the question asks for a quantity. Best first."""
    hits = retrieved.hits
    texts = [_sentences(h) for h in hits]
    tokens = [[set(tokenize(s)) for s in sents] for sents in texts]
    n_sent = sum(len(t) for t in tokens) or 1
    df: dict[str, int] = {}
    for sents in tokens:
        for toks in sents:
            for tok in toks:
                df[tok] = df.get(tok, 0) + 1
    q_terms = dict.fromkeys(tokenize(question), 1.0)
    for tok in tokenize(extra_query):
        q_terms.setdefault(tok, 0.5)
    idf = {t: log(1 + n_sent / (1 + df.get(t, 0))) for t in q_terms}
    total = sum(idf[t] * w for t, w in q_terms.items()) or 1.0
    wants_number = bool(_QUANTITY.search(question))
    wants_background = analyse(question).wants_background
    w_sim = weights.followup_similarity if extra_query else weights.similarity
    picks = []
    for h, (hit, paper_sentences) in enumerate(zip(hits, texts, strict=True)):
        sims = hit.sentence_scores if len(hit.sentence_scores) == len(paper_sentences) else ()
        prior = 1.0 / (1.0 + h)  # rank-based: robust to how the reranker scales its scores
        for i, sentence in enumerate(paper_sentences):
            sim = sims[i] if sims else hit.sentence_score * 0.8
            lex = sum(idf[t] * w for t, w in q_terms.items() if t in tokens[h][i]) / total
            relevance = w_sim * sim + weights.lexical * lex
            if wants_number and _DIGIT.search(sentence):
                relevance += weights.quantity
            relevance -= weights.position * min(i, 5) / 5
            if not wants_background and (is_boilerplate(sentence) or is_background(sentence)):
                relevance -= weights.boilerplate
            picks.append(Pick(h, i, sentence, relevance + weights.paper * prior, relevance))
    picks.sort(key=lambda p: (-p.score, p.hit, p.index))
    return picks


def select(picks: Sequence[Pick], weights: Weights) -> list[Pick]:
    """The best sentences: within ``keep_ratio`` of the best score, at most ``per_paper`` per paper and
    ``max_papers`` papers, no near-duplicates; ordered by paper (best paper first), then abstract order."""
    if not picks:
        return []
    best = picks[0].score
    chosen: list[Pick] = []
    papers: list[int] = []
    seen: set[str] = set()
    for pick in picks:
        if len(chosen) >= weights.max_sentences or pick.score < best * weights.keep_ratio:
            break
        if pick.hit not in papers and len(papers) >= weights.max_papers:
            continue
        if papers and pick.hit != papers[0] and pick.score < best * weights.other_paper_ratio:
            continue
        if sum(1 for c in chosen if c.hit == pick.hit) >= weights.per_paper:
            continue
        key = normalize_verbatim(pick.text)
        if key in seen or len(key) < 12:
            continue
        if redundancy(pick.text, [c.text for c in chosen]) > weights.max_redundancy:
            continue
        seen.add(key)
        chosen.append(pick)
        if pick.hit not in papers:
            papers.append(pick.hit)
    return sorted(chosen, key=lambda p: (papers.index(p.hit), p.index))


class ExtractiveAnswerer:
    """Quotes the sentences of the retrieved abstracts that best answer the question, each cited ``[n]``.

    Offline and deterministic; every answer sentence is a verbatim quote of the abstract it cites."""

    name = "extractive"

    def __init__(self, settings: Settings, embedder: Embedder, weights: Weights | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.weights = weights or Weights()

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        return carry_forward(question, history)

    def compose(self, question: str, retrieved: Retrieved, standalone: str = "") -> str:
        """The answer text with ``[n]`` markers numbered by ``retrieved.hits`` (renumbered later)."""
        extra = standalone if normalize_verbatim(standalone) != normalize_verbatim(question) else ""
        picks = score_sentences(question, retrieved, self.weights, extra)
        analysis = analyse(question)
        if analysis.kind == "list":
            return self._list(picks, retrieved)
        if analysis.kind == "comparison":
            shaped = compare(analysis.entities, picks, retrieved)
            if shaped:
                return shaped
        chosen = select(picks, self.weights)
        return " ".join(f"{p.text} [{p.hit + 1}]" for p in chosen)

    def _list(self, picks: Sequence[Pick], retrieved: Retrieved) -> str:
        """One line per paper, ``- Title: quote [n] quote [n]``: papers (in rank order) whose best sentence
        is within ``list_ratio`` of the most relevant one, each with up to ``list_sentences`` quotes."""
        by_relevance = sorted(picks, key=lambda p: (-p.relevance, p.hit, p.index))
        if not by_relevance:
            return ""
        floor = by_relevance[0].relevance * self.weights.list_ratio
        per_paper: dict[int, list[Pick]] = {}
        for pick in by_relevance:
            if pick.relevance < floor:
                break
            if pick.hit not in per_paper and len(per_paper) >= self.weights.list_papers:
                continue
            quotes = per_paper.setdefault(pick.hit, [])
            if len(quotes) < self.weights.list_sentences:
                quotes.append(pick)
        lines = []
        for hit in sorted(per_paper):
            title = " ".join(retrieved.hits[hit].paper.title.split())
            quotes = sorted(per_paper[hit], key=lambda p: p.index)
            lines.append(f"- {title}: " + " ".join(f"{p.text} [{hit + 1}]" for p in quotes))
        return "\n".join(lines)

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        if retrieved.abstain or not retrieved.hits:
            yield ABSTENTION
            yield abstention(question, retrieved, self.name)
            return
        t0 = time.perf_counter()
        draft = self.compose(question, retrieved, retrieved.query if history else "")
        t1 = time.perf_counter()
        checked = check_answer(draft, [h.paper for h in retrieved.hits], self.embedder)
        timings = {"answer": t1 - t0, "check": time.perf_counter() - t1}
        yield checked.text
        yield checked_answer(question, checked, self.name, retrieved, timings)
