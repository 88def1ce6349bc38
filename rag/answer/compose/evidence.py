"""Candidate evidence: every sentence of every retrieved abstract scored for the question, with its trimmed quote."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from math import log

from rag.answer.compose.analysis import Question
from rag.answer.compose.selection import MAX_REDUNDANCY, is_background, is_boilerplate
from rag.answer.compose.spans import Trim, trim
from rag.text import defuse_markers, has_digit, says_we, split_sentences, tokenize
from rag.types import Hit, Retrieved


@dataclass(frozen=True, slots=True)
class Pick:
    """A candidate answer sentence: which hit, which sentence, its text, score and the quote shown for it."""

    hit: int
    index: int
    text: str
    score: float
    relevance: float = 0.0
    """The score without the paper's rank prior (what list answers compare across papers)."""
    quote: str = ""
    """What the answer quotes: the sentence, or its pieces that carry the question joined with "…"."""
    lexical: float = 0.0
    """IDF-weighted share of the question's terms the sentence holds."""
    similarity: float = 0.0
    """The sentence's embedding similarity to the query (``Hit.sentence_scores``)."""
    sentences: int = 1
    """How many sentences the abstract has (``index`` is the position among them)."""

    @property
    def shown(self) -> str:
        return self.quote or self.text


@dataclass(frozen=True, slots=True)
class Weights:
    """How sentence scores combine, and which papers list answers and pointed follow-ups keep. Tuned on
    ``evals/dev_fit.jsonl`` (prose answers choose their pieces with ``rag.answer.compose.pieces``)."""

    similarity: float = 0.58
    lexical: float = 1.29
    paper: float = 1.5
    quantity: float = 0.08
    position: float = 0.02
    other_paper_ratio: float = 0.85
    """A follow-up pointing at several cited papers ("which of them ...") is answered from those whose best
    sentence scores this share of the best one (keeps the answer on the paper that fits)."""
    list_papers: int = 5
    list_sentences: int = 2
    list_min_score: float = 0.5
    """A paper after the first is listed as a sure match with this retrieval (reranker) score ...,"""
    list_weaker_score: float = 0.1
    """as a weaker match, under the sure ones, with this one (chosen on ``dev_fit`` list questions by the F1 of
    listed papers against gold ones: 0.5 -> 0.1 moved precision 0.83 -> 0.71, recall 0.59 -> 0.75), quoting
    ``list_weaker_sentences`` sentences (one: list answers 255 -> 215 words, same key-fact recall) ..."""
    list_weaker_sentences: int = 1
    list_lexical_ratio: float = 0.4
    """... and when a sentence holds this share of the best sentence's question-term weight (dev_fit: cited
    papers 82% gold, 75% of the gold papers among the hits listed)."""
    pointed_confidence: float = 0.1
    """A follow-up pointing at a paper the last answer cited ("what GPU did they use?" after an answer from one paper)
    is answered from it, although the abstention model doubts its carried query, when its confidence reaches this:
    the chat already found the paper, and a detail its abstract omits is said to be "not stated". Three-turn chats
    from ``dev_fit`` questions (``evals.chat_probe``) were refused at 0.15-0.47; the fitting sets' one unanswerable
    pointed follow-up ("What limitations or failure cases do the authors report?", not stated anywhere) has 0.02."""
    followup_similarity: float = 0.2
    """Similarity weight for follow-ups (sentence scores then reflect the carried-forward query)."""
    boilerplate: float = 0.35
    """Penalty for "Code is available at ..." and "Recent advances ..." sentences (unless asked for)."""
    max_redundancy: float = MAX_REDUNDANCY
    """A list line's sentence whose content words are this much in one already chosen is left out."""
    fact_position: float = 1.06
    """Key-fact prior (fitted on ``dev_fit``: which sentences hold key facts): later sentences score higher,"""
    fact_first: float = 0.43
    """the first (scene-setting) and"""
    fact_last: float = 0.65
    """the last (outlook) sentence lower,"""
    fact_digit: float = 0.39
    """sentences with numbers and"""
    fact_we: float = 0.33
    """sentences saying what "we" did higher, and per word of length"""
    fact_length: float = 0.025
    absent: float = 1.0
    """Bonus for a sentence saying that what the question asks to be absent is not needed ("no training")."""
    trim: Trim = field(default_factory=Trim)

    def pointed(self) -> Weights:
        """The weights for a follow-up about papers already named ("which of them ..."): the question's own
        terms decide, no query-independent key-fact prior."""
        return replace(self, fact_position=0.0, fact_first=0.0, fact_last=0.0, fact_digit=0.0, fact_we=0.0,
                       fact_length=0.0)


def sentences_of(hit: Hit) -> list[str]:
    return [hit.paper.abstract[s.start : s.end] for s in split_sentences(hit.paper.abstract)]


