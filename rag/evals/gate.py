"""The CI gate: thresholds per aggregate metric, checked after an eval run and regenerated from one."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.evals.ranking import RANKING_KEYS

LOWER_IS_BETTER = (
    "invalid_citation_rate",
    "over_abstention_rate",
    "false_answer_rate",
    "not_stated_rate",
    "refused_or_not_stated_answerable",
)


THRESHOLD_MARGIN = 0.02


GATED = (
    *RANKING_KEYS,
    "faithfulness",
    "faithfulness_exact",
    "faithfulness_proxy",
    "faithfulness_judge",
    "citation_precision",
    "citation_recall",
    "key_fact_recall",
    "key_fact_recall_multi",
    "key_fact_first40",
    "key_fact_first40_lookup",
    "answer_f1",
    "cited_relevance_multi",
    "abstention_accuracy",
    "abstain_precision",
    "abstain_recall",
    "refused_or_not_stated",
    *LOWER_IS_BETTER,
)


"""Metrics ``--write-thresholds`` writes a threshold for (when measured). Latency is not gated: it
depends on the machine and its load."""


def load_thresholds(path: Path) -> dict[str, tuple[str, float]]:
    """``{metric: min}`` or ``{metric: {"min": x}}`` / ``{metric: {"max": x}}`` → metric → (kind, bound)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read thresholds ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: thresholds must be a JSON object of {{metric: min value}}")
    out: dict[str, tuple[str, float]] = {}
    for metric, spec in data.items():
        if metric.startswith("_"):
            continue  # comments
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            out[metric] = ("min", float(spec))
        elif isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in ("min", "max"):
            kind, bound = next(iter(spec.items()))
            if not isinstance(bound, int | float) or isinstance(bound, bool):
                raise ConfigError(f"{path}: threshold of {metric!r} must be a number")
            out[metric] = (kind, float(bound))
        else:
            raise ConfigError(f"{path}: threshold of {metric!r} must be a number or {{'min'|'max': number}}")
    return out


def check_thresholds(aggregate: Mapping[str, Any], thresholds: Mapping[str, tuple[str, float]]) -> list[str]:
    """One line per metric that misses its threshold (an unmeasured metric misses it too)."""
    failures = []
    for metric, (kind, bound) in thresholds.items():
        value = aggregate.get(metric)
        if not isinstance(value, int | float) or math.isnan(value):
            failures.append(f"{metric}: not measured (threshold {kind} {bound:.3f})")
        elif kind == "min" and value < bound:
            failures.append(f"{metric}: {value:.3f} < min {bound:.3f}")
        elif kind == "max" and value > bound:
            failures.append(f"{metric}: {value:.3f} > max {bound:.3f}")
    return failures


def thresholds_from(aggregate: Mapping[str, Any], margin: float = THRESHOLD_MARGIN,
                    counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Thresholds just under the measured values: ``floor2(value - m)`` as min for scores, ``ceil2(value + m)`` as
    max for rates, where ``m`` is ``margin`` or one item's worth of the metric (``1 / counts[metric]``, from
    ``denominators``), whichever is larger; unmeasured metrics are left out. (One item: the int8 embedder's vectors
    differ slightly between CPUs, and a fresh index on another machine moved one of `dev_val`'s 22 abstentions.)"""
    out: dict[str, Any] = {}
    for metric in GATED:
        value = aggregate.get(metric)
        if not isinstance(value, int | float):
            continue
        n = (counts or {}).get(metric, 0)
        m = max(margin, 1 / n) if n else margin
        if metric in LOWER_IS_BETTER:
            out[metric] = {"max": min(1.0, math.ceil(round((value + m) * 100, 6)) / 100)}
        else:
            out[metric] = max(0.0, math.floor(round((value - m) * 100, 6)) / 100)
    return out


_OVER_ANSWERABLE = ("over_abstention_rate", "refused_or_not_stated_answerable", "not_stated_rate")
_OVER_UNANSWERABLE = ("abstain_recall", "false_answer_rate", "refused_or_not_stated")


def denominators(items: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many items each gated metric of a report is an average over (its ``items``): per-item metrics count the
    items that have them, abstention metrics the answerable, unanswerable or abstained items."""
    items = [i for i in items if not i.get("error")]  # ``aggregate`` leaves errored items out too
    counts: dict[str, int] = {}
    for item in items:
        for metric, value in (item.get("metrics") or {}).items():
            counts[metric] = counts.get(metric, 0) + (value is not None)

    def of_type(kind: str, metric: str) -> int:
        return sum(i.get("type") == kind and (i.get("metrics") or {}).get(metric) is not None for i in items)

    counts["key_fact_recall_multi"] = counts["cited_relevance_multi"] = of_type("multi", "key_fact_recall")
    counts["key_fact_first40_lookup"] = of_type("lookup", "key_fact_first40")
    answerable = [bool(i.get("answerable")) for i in items]
    counts.update({m: sum(answerable) for m in _OVER_ANSWERABLE})
    counts.update({m: len(items) - sum(answerable) for m in _OVER_UNANSWERABLE})
    counts["abstain_precision"] = sum(bool(i.get("abstained")) for i in items)
    counts["abstention_accuracy"] = len(items)
    return counts
