"""Scores: per item (``score_answer``, kept in an ``ItemResult``), aggregated over items (``aggregate``), and
the definition of every metric the eval report shows.

``score_answer`` applies ``rag.evals.ranking`` (ranking), ``rag.evals.metrics`` (citations) and ``rag.evals.facts``
(what the answer holds) to one ``Answer``; ``aggregate`` uses ``rag.evals.stats``. ``METRIC_DOCS`` is printed by
``report.md`` and stored in ``report.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.evals import facts as ef
from rag.evals import metrics as em
from rag.evals import stats as es
from rag.evals.evalset import EvalItem
from rag.evals.judge import LLMJudge
from rag.evals.ranking import RANKING_KEYS, ranking_metrics
from rag.text import normalize_title, strip_markers, words
from rag.types import Answer

METRIC_DOCS: dict[str, str] = {
    "hit@1": "share of answerable items whose top retrieved paper (Answer.hits) is a gold paper",
    "hit@5": "share of answerable items with a gold paper in the top 5 hits",
    "hit@10": "share of answerable items with a gold paper in the top 10 hits",
    "mrr@10": "mean reciprocal rank of the first gold paper in the top 10 (0 if absent)",
    "recall@10": "share of an item's gold papers in the top 10, averaged",
    "ndcg@10": "binary-relevance nDCG@10 (ideal DCG counts min(|gold|, 10) relevant papers)",
    "faithfulness": "the strictest faithfulness tier that ran: judge when an LLM judge ran, else exact",
    "faithfulness_exact": "share of answer sentences that, minus markers and normalised, occur verbatim in a cited "
    "abstract (uncited sentences count as unsupported)",
    "faithfulness_proxy": "PROXY: share of answer sentences the citation checker marks 'supported' (numbers "
    "consistent, support score over its threshold); without checks, all numbers and >= 60% of stemmed content "
    "words found in the cited abstracts",
    "faithfulness_judge": "share of answer sentences whose every claim an LLM judge finds supported by the cited "
    "abstracts (only with an LLM configured)",
    "citation_recall": "ALCE citation recall on the same tier as faithfulness: share of answer sentences whose "
    "cited set supports them",
    "citation_precision": "ALCE citation precision on the same tier as faithfulness: share of (sentence, citation) "
    "pairs where the cited set supports the sentence and the citation alone does, or the rest does not",
    "invalid_citation_rate": "markers pointing at no source (incl. ones the checker removed), over all markers",
    "key_fact_recall": "share of key facts present in the answer: every number and letter-digit code (H100) of the "
    "fact appears and >= 60% of its written content words do, stemmed (answerable items)",
    "answer_f1": "token F1 (stemmed content words) between the answer and the reference answer (answerable items)",
    "key_fact_first40": "answered answerable items whose first 40 words (markers removed) hold a key fact by the "
    "key_fact_recall rule (every number of the fact and >= 60% of its stemmed content words)",
    "key_fact_first40_lookup": "key_fact_first40 over the lookup items",
    "key_fact_recall_multi": "key_fact_recall over the multi-paper items",
    "not_stated_rate": "answerable items whose answer says the asked detail is not stated (first sentence holds "
    "'not stated' or 'does not state'): flagged wrongly",
    "refused_or_not_stated_answerable": "answerable items refused or answered 'not stated' (lower is better)",
    "refused_or_not_stated": "unanswerable items refused or answered 'not stated' (first sentence holds 'not "
    "stated' or 'does not state')",
    "answer_words_p50": "median words of the non-abstained answers (markers removed)",
    "answer_words_p90": "90th percentile of the words of the non-abstained answers",
    "cited_relevance_multi": "multi-paper items: cited papers that are gold, over all cited papers (pooled)",
    "abstention_accuracy": "answerable items answered plus unanswerable items refused, over all items",
    "over_abstention_rate": "wrongly refused: answerable items refused, over answerable items",
    "false_answer_rate": "wrongly answered: unanswerable items answered, over unanswerable items",
    "abstain_precision": "refusals on unanswerable items, over all refusals (n/a without refusals)",
    "abstain_recall": "unanswerable items refused, over unanswerable items",
    "latency_p50_<stage>": "median seconds of a stage (Answer.timings: condense, embed, retrieve, rerank, "
    "answerer stages, total)",
    "latency_p95_<stage>": "95th percentile seconds of a stage",
}


for _tier in ("exact", "proxy", "judge"):
    METRIC_DOCS[f"citation_precision_{_tier}"] = f"citation precision on the {_tier} tier"
    METRIC_DOCS[f"citation_recall_{_tier}"] = f"citation recall on the {_tier} tier"


def source_texts(answer: Answer) -> dict[int, str]:
    """Marker → abstract of the cited paper."""
    return {c.marker: c.paper.abstract for c in answer.citations}


def score_answer(item: EvalItem, answer: Answer, judge: LLMJudge | None = None) -> dict[str, float | None]:
    """Every per-item metric of one answer (None where a metric does not apply)."""
    scores: dict[str, float | None] = {}
    if item.answerable:
        gold = {normalize_title(t) for t in item.gold_titles}
        ranked = [normalize_title(h.paper.title) for h in answer.hits]
        scores.update(ranking_metrics(ranked, gold))
        facts = ef.key_fact_recall(item.key_facts, answer.text)
        scores["key_fact_recall"] = 0.0 if answer.abstained and facts is not None else facts
        scores["answer_f1"] = 0.0 if answer.abstained else ef.answer_f1(answer.text, item.answer)
        first = ef.key_fact_first(item.key_facts, answer.text)
        scores["key_fact_first40"] = None if answer.abstained else first
    flagged = not answer.abstained and ef.says_not_stated(answer.text)
    scores["not_stated"] = float(flagged)
    scores["refused_or_not_stated"] = float(answer.abstained or flagged)
    units = em.answer_units(answer)
    sources = source_texts(answer)
    exact = em.citation_scores(units, sources, em.exact_support)
    checker = [None if u.verdict is None else u.verdict == "supported" for u in units]
    proxy = em.citation_scores(units, sources, em.lexical_support, checker)
    tiers: dict[str, em.CitationScores | None] = {"exact": exact, "proxy": proxy}
    if judge is not None:
        titled = {c.marker: f"{c.paper.title}: {c.paper.abstract}" for c in answer.citations}
        tiers["judge"] = judge.scores(units, titled)
    for tier, s in tiers.items():
        scores[f"faithfulness_{tier}"] = s.faithfulness if s else None
        scores[f"citation_recall_{tier}"] = s.recall if s else None
        scores[f"citation_precision_{tier}"] = s.precision if s else None
    strict = "judge" if judge is not None else "exact"
    scores["faithfulness"] = scores[f"faithfulness_{strict}"]
    scores["citation_recall"] = scores[f"citation_recall_{strict}"]
    scores["citation_precision"] = scores[f"citation_precision_{strict}"]
    bad, markers = em.invalid_markers(answer)
    scores["_invalid_markers"] = float(bad)
    scores["_markers"] = float(markers)
    scores["answer_sentences"] = float(len(units))
    if not answer.abstained:
        scores["_words"] = float(len(words(strip_markers(answer.text))))
    if item.type == "multi" and not answer.abstained:
        gold_titles = {normalize_title(t) for t in item.gold_titles}
        cited = {normalize_title(c.paper.title) for c in answer.citations}
        scores["_cited"] = float(len(cited))
        scores["_cited_gold"] = float(len(cited & gold_titles))
    return scores


@dataclass(slots=True)
class ItemResult:
    id: str
    set: str
    source: str
    type: str
    question: str
    answerable: bool
    gold_titles: list[str]
    answer: str
    abstained: bool
    answerer: str
    retrieved: list[str]
    citations: list[dict[str, Any]]
    scores: dict[str, float | None]
    timings: dict[str, float]
    error: str | None = None
    confidence: float | None = None
    """The abstention model's 0..1 confidence that the corpus answers the item (None: not measured)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "set": self.set,
            "source": self.source,
            "type": self.type,
            "question": self.question,
            "answerable": self.answerable,
            "gold_titles": self.gold_titles,
            "answer": self.answer,
            "abstained": self.abstained,
            "answerer": self.answerer,
            "retrieved": self.retrieved,
            "citations": self.citations,
            "metrics": {k: v for k, v in self.scores.items() if not k.startswith("_")},
            "timings": self.timings,
            "error": self.error,
            "confidence": self.confidence,
        }


