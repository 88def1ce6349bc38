"""Check hand-written eval sets against the corpus, so later edits stay valid.

    python -m evals.check_devset                       # evals/dev_fit.jsonl + evals/dev_val.jsonl
    python -m evals.check_devset evals/dev.jsonl --min-per-type 0

Checks, over all the files together: the schema (``rag.evals.evalset``), ids unique across files,
every gold title exactly a corpus title (a title that only matches after normalisation is reported
with the corpus spelling), 2-6 gold papers for ``multi`` items, every key fact *present* in the gold
abstracts by the metric that scores answers (its numbers verbatim, 60% of its content words),
follow-ups opening with a user turn, and at least ``--min-per-type`` items of each type. A key-fact
number missing from the reference answer is only a warning. Exit status 1 and one line per problem.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rag.evals.evalset import QUESTION_TYPES, LoadedItem, load_eval_set
from rag.evals.facts import key_fact_present
from rag.index.corpus import load_papers
from rag.settings import BUNDLED_CORPUS
from rag.text import normalize_title, numbers_in
from rag.types import Paper

EVALS = Path(__file__).resolve().parent
DEFAULT_FILES = (EVALS / "dev_fit.jsonl", EVALS / "dev_val.jsonl")
MULTI_GOLD = (2, 6)


def check_items(
    items: Sequence[LoadedItem], papers: Sequence[Paper], min_per_type: int = 40
) -> tuple[list[str], list[str]]:
    """Problems and warnings found, one ``source (id): problem`` line each; no problems when the items are
    valid. A key-fact number missing from the reference answer is a warning (it only lowers answer F1)."""
    by_title = {p.title: p for p in papers}
    by_norm = {normalize_title(p.title): p for p in papers}
    problems: list[str] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for loaded in items:
        item = loaded.item
        where = f"{loaded.source} ({item.id})"
        if item.id in seen:
            problems.append(f"{where}: id already used at {seen[item.id]}")
        seen.setdefault(item.id, loaded.source)
        gold: list[Paper] = []
        for title in item.gold_titles:
            if title in by_title:
                gold.append(by_title[title])
            elif normalize_title(title) in by_norm:
                problems.append(f"{where}: gold title {title!r} is spelled {by_norm[normalize_title(title)].title!r}")
            else:
                problems.append(f"{where}: gold title {title!r} is not in the corpus")
        if len(set(item.gold_titles)) != len(item.gold_titles):
            problems.append(f"{where}: a gold title is listed twice")
        if item.type == "multi" and not MULTI_GOLD[0] <= len(item.gold_titles) <= MULTI_GOLD[1]:
            problems.append(f"{where}: a multi item needs {MULTI_GOLD[0]}-{MULTI_GOLD[1]} gold titles")
        if item.type != "unanswerable" and not item.key_facts:
            problems.append(f"{where}: an answerable item needs key facts")
        if item.type == "followup" and item.history[0].role != "user":
            problems.append(f"{where}: a follow-up's history must open with a user turn")
        if item.type != "followup" and item.history:
            problems.append(f"{where}: only follow-ups have a history")
        abstracts = "\n".join(p.abstract for p in gold)
        for fact in item.key_facts:
            if gold and not key_fact_present(fact, abstracts):
                problems.append(f"{where}: key fact {fact!r} is not in the gold abstracts (numbers, 60% of words)")
            missing = numbers_in(fact) - numbers_in(item.answer)
            if missing:
                warnings.append(f"{where}: key fact {fact!r} has numbers {sorted(missing)} not in the answer")
    counts: Counter[str] = Counter(loaded.item.type for loaded in items)
    for kind in QUESTION_TYPES:
        if counts[kind] < min_per_type:
            problems.append(f"{kind}: {counts[kind]} items, fewer than {min_per_type}")
    return problems, warnings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES), help="JSONL eval sets")
    parser.add_argument("--min-per-type", type=int, default=40, help="fewest items of each type (all files)")
    args = parser.parse_args(argv)
    items = [loaded for path in args.files for loaded in load_eval_set(path)]
    problems, warnings = check_items(items, load_papers([BUNDLED_CORPUS]), args.min_per_type)
    for line in problems:
        print(line)
    for line in warnings:
        print(f"warning: {line}")
    counts: Counter[str] = Counter(loaded.item.type for loaded in items)
    summary = ", ".join(f"{kind} {counts[kind]}" for kind in QUESTION_TYPES)
    print(f"{len(items)} items ({summary}): {'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