def term_weights(question: str, extra_query: str, texts: Sequence[Sequence[set[str]]]) -> dict[str, float]:
    """The question's stemmed terms (``extra_query``'s at half weight) weighted by IDF over the candidate
    sentences ``texts`` (per hit, per sentence, its token set)."""
    n_sent = sum(len(t) for t in texts) or 1
    df: dict[str, int] = {}
    for sents in texts:
        for toks in sents:
            for tok in toks:
                df[tok] = df.get(tok, 0) + 1
    terms = dict.fromkeys(tokenize(question), 1.0)
    for tok in tokenize(extra_query):
        terms.setdefault(tok, 0.5)
    return {t: w * log(1 + n_sent / (1 + df.get(t, 0))) for t, w in terms.items()}


def _fact_prior(sentence: str, i: int, n: int, weights: Weights) -> float:
    """How likely a sentence is to state one of a paper's key facts, whatever the question."""
    prior = weights.fact_position * i / max(n - 1, 1) + weights.fact_length * len(sentence.split())
    prior -= weights.fact_first * (i == 0) + weights.fact_last * (i == n - 1 and n > 1)
    prior += weights.fact_digit * has_digit(sentence) + weights.fact_we * says_we(sentence)
    return prior


_ASKED_ABSENT = re.compile(r"\b(?:no|without|free of|not (?:need|require)\w*)\s+(?:any |additional |extra )?([a-z-]+)",
                           re.IGNORECASE)


def absent_terms(question: str) -> list[str]:
    """Stems the question asks to be absent: "needs no training", "without labels" -> ``train``, ``label``."""
    return [t for m in _ASKED_ABSENT.finditer(question) for t in tokenize(m.group(1))]


def states_absent(sentence: str, stems: Sequence[str]) -> bool:
    """Whether ``sentence`` says one of ``stems`` is not needed: "without additional data, knowledge, or
    training", "training-free", "no labels", "does not require training"."""
    low = sentence.lower()
    for stem in stems:
        if re.search(rf"\b{re.escape(stem)}\w*-free\b", low):
            return True
        if re.search(rf"\b(?:no|without|free of|not (?:need|require)\w*|eliminat\w+ the need for)\b[^.;]{{0,50}}?"
                     rf"\b{re.escape(stem)}", low):
            return True
    return False


def question_terms(question: str, retrieved: Retrieved, extra_query: str = "") -> dict[str, float]:
    """``term_weights`` over the sentences of ``retrieved``'s hits."""
    return term_weights(question, extra_query, [[set(tokenize(s)) for s in sentences_of(h)] for h in retrieved.hits])


def score_sentences(
    analysis: Question, retrieved: Retrieved, weights: Weights, idf: Mapping[str, float], followup: bool = False
) -> list[Pick]:
    """Every sentence of every hit scored for the analysed question: query similarity (``Hit.sentence_scores``;
    weighed less for a ``followup``, whose sentence scores reflect the carried-forward query), overlap with the
    question's terms weighted by ``idf`` (``question_terms``), the paper's retrieval rank, a small bonus for
    numbers when the question asks for a quantity, a penalty for boilerplate. Best first."""
    hits = retrieved.hits
    texts = [[defuse_markers(s) for s in sentences_of(h)] for h in hits]  # an abstract's own "[2]" cites nothing
    tokens = [[set(tokenize(s)) for s in sents] for sents in texts]
    total = sum(idf.values()) or 1.0
    wants_number = analysis.kind == "quantity"
    w_sim = weights.followup_similarity if followup else weights.similarity
    absent = absent_terms(analysis.text)
    picks = []
    for h, (hit, paper_sentences) in enumerate(zip(hits, texts, strict=True)):
        sims = hit.sentence_scores if len(hit.sentence_scores) == len(paper_sentences) else ()
        prior = 1.0 / (1.0 + h)  # rank-based: robust to how the reranker scales its scores
        for i, sentence in enumerate(paper_sentences):
            sim = sims[i] if sims else hit.sentence_score * 0.8
            lex = sum(w for t, w in idf.items() if t in tokens[h][i]) / total
            relevance = w_sim * sim + weights.lexical * lex
            if wants_number and has_digit(sentence):
                relevance += weights.quantity
            relevance -= weights.position * min(i, 5) / 5
            relevance += _fact_prior(sentence, i, len(paper_sentences), weights)
            if absent and states_absent(sentence, absent):
                relevance += weights.absent
            if not analysis.wants_background and (is_boilerplate(sentence) or is_background(sentence)):
                relevance -= weights.boilerplate
            quote = trim(sentence, idf, wants_number, weights.trim)
            picks.append(Pick(h, i, sentence, relevance + weights.paper * prior, relevance, quote, lex, sim,
                              len(paper_sentences)))
    picks.sort(key=lambda p: (-p.score, p.hit, p.index))
    return picks
