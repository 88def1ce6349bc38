"""The PNG plots of an eval report: metrics by question type, latency, and a comparison with an earlier report
(the abstention trade-off plot is ``rag.evals.tradeoff.plot_tradeoff``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.evals.gate import LOWER_IS_BETTER
from rag.evals.tables import PLOT_METRICS, QUALITY_METRICS, columns, latency_stages


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_by_type(report: Mapping[str, Any], path: Path) -> None:
    """Grouped bars: key metrics, one bar per question type and overall."""
    plt = _pyplot()
    cols = columns(report)
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
    stages = latency_stages(agg)
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
