"""Split the hand-written dev set once into a fitting part and a validation part, reproducibly.

    python -m evals.split_devset --add new_items.jsonl     # assign new items, keep every existing assignment
    python -m evals.split_devset --check                   # exit 1 if the parts are stale or incomplete

The items are those of ``evals/dev.jsonl`` (kept verbatim, line for line), of the two parts, and of any
``--add`` file. Within each question type the items are ranked by a seeded SHA-256 of their id and the
first ``--fit-share`` of them go to ``dev_fit.jsonl``, the rest to ``dev_val.jsonl`` (stratified by type).
A follow-up whose conversation is about paper P (its gold titles, and corpus titles quoted in its history)
joins the part of the other items whose gold is P, when those items all sit in one part, so that the
paper a conversation is about is not seen in fitting and then asked about in validation.

Items already in a part stay there (only new items are assigned), so validation items never move into
fitting data; ``--resplit`` ignores the existing assignment and is how the one split was made.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError
from rag.evals.evalset import EvalItem, load_eval_set
from rag.index.corpus import load_papers, normalize_title
from rag.settings import BUNDLED_CORPUS

EVALS = Path(__file__).resolve().parent
BASE = EVALS / "dev.jsonl"
FIT = EVALS / "dev_fit.jsonl"
VAL = EVALS / "dev_val.jsonl"
SEED = "rag-dev-split-1"
FIT_SHARE = 0.6
TYPE_ORDER = ("lookup", "paraphrase", "multi", "unanswerable", "followup")
MIN_TITLE_WORDS = 3
"""Shorter corpus titles are not searched for in follow-up histories (too likely to match by chance)."""


class SplitError(RagError):
    """The dev set cannot be split: conflicting items or an unreadable file."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Entry:
    """One item with its JSONL line kept verbatim, so items are written back exactly as they were."""

    item: EvalItem
    line: str


def read_entries(path: Path) -> list[Entry]:
    """Validated items of a JSONL file (``rag.evals.evalset``) with their raw lines; none if it is missing."""
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [loaded.item for loaded in load_eval_set(path)]
    return [Entry(item, line) for item, line in zip(items, lines, strict=True)]


def rank_key(item_id: str, seed: str = SEED) -> str:
    """Seeded hash of an id: the order in which items of one type are dealt to the parts."""
    return hashlib.sha256(f"{seed}:{item_id}".encode()).hexdigest()


def conversation_papers(item: EvalItem, titles: Iterable[str]) -> set[str]:
    """Normalised titles of the papers a follow-up is about: its gold and corpus titles quoted in its history."""
    papers = {normalize_title(t) for t in item.gold_titles}
    history = normalize_title(" ".join(turn.content for turn in item.history))
    for title in titles:
        norm = normalize_title(title)
        if len(norm.split()) >= MIN_TITLE_WORDS and f" {norm} " in f" {history} ":
            papers.add(norm)
    return papers


def assign(
    entries: Sequence[Entry],
    titles: Iterable[str],
    kept: dict[str, str] | None = None,
    fit_share: float = FIT_SHARE,
    seed: str = SEED,
) -> dict[str, str]:
    """Part (``"fit"`` or ``"val"``) of every item. ``kept`` assignments are not changed; the others are dealt
    per type in seeded-hash order until the type's fit share is reached, follow-ups first joining the part
    that holds the other items about their paper."""
    parts = dict(kept or {})
    titles = list(titles)
    gold_part: dict[str, set[str]] = {}

    def note_gold(entry: Entry) -> None:
        for title in entry.item.gold_titles:
            gold_part.setdefault(normalize_title(title), set()).add(parts[entry.item.id])

    for entry in entries:
        if entry.item.id in parts and entry.item.type != "followup":
            note_gold(entry)
    for kind in TYPE_ORDER:
        group = [e for e in entries if e.item.type == kind]
        target = round(fit_share * len(group))
        new = sorted((e for e in group if e.item.id not in parts), key=lambda e: rank_key(e.item.id, seed))
        if kind == "followup":
            anchored = []
            for entry in new:
                sides = set().union(*(gold_part.get(p, set()) for p in conversation_papers(entry.item, titles)))
                if len(sides) == 1:
                    parts[entry.item.id] = sides.pop()
                    anchored.append(entry)
            new = [e for e in new if e not in anchored]
        fit_count = sum(parts.get(e.item.id) == "fit" for e in group)
        for entry in new:
            parts[entry.item.id] = "fit" if fit_count < target else "val"
            fit_count += parts[entry.item.id] == "fit"
            if kind != "followup":
                note_gold(entry)
    return parts


