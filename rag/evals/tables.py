"""What an eval report shows and how its values print: the metrics listed (tables, plots, the summary), ``fmt``,
the columns (each question type, then overall) and the plain-text summary table ``rag eval`` prints. Read by
``rag.evals.report`` (report.md) and ``rag.evals.plots`` (the PNG plots).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

QUALITY_METRICS = (
    "hit@1",
    "hit@5",
    "hit@10",
    "mrr@10",
    "recall@10",
    "ndcg@10",
    "faithfulness",
    "faithfulness_exact",
    "faithfulness_proxy",
    "faithfulness_judge",
    "citation_recall",
    "citation_precision",
    "citation_precision_exact",
    "citation_precision_proxy",
    "citation_precision_judge",
    "invalid_citation_rate",
    "key_fact_recall",
    "key_fact_recall_multi",
    "key_fact_first40",
    "key_fact_first40_lookup",
    "answer_f1",
    "answer_words_p50",
    "answer_words_p90",
    "cited_relevance_multi",
    "abstention_accuracy",
    "over_abstention_rate",
    "false_answer_rate",
    "abstain_precision",
    "abstain_recall",
    "not_stated_rate",
    "refused_or_not_stated_answerable",
    "refused_or_not_stated",
)
PLOT_METRICS = (
    "hit@1",
    "hit@5",
    "mrr@10",
    "ndcg@10",
    "faithfulness",
    "faithfulness_proxy",
    "citation_precision",
    "key_fact_recall",
    "key_fact_first40",
    "answer_f1",
    "abstention_accuracy",
)
SUMMARY_METRICS = (*PLOT_METRICS, "latency_p50_total", "latency_p95_total")


def fmt(value: Any, metric: str = "") -> str:
    """A metric value for tables: latency in ms, scores with 3 decimals, ``n/a`` when not measured."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if metric.startswith("latency_"):
        ms = value * 1000
        return f"{ms:.0f} ms" if abs(ms) >= 10 else f"{ms:.1f} ms"
    if isinstance(value, int):
        return str(value)
    if metric.startswith("answer_words_"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def columns(report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, aggregate) of each question type, then ("overall", the whole aggregate)."""
    return [*report["by_type"].items(), ("overall", report["aggregate"])]


def latency_stages(aggregate: Mapping[str, Any]) -> list[str]:
    """The pipeline stages an aggregate has latencies of."""
    return [k.removeprefix("latency_p50_") for k in aggregate if k.startswith("latency_p50_")]


def summary_table(report: Mapping[str, Any]) -> str:
    """Plain-text table: key metrics (rows) by question type and overall (columns)."""
    cols = columns(report)
    head = f"{'metric':<20}" + "".join(f"{name:>13}" for name, _ in cols)
    lines = [head, "-" * len(head)]
    lines.append(f"{'items':<20}" + "".join(f"{agg.get('items', 0):>13}" for _, agg in cols))
    for metric in SUMMARY_METRICS:
        if all(agg.get(metric) is None for _, agg in cols):
            continue
        lines.append(f"{metric:<20}" + "".join(f"{fmt(agg.get(metric), metric):>13}" for _, agg in cols))
    tier = report.get("meta", {}).get("faithfulness_tier", "exact")
    lines.append(f"(faithfulness = {tier} tier; latency in ms; n/a = does not apply)")
    return "\n".join(lines)
