"""Aggregate figures of a ``rag eval`` report, broken down by id prefix (the held-out set's question styles).

    rag eval --set evals/holdout.jsonl --out /tmp/holdout-out
    python -m evals.holdout_report /tmp/holdout-out/report.json [--json]

``evals/holdout.jsonl`` ids start with their style (``kw-``, ``typo-``, ``reword-``, ``look-``, ``comp-``,
``chat-``, ``miss-``, the latter split into ``miss-near-`` and ``miss-topic-``); this prints one row per
prefix and sub-prefix plus ``all``. Only aggregates are printed, never an
item: the held-out set is for reporting, and nothing may be tuned on its misses (evals/README.md).

Columns: ``hit@1``, ``recall@10``, ``key_fact_recall`` (means over answerable items, from the report's
per-item metrics); ``first40_key_fact`` (share of answered answerable items whose first 40 words, markers
removed, hold at least one key fact: the items' ``key_fact_first40``); ``abstention_accuracy``,
``over_abstention_rate``, ``false_answer_rate`` (``rag.evals.stats.abstention_metrics``);
``not_stated_or_refused`` (unanswerable items refused or answered "not stated" in their first sentence: the
items' ``refused_or_not_stated``);
``words_p50`` (median words of the answered items, markers removed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.evals.stats import abstention_metrics, mean
from rag.text import strip_markers, words

COLUMNS = (
    "items", "hit@1", "recall@10", "key_fact_recall", "first40_key_fact", "abstention_accuracy",
    "over_abstention_rate", "false_answer_rate", "not_stated_or_refused", "words_p50",
)  # fmt: skip
COUNTS = ("items", "words_p50")


def prefix(item_id: str) -> str:
    """The style prefix of an id: the text before its first ``-`` (the whole id when it has none)."""
    return item_id.split("-", 1)[0]


def subprefix(item_id: str) -> str | None:
    """The first two parts of an id whose second part is a word (``miss-near-03`` -> ``miss-near``), else None."""
    parts = item_id.split("-")
    return "-".join(parts[:2]) if len(parts) > 2 and parts[1].isalpha() else None


def group_figures(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate figures for one group of report items, from their own per-item metrics (the eval's scoring)."""
    answerable = [it for it in items if it["answerable"]]
    answered = [it for it in answerable if not it["abstained"]]
    unanswerable = [it for it in items if not it["answerable"]]
    row: dict[str, Any] = {"items": len(items)}
    for key in ("hit@1", "recall@10", "key_fact_recall"):
        row[key] = mean([it["metrics"].get(key) for it in answerable])
    row["first40_key_fact"] = mean([it["metrics"].get("key_fact_first40") for it in answered])
    abst = abstention_metrics([it["answerable"] for it in items], [it["abstained"] for it in items])
    row["abstention_accuracy"] = abst["abstention_accuracy"]
    row["over_abstention_rate"] = abst["over_abstention_rate"]
    recall = abst["abstain_recall"]
    row["false_answer_rate"] = 1.0 - recall if recall is not None else None
    row["not_stated_or_refused"] = mean([it["metrics"].get("refused_or_not_stated") for it in unanswerable])
    lengths = [len(words(strip_markers(it["answer"]))) for it in items if not it["abstained"]]
    row["words_p50"] = statistics.median(lengths) if lengths else None
    return row


def breakdown(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``all`` plus one row per id prefix, each followed by its sub-prefixes (``miss-near``), in the order
    they first appear."""
    items = report["items"]
    groups: dict[str, dict[str | None, list[Mapping[str, Any]]]] = {}
    for it in items:
        subs = groups.setdefault(prefix(it["id"]), {None: []})
        subs[None].append(it)
        sub = subprefix(it["id"])
        if sub is not None:
            subs.setdefault(sub, []).append(it)
    rows = {"all": group_figures(items)}
    for name, subs in groups.items():
        rows.update({sub or name: group_figures(members) for sub, members in subs.items()})
    return rows


def render(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """A Markdown table, one row per group."""

    def cell(column: str, value: Any) -> str:
        if value is None:
            return "–"
        return f"{value:g}" if column in COUNTS else f"{value:.3f}"

    lines = ["| group | " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    lines += [f"| {name} | " + " | ".join(cell(c, row[c]) for c in COLUMNS) + " |" for name, row in rows.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="report.json written by `rag eval`")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
        items = report["items"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.report} is not a readable rag eval report.json ({exc}); run `rag eval --out DIR` first")
        return 2
    if not items:
        print(f"error: {args.report} holds no items; run `rag eval` on a non-empty set")
        return 2
    rows = breakdown(report)
    print(json.dumps(rows, indent=2) if args.json else render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