def leaks(entries: Sequence[Entry], parts: dict[str, str], titles: Iterable[str]) -> list[str]:
    """Follow-ups about a paper that is the gold of a non-follow-up item in the other part."""
    titles = list(titles)
    gold_part: dict[str, set[str]] = {}
    for entry in entries:
        if entry.item.type != "followup":
            for title in entry.item.gold_titles:
                gold_part.setdefault(normalize_title(title), set()).add(parts[entry.item.id])
    out = []
    for entry in entries:
        if entry.item.type == "followup":
            sides = set().union(*(gold_part.get(p, set()) for p in conversation_papers(entry.item, titles)))
            if sides - {parts[entry.item.id]}:
                out.append(entry.item.id)
    return out


def collect(base: Path, fit: Path, val: Path, added: Sequence[Path]) -> tuple[list[Entry], dict[str, str]]:
    """All items (base file first, verbatim), and the part each one already has in the fit/val files."""
    entries: dict[str, Entry] = {}
    kept: dict[str, str] = {}
    sources = [(base, None), (fit, "fit"), (val, "val"), *((path, None) for path in added)]
    for path, part in sources:
        for entry in read_entries(path):
            other = entries.get(entry.item.id)
            if other is not None and other.item != entry.item:
                raise SplitError(f"{path}: item {entry.item.id!r} differs from the one with that id elsewhere")
            entries.setdefault(entry.item.id, entry)
            if part is not None:
                if kept.get(entry.item.id, part) != part:
                    raise SplitError(f"item {entry.item.id!r} is in both {fit.name} and {val.name}")
                kept[entry.item.id] = part
    return list(entries.values()), kept


def render(entries: Sequence[Entry], parts: dict[str, str], part: str) -> str:
    """One part's JSONL text: its items by type (lookup, paraphrase, multi, unanswerable, follow-up) and id."""
    chosen = [e for e in entries if parts[e.item.id] == part]
    chosen.sort(key=lambda e: (TYPE_ORDER.index(e.item.type), e.item.id))
    return "".join(e.line + "\n" for e in chosen)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--add", type=Path, action="append", default=[], help="JSONL file of new items")
    parser.add_argument("--resplit", action="store_true", help="ignore existing assignments (the one split)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files would change")
    parser.add_argument("--fit-share", type=float, default=FIT_SHARE, help="share of each type put in fitting")
    args = parser.parse_args(argv)
    entries, kept = collect(BASE, FIT, VAL, args.add)
    titles = [p.title for p in load_papers([BUNDLED_CORPUS])]
    parts = assign(entries, titles, None if args.resplit else kept, args.fit_share)
    texts = {FIT: render(entries, parts, "fit"), VAL: render(entries, parts, "val")}
    for kind in TYPE_ORDER:
        group = [e.item.id for e in entries if e.item.type == kind]
        fit_n = sum(parts[i] == "fit" for i in group)
        print(f"{kind:13} fit {fit_n:4}  val {len(group) - fit_n:4}")
    fit_total = sum(p == "fit" for p in parts.values())
    print(f"total         fit {fit_total:4}  val {len(parts) - fit_total:4}")
    print(f"follow-ups about a paper whose other items are in the other part: {leaks(entries, parts, titles)}")
    if args.check:
        stale = [p.name for p, text in texts.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        print("the parts are up to date" if not stale else f"would change: {', '.join(stale)}")
        return 1 if stale else 0
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {FIT} and {VAL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
