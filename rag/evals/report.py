"""Human-readable eval reports: ``report.json``, ``report.md`` and PNG plots, from the report dict
``rag.evals.runner.EvalReport.to_dict()`` produces (and, for ``--compare``, an earlier one). This module writes
report.md and the files; the metrics shown and how they print are ``rag.evals.tables``, the plots
``rag.evals.plots``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.evals.plots import plot_by_type, plot_compare, plot_latency
from rag.evals.tables import QUALITY_METRICS, columns, fmt, latency_stages
from rag.evals.tradeoff import plot_tradeoff, tradeoff_markdown


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _definition(metric: str, docs: Mapping[str, str]) -> str:
    if metric in docs:
        return docs[metric]
    for prefix in ("latency_p50_", "latency_p95_"):
        if metric.startswith(prefix):
            return docs.get(prefix + "<stage>", "")
    return ""


def _run_info(report: Mapping[str, Any]) -> list[str]:
    """The heading and what the run was: sets, answerer, counts, tiers, how metrics are averaged."""
    meta = report.get("meta", {})
    agg = report["aggregate"]
    parts = [
        "# Eval report",
        "",
        f"- sets: {', '.join(meta.get('sets', []))}",
        f"- answerer: {meta.get('answerer')}; items: {agg.get('items')} ({agg.get('answerable_items')} answerable); "
        f"errors: {agg.get('errors')}; run time: {meta.get('seconds')} s; created: {meta.get('created')}",
        f"- `faithfulness` is the **{meta.get('faithfulness_tier', 'exact')}** tier (the strictest that ran); "
        "`faithfulness_proxy` is a proxy, not a judgement of meaning.",
        f"- retrieval metrics use the ranking behind each answer (`Answer.hits`, depth {meta.get('hits_depth')}; "
        "the answerer reads the first `RAG_TOP_K` of them).",
        "- per-item scores are averaged over the items they apply to (macro); `invalid_citation_rate` pools "
        "all markers.",
        "- unanswerable items are excluded from retrieval, key-fact and F1 metrics; abstained answers have no "
        "answer sentences and are excluded from faithfulness and citation metrics.",
    ]
    if meta.get("judge"):
        parts.append(f"- LLM judge: {meta['judge']}")
    if meta.get("gold_titles_not_in_index"):
        parts.append(f"- gold titles not in the index: {meta['gold_titles_not_in_index']}")
    return parts


def _metric_tables(report: Mapping[str, Any]) -> list[str]:
    """The overall table with definitions, the same metrics by question type, and latency per stage."""
    agg = report["aggregate"]
    docs = report.get("metric_definitions", {})
    rows = [[f"`{m}`", fmt(agg.get(m), m), _definition(m, docs)] for m in QUALITY_METRICS if m in agg]
    parts = ["", "## Overall", "", _md_table(["metric", "value", "definition"], rows)]
    cols = columns(report)
    header = ["metric", *(f"{name} (n={a.get('items')})" for name, a in cols)]
    rows = [[f"`{m}`", *(fmt(a.get(m), m) for _, a in cols)] for m in QUALITY_METRICS if m in agg]
    parts += ["", "## By question type", "", _md_table(header, rows)]
    rows = [
        [stage, *(fmt(a.get(f"latency_{p}_{stage}"), "latency_") for _, a in cols for p in ("p50", "p95"))]
        for stage in latency_stages(agg)
    ]
    header = ["stage", *(f"{name} {p}" for name, _ in cols for p in ("p50", "p95"))]
    return [*parts, "", "## Latency (per stage, from `Answer.timings`)", "", _md_table(header, rows)]


def _abstention(report: Mapping[str, Any]) -> list[str]:
    agg = report["aggregate"]
    return [
        "",
        "## Abstention: both error kinds",
        "",
        f"- wrongly refused (answerable items refused): {fmt(agg.get('over_abstention_rate'))}; wrongly answered "
        f"(unanswerable items answered): {fmt(agg.get('false_answer_rate'))}; threshold "
        f"{fmt(report.get('meta', {}).get('abstain_threshold'))}",
        "",
        *tradeoff_markdown(report),
    ]


def _comparison(report: Mapping[str, Any], compare: Mapping[str, Any]) -> list[str]:
    """Before / now / delta of every quality metric and the total latency, against an earlier report."""
    agg, before = report["aggregate"], compare.get("aggregate", {})
    rows = []
    for m in [*QUALITY_METRICS, "latency_p50_total", "latency_p95_total"]:
        if m not in agg and m not in before:
            continue
        old, new = before.get(m), agg.get(m)
        numbers = isinstance(old, int | float) and isinstance(new, int | float)
        delta = ("+" if new - old > 0 else "") + fmt(new - old, m) if numbers else "n/a"
        rows.append([f"`{m}`", fmt(old, m), fmt(new, m), delta])
    title = f"## Compared with {compare.get('meta', {}).get('created', 'the earlier report')}"
    return ["", title, "", _md_table(["metric", "before", "now", "delta"], rows)]


def _misses(report: Mapping[str, Any]) -> list[str]:
    """Answerable items with no gold paper retrieved, and unanswerable items answered anyway."""
    items = report.get("items", [])
    misses = [i for i in items if i.get("answerable") and i["metrics"].get("hit@10") == 0.0]
    parts = ["", f"## Answerable items with no gold paper retrieved ({len(misses)})", ""]
    parts += [f"- `{i['id']}` ({i['type']}): {i['question']}" for i in misses] or ["none"]
    wrong = [i for i in items if not i.get("answerable") and not i.get("abstained")]
    parts += ["", f"## Unanswerable items answered anyway ({len(wrong)})", ""]
    return parts + ([f"- `{i['id']}`: {i['question']}" for i in wrong] or ["none"])


def render_markdown(report: Mapping[str, Any], compare: Mapping[str, Any] | None, plots: Sequence[str]) -> str:
    """``report.md``: run info, overall table with definitions, per-type table, latency, abstention,
    comparison, plots, misses, definitions."""
    parts = [*_run_info(report), *_metric_tables(report), *_abstention(report)]
    if compare is not None:
        parts += _comparison(report, compare)
    parts += ["", "## Plots", "", *(f"![{p}]({p})" for p in plots)]
    parts += _misses(report)
    docs = report.get("metric_definitions", {})
    parts += ["", "## Metric definitions", "", *(f"- `{m}`: {d}" for m, d in docs.items())]
    return "\n".join(parts) + "\n"


def write_report(report: Mapping[str, Any], out: Path, compare: Mapping[str, Any] | None = None) -> list[Path]:
    """Write report.json, the PNG plots and report.md into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "report.json"]
    files[0].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_by_type(report, out / "metrics_by_type.png")
    plot_latency(report, out / "latency.png")
    plots = ["metrics_by_type.png", "latency.png"]
    if plot_tradeoff(report, out / "abstention_tradeoff.png"):
        plots.append("abstention_tradeoff.png")
    if compare is not None:
        plot_compare(report, compare, out / "compare.png")
        plots.append("compare.png")
    (out / "report.md").write_text(render_markdown(report, compare, plots), encoding="utf-8")
    return [*files, out / "report.md", *(out / p for p in plots)]
