"""The abstention trade-off of an eval run: both error kinds as the refusal threshold moves.

Every item of a report carries the abstention model's ``confidence`` (``rag.evals.runner.confidence``); the
pipeline refuses below its threshold. ``tradeoff_curve`` replays that decision at every threshold:
*wrongly answered* = unanswerable items whose confidence reaches the threshold, over unanswerable items;
*wrongly refused* = answerable items below it, over answerable items. The report plots both
(``abstention_tradeoff.png``) and marks the shipped threshold. The curve is the retrieval-level decision
only: an answerer may still refuse on its own (the aggregate metrics count that too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class TradeoffPoint:
    """Both abstention error kinds at one threshold (refuse when confidence < threshold)."""

    threshold: float
    wrongly_answered: float
    """Unanswerable items answered, over unanswerable items."""
    wrongly_refused: float
    """Answerable items refused, over answerable items."""
    accuracy: float


def tradeoff_curve(items: Sequence[Mapping[str, Any]], steps: int = 101) -> list[TradeoffPoint]:
    """The trade-off at ``steps`` thresholds from 0 to 1 over the items with a confidence (empty if the
    report has none, or lacks answerable or unanswerable items)."""
    scored = [(bool(i["answerable"]), float(i["confidence"])) for i in items if i.get("confidence") is not None]
    pos = [c for a, c in scored if a]
    neg = [c for a, c in scored if not a]
    if not pos or not neg:
        return []
    out = []
    for step in range(steps):
        t = step / (steps - 1)
        answered_neg = sum(c >= t for c in neg)
        refused_pos = sum(c < t for c in pos)
        accuracy = 1.0 - (answered_neg + refused_pos) / len(scored)
        out.append(TradeoffPoint(t, answered_neg / len(neg), refused_pos / len(pos), accuracy))
    return out


def at_threshold(items: Sequence[Mapping[str, Any]], threshold: float) -> TradeoffPoint | None:
    """The trade-off point of exactly ``threshold`` (None without both kinds of item)."""
    scored = [(bool(i["answerable"]), float(i["confidence"])) for i in items if i.get("confidence") is not None]
    pos = [c for a, c in scored if a]
    neg = [c for a, c in scored if not a]
    if not pos or not neg:
        return None
    answered_neg = sum(c >= threshold for c in neg)
    refused_pos = sum(c < threshold for c in pos)
    accuracy = 1.0 - (answered_neg + refused_pos) / len(scored)
    return TradeoffPoint(threshold, answered_neg / len(neg), refused_pos / len(pos), accuracy)


def tradeoff_markdown(report: Mapping[str, Any]) -> list[str]:
    """Report lines: both error kinds at the shipped threshold and at a few others."""
    items = report.get("items", [])
    threshold = report.get("meta", {}).get("abstain_threshold")
    if not tradeoff_curve(items) or not isinstance(threshold, int | float):
        return ["no per-item confidence, or not both answerable and unanswerable items: no trade-off"]
    lines = [
        "Retrieval-level decision (refuse when confidence < threshold); the aggregate metrics above also count "
        "refusals made by the answerer itself.",
        "",
        "| threshold | wrongly answered (of unanswerable) | wrongly refused (of answerable) | accuracy |",
        "|---:|---:|---:|---:|",
    ]
    grid = sorted({round(float(threshold), 3), *(round(t / 10, 1) for t in range(1, 10))})
    for t in grid:
        p = at_threshold(items, t)
        if p is not None:
            mark = " **(shipped)**" if abs(t - float(threshold)) < 1e-9 else ""
            lines.append(f"| {t:.3f}{mark} | {p.wrongly_answered:.3f} | {p.wrongly_refused:.3f} | {p.accuracy:.3f} |")
    ran = as_answered(items)
    if ran is not None:
        lines.append(f"| as answered | {ran.wrongly_answered:.3f} | {ran.wrongly_refused:.3f} | {ran.accuracy:.3f} |")
        lines += ["", "*As answered*: the items' own outcome at the shipped threshold, with the refusals the answerer "
                  "made itself and the ones it overruled (a comparison of two papers found is answered anyway)."]
    return lines


def as_answered(items: Sequence[Mapping[str, Any]]) -> TradeoffPoint | None:
    """Both error kinds as the items were actually answered or refused (``abstained``; failed runs left out):
    what the aggregate metrics count. None without both kinds of item."""
    ran = [(bool(i["answerable"]), bool(i["abstained"])) for i in items if i.get("answerer") != "error"]
    pos = [r for a, r in ran if a]
    neg = [r for a, r in ran if not a]
    if not pos or not neg:
        return None
    answered_neg, refused_pos = sum(not r for r in neg), sum(pos)
    return TradeoffPoint(float("nan"), answered_neg / len(neg), refused_pos / len(pos),
                         1.0 - (answered_neg + refused_pos) / len(ran))


def plot_tradeoff(report: Mapping[str, Any], path: Path) -> bool:
    """``abstention_tradeoff.png``: left, both error rates against the threshold; right, wrongly refused
    against wrongly answered. False (nothing written) when the report has no curve."""
    items = report.get("items", [])
    curve = tradeoff_curve(items)
    if not curve:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    threshold = report.get("meta", {}).get("abstain_threshold")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    ts = [p.threshold for p in curve]
    left.plot(ts, [p.wrongly_answered for p in curve], label="wrongly answered (of unanswerable)")
    left.plot(ts, [p.wrongly_refused for p in curve], label="wrongly refused (of answerable)")
    left.plot(ts, [1.0 - p.accuracy for p in curve], color="black", linestyle=":", label="error (all items)")
    right.plot([p.wrongly_answered for p in curve], [p.wrongly_refused for p in curve], marker=".", markersize=3)
    if isinstance(threshold, int | float):
        left.axvline(float(threshold), color="grey", linestyle="--", label=f"shipped threshold {threshold:.2f}")
        point = at_threshold(items, float(threshold))
        if point is not None:
            right.plot([point.wrongly_answered], [point.wrongly_refused], "o", color="red", label="shipped")
            right.legend()
    left.set_xlabel("threshold on the abstention confidence")
    left.set_ylabel("rate")
    left.set_title("Abstention errors as the threshold moves")
    left.legend(fontsize=8)
    right.set_xlabel("wrongly answered (of unanswerable)")
    right.set_ylabel("wrongly refused (of answerable)")
    right.set_title("Trade-off")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
