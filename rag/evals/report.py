"""Human-readable eval reports: ``report.json``, ``report.md`` and PNG plots, from the report dict
``rag.evals.runner.EvalReport.to_dict()`` produces (and, for ``--compare``, an earlier one)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.evals.gate import LOWER_IS_BETTER
from rag.evals.tradeoff import plot_tradeoff, tradeoff_markdown

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


def _columns(report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [*report["by_type"].items(), ("overall", report["aggregate"])]


def summary_table(report: Mapping[str, Any]) -> str:
    """Plain-text table: key metrics (rows) by question type and overall (columns)."""
    cols = _columns(report)
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


def _stages(aggregate: Mapping[str, Any]) -> list[str]:
    return [k.removeprefix("latency_p50_") for k in aggregate if k.startswith("latency_p50_")]


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
    cols = _columns(report)
    header = ["metric", *(f"{name} (n={a.get('items')})" for name, a in cols)]
    rows = [[f"`{m}`", *(fmt(a.get(m), m) for _, a in cols)] for m in QUALITY_METRICS if m in agg]
    parts += ["", "## By question type", "", _md_table(header, rows)]
    rows = [
        [stage, *(fmt(a.get(f"latency_{p}_{stage}"), "latency_") for _, a in cols for p in ("p50", "p95"))]
        for stage in _stages(agg)
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


# ------------------------------------------------------------------------------------------- plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_by_type(report: Mapping[str, Any], path: Path) -> None:
    """Grouped bars: key metrics, one bar per question type and overall."""
    plt = _pyplot()
    cols = _columns(report)
    metrics = [m for m in PLOT_METRICS if any(isinstance(a.get(m), int | float) for _, a in cols)]
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(metrics)), 4.8))
    width = 0.8 / max(1, len(cols))
    for j, (name, agg) in enumerate(cols):
        values = [agg.get(m) if isinstance(agg.get(m), int | float) else 0.0 for m in metrics]
        xs = [i + (j - (len(cols) - 1) / 2) * width for i in range(len(metrics))]
        ax.bar(xs, values, width, label=f"{name} (n={agg.get('items')})", color="black" if name == "overall" else None)
    ax.set_xticks(range(len(metrics)), metrics, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (higher is better)")
    ax.set_title("Metrics per question type (missing bar = n/a)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(report: Mapping[str, Any], path: Path) -> None:
    """Left: histogram of total latency per item. Right: p50/p95 per stage."""
    plt = _pyplot()
    totals = [i["timings"]["total"] * 1000 for i in report.get("items", []) if "total" in i.get("timings", {})]
    agg = report["aggregate"]
    stages = _stages(agg)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    if totals:
        left.hist(totals, bins=min(30, max(5, len(totals) // 3)), color="tab:blue", alpha=0.8)
        for p, style in (("p50", "--"), ("p95", ":")):
            value = agg.get(f"latency_{p}_total")
            if isinstance(value, int | float):
                left.axvline(value * 1000, color="black", linestyle=style, label=f"{p} {value * 1000:.0f} ms")
        left.legend()
    left.set_xlabel("total latency per question (ms)")
    left.set_ylabel("questions")
    left.set_title("End-to-end latency")
    xs = range(len(stages))
    p50 = [(agg.get(f"latency_p50_{s}") or 0.0) * 1000 for s in stages]
    p95 = [(agg.get(f"latency_p95_{s}") or 0.0) * 1000 for s in stages]
    right.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    right.bar([x + 0.2 for x in xs], p95, 0.4, label="p95")
    right.set_xticks(list(xs), stages, rotation=30, ha="right")
    right.set_ylabel("ms")
    right.set_title("Latency per stage")
    right.legend()
    right.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_compare(report: Mapping[str, Any], compare: Mapping[str, Any], path: Path) -> None:
    """Side-by-side bars of the aggregate metrics: the earlier report against this one."""
    plt = _pyplot()
    now, before = report["aggregate"], compare.get("aggregate", {})
    metrics = [
        m for m in QUALITY_METRICS if isinstance(now.get(m), int | float) or isinstance(before.get(m), int | float)
    ]
    fig, ax = plt.subplots(figsize=(max(8, 0.75 * len(metrics)), 4.8))
    for offset, (label, agg) in ((-0.2, ("before", before)), (0.2, ("now", now))):
        values = [agg.get(m) if isinstance(agg.get(m), int | float) else 0.0 for m in metrics]
        ax.bar([i + offset for i in range(len(metrics))], values, 0.4, label=label)
    labels = [f"{m} (lower is better)" if m in LOWER_IS_BETTER else m for m in metrics]
    ax.set_xticks(range(len(metrics)), labels, rotation=40, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(
        f"Aggregate metrics: before ({compare.get('meta', {}).get('created', '?')}) vs now (no bar = n/a or 0)"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
