"""How far a verbatim (extractive) answer can go on issue 23's key-fact goals, given the gold abstracts.

    python -m evals.extractive_ceiling evals/dev_val.jsonl evals/holdout.jsonl [--json]

For every answerable item with key facts, the gold papers' abstracts are read from the bundled corpus and
the best verbatim answer is scored by the eval's own rules (``rag.evals.facts``), whatever a retriever or
composer would do:
- ``kfr_all``: key-fact recall of the gold abstracts whole (no length limit): no verbatim answer holds more;
- ``kfr_80``: key-fact recall of the best whole sentences of the gold abstracts within 80 words (greedy by
  facts per word; a lower bound of that ceiling);
- ``first40_sentence``: share of items where one gold sentence, its first 40 words, holds a key fact (an
  answer that leads with its best sentence);
- ``first40_window``: the same for any 40-word window of a gold abstract (a lead piece may start
  mid-sentence, as the composer's clause pieces do): no verbatim lead does better.

Only aggregates are printed, per set and per id prefix (the held-out set's styles), never an item.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from evals.holdout_report import prefix
from rag.evals.evalset import LoadedItem, load_eval_set
from rag.evals.facts import key_fact_first, key_fact_recall
from rag.evals.stats import mean
from rag.index.corpus import load_papers, title_key
from rag.settings import BUNDLED_CORPUS
from rag.text import WORD, sentences, words
from rag.types import Paper

BUDGET_WORDS = 80
"""The issue's median answer length: the word budget of ``kfr_80``."""
COLUMNS = ("items", "kfr_all", "kfr_80", "first40_sentence", "first40_window")


def _share(facts: Sequence[str], text: str) -> float:
    """Key-fact recall of ``text`` (``facts`` is never empty here)."""
    return key_fact_recall(facts, text) or 0.0


def _best_within(facts: Sequence[str], pieces: Sequence[str], budget: int = BUDGET_WORDS) -> float:
    """Key-fact recall of whole ``pieces`` chosen greedily (most new facts per word) within ``budget`` words."""
    chosen: list[str] = []
    left = list(pieces)
    while left:
        have = _share(facts, " ".join(chosen))
        gains = [(_share(facts, " ".join([*chosen, p])) - have) / max(len(words(p)), 1) for p in left]
        best = max(range(len(left)), key=gains.__getitem__)
        used = sum(len(words(p)) for p in chosen)
        if gains[best] <= 0 or used + len(words(left[best])) > budget:
            break
        chosen.append(left.pop(best))
    return _share(facts, " ".join(chosen))


def _windows(text: str, n: int = 40) -> list[str]:
    """Every run of ``n`` consecutive words of ``text`` (the whole text when it is shorter)."""
    spans = [m.span() for m in WORD.finditer(text)]
    if len(spans) <= n:
        return [text]
    return [text[spans[i][0] : spans[i + n - 1][1]] for i in range(len(spans) - n + 1)]


def item_ceiling(facts: Sequence[str], abstracts: Sequence[str]) -> dict[str, float]:
    """The four ceilings of one item (see the module docstring)."""
    pieces = [s for a in abstracts for s in sentences(a)]
    return {
        "kfr_all": _share(facts, "\n".join(abstracts)),
        "kfr_80": _best_within(facts, pieces),
        "first40_sentence": float(any(key_fact_first(facts, s) for s in pieces)),
        "first40_window": float(any(key_fact_first(facts, w) for a in abstracts for w in _windows(a))),
    }


def set_rows(items: Sequence[LoadedItem], papers: Mapping[str, Paper]) -> dict[str, dict[str, float]]:
    """Aggregate ceilings of a set's answerable items with key facts: ``all`` and one row per id prefix."""
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for loaded in items:
        item = loaded.item
        abstracts = [papers[k].abstract for t in item.gold_titles if (k := title_key(t)) in papers]
        if not item.key_facts or not abstracts:
            continue
        row = item_ceiling(item.key_facts, abstracts)
        groups["all"].append(row)
        groups[prefix(item.id)].append(row)
    return {
        name: {"items": len(rows), **{c: mean([r[c] for r in rows]) or 0.0 for c in COLUMNS[1:]}}
        for name, rows in sorted(groups.items())
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown tables")
    args = parser.parse_args(argv)
    papers = {title_key(p.title): p for p in load_papers([BUNDLED_CORPUS])}
    result = {str(path): set_rows(load_eval_set(path), papers) for path in args.sets}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for path, rows in result.items():
        print(f"\n{path}\n\n| group | " + " | ".join(COLUMNS) + " |\n|---|" + "---:|" * len(COLUMNS))
        for name, row in rows.items():
            cells = [str(int(row["items"]))] + [f"{row[c]:.3f}" for c in COLUMNS[1:]]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