def answer_first_metrics(results: Sequence[ItemResult]) -> dict[str, float | None]:
    """The answer-first goals of issue 23: the key fact in the first 40 words (all answered items, lookups),
    multi-paper key-fact recall, and "not stated" answers on answerable and unanswerable items."""

    def over(key: str, keep: Callable[[ItemResult], bool]) -> float | None:
        return es.mean([r.scores.get(key) for r in results if keep(r)])

    return {
        "key_fact_first40": over("key_fact_first40", lambda r: True),
        "key_fact_first40_lookup": over("key_fact_first40", lambda r: r.type == "lookup"),
        "key_fact_recall_multi": over("key_fact_recall", lambda r: r.type == "multi"),
        "not_stated_rate": over("not_stated", lambda r: r.answerable),
        "refused_or_not_stated_answerable": over("refused_or_not_stated", lambda r: r.answerable),
        "refused_or_not_stated": over("refused_or_not_stated", lambda r: not r.answerable),
    }


def aggregate(results: Sequence[ItemResult], judge_ran: bool) -> dict[str, float | int | None]:
    """Aggregate metrics over items: means over the items each metric applies to, pooled rates, abstention
    metrics over all items, latency percentiles per stage."""
    agg: dict[str, float | int | None] = {"items": len(results)}
    agg["answerable_items"] = sum(1 for r in results if r.answerable)
    agg["errors"] = sum(1 for r in results if r.error)
    keys = [*RANKING_KEYS, "key_fact_recall", "answer_f1"]
    tiers = ["exact", "proxy", *(["judge"] if judge_ran else [])]
    for tier in tiers:
        keys += [f"faithfulness_{tier}", f"citation_recall_{tier}", f"citation_precision_{tier}"]
    keys += ["faithfulness", "citation_recall", "citation_precision"]
    for key in keys:
        agg[key] = es.mean([r.scores.get(key) for r in results])
    markers = sum(r.scores.get("_markers") or 0.0 for r in results)
    bad = sum(r.scores.get("_invalid_markers") or 0.0 for r in results)
    agg["invalid_citation_rate"] = bad / markers if markers else None
    lengths = [r.scores["_words"] for r in results if r.scores.get("_words") is not None]
    agg["answer_words_p50"] = es.percentile([v for v in lengths if v is not None], 50)
    agg["answer_words_p90"] = es.percentile([v for v in lengths if v is not None], 90)
    cited = sum(r.scores.get("_cited") or 0.0 for r in results)
    agg["cited_relevance_multi"] = sum(r.scores.get("_cited_gold") or 0.0 for r in results) / cited if cited else None
    agg.update(answer_first_metrics(results))
    ran = [r for r in results if r.answerer != "error"]  # a failed run is neither an answer nor a refusal
    agg.update(es.abstention_metrics([r.answerable for r in ran], [r.abstained for r in ran]))
    recall = agg.get("abstain_recall")
    agg["false_answer_rate"] = 1.0 - recall if isinstance(recall, float) else None
    stages: list[str] = []
    for r in results:
        stages += [s for s in r.timings if s not in stages]
    for stage in sorted(stages, key=lambda s: (s == "total", s)):
        values = [r.timings[stage] for r in results if stage in r.timings]
        agg[f"latency_p50_{stage}"] = es.percentile(values, 50)
        agg[f"latency_p95_{stage}"] = es.percentile(values, 95)
    return agg
