"""Every ranking and answer on the dev sets, written to one JSON file, and a comparison of two such files.

A refactor that must not change behaviour is checked with it: take a snapshot before, one after, compare.

    python -m evals.snapshot --out /tmp/before.json            # on the old tree
    python -m evals.snapshot --out /tmp/after.json             # on the new tree
    python -m evals.snapshot --compare /tmp/before.json /tmp/after.json   # exit 1 on any difference

What it records, for every item of ``evals/dev_fit.jsonl`` and ``evals/dev_val.jsonl``:

- ``ask``: ``Pipeline.ask`` with the item's history and the extractive answerer: the standalone query, the
  ranked hits (paper id and score), confidence, abstained, the answer text, citations and sentence checks;
- ``search``: ``Pipeline.search`` of the question alone, top 20 (ids and scores);
- ``hidden``: retrieval with the item's gold papers hidden (``evals.loo.retrieve_hidden``: the leave-one-out
  path of the fitting scripts);
- ``rows``: the fitting rows of ``evals.fit_data.collect`` (candidate ids and a hash of the feature matrix);
- ``llamaindex``: ``RagReranker.paper_scores`` over the item's top ten.

Scores are written with ``repr`` (exact), so "identical" means identical to the last bit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

EVALS = Path(__file__).resolve().parent
SETS = (EVALS / "dev_fit.jsonl", EVALS / "dev_val.jsonl")


def _items() -> list[dict[str, Any]]:
    items = []
    for path in SETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                items.append(json.loads(line))
    return items


def _answer(answer: Any) -> dict[str, Any]:
    return {
        "standalone": answer.standalone_question,
        "hits": [[h.paper.id, repr(h.score)] for h in answer.hits],
        "abstained": answer.abstained,
        "text": answer.text,
        "citations": [[c.marker, c.paper.id, c.quote, c.verdict, repr(c.support), list(c.sentence_indices)]
                      for c in answer.citations],
        "checks": [[c.text, list(c.markers), c.verdict, repr(c.support), c.reason] for c in answer.checks],
        "error": answer.error,
    }


def take(out: Path) -> None:
    """Run every item through each path and write the snapshot."""
    from evals.fit_data import collect
    from evals.loo import retrieve_hidden
    from rag.integrations.llamaindex import RagReranker
    from rag.pipeline import Pipeline
    from rag.settings import Settings
    from rag.text import normalize_title

    pipeline = Pipeline.open(Settings(), progress=False)
    by_title = {normalize_title(p.title): p.id for p in pipeline.papers.values()}
    items = _items()
    for item in items:
        item["gold_ids"] = [by_title[normalize_title(t)] for t in item["gold_titles"]]
    reranker = RagReranker(pipeline, top_n=None)
    snap: dict[str, Any] = {}
    for n, item in enumerate(items, start=1):
        answer = pipeline.ask(item["question"], item.get("history") or None, answerer="extractive")
        record: dict[str, Any] = {"ask": _answer(answer)}
        record["search"] = [[h.paper.id, repr(h.score)] for h in pipeline.search(item["question"], k=20)]
        if item["gold_ids"]:
            hidden = retrieve_hidden(pipeline, answer.standalone_question, item["gold_ids"])
            record["hidden"] = [[h.paper.id for h in hidden.hits], repr(hidden.confidence), hidden.abstain]
        top = [h.paper.id for h in answer.hits]
        scores = reranker.paper_scores(item["question"], top)
        record["llamaindex"] = [[pid, repr(scores[pid])] for pid in top]
        snap[item["id"]] = record
        print(f"\r{n}/{len(items)} asked", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    rows = collect(pipeline, [i for i in items if i["id"] in _fit_ids()])
    for row in rows:
        snap[row.item["id"]]["rows"] = [[c.paper_id for c in row.candidates],
                                        hashlib.sha256(row.x.tobytes()).hexdigest(), row.y.tolist()]
    out.write_text(json.dumps(snap, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}: {len(snap)} items", file=sys.stderr)


def _fit_ids() -> set[str]:
    return {json.loads(line)["id"] for line in SETS[0].read_text(encoding="utf-8").splitlines() if line.strip()}


def _floats_close(a: Any, b: Any, rel: float) -> bool:
    """Equal, but for numbers written as ``repr`` strings, which may differ by ``rel`` (relative)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_floats_close(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_floats_close(a[k], b[k], rel) for k in a)
    if a == b or not rel or not (isinstance(a, str) and isinstance(b, str)):
        return a == b
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return abs(x - y) <= rel * max(abs(x), abs(y))


def compare(before: Path, after: Path, rel: float = 0.0) -> int:
    """Print every item and path that differs; 0 when the snapshots are identical (scores within ``rel``)."""
    old = json.loads(before.read_text(encoding="utf-8"))
    new = json.loads(after.read_text(encoding="utf-8"))
    differences = 0
    for ident in sorted(set(old) | set(new)):
        a, b = old.get(ident, {}), new.get(ident, {})
        for key in sorted(set(a) | set(b)):
            if not _floats_close(a.get(key), b.get(key), rel):
                differences += 1
                print(f"{ident} {key}:\n  before {json.dumps(a.get(key))[:600]}")
                print(f"  after  {json.dumps(b.get(key))[:600]}")
    print(f"{len(old)} vs {len(new)} items; {differences} differences")
    return 1 if differences else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, help="write a snapshot of the current tree here")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"), help="compare two snapshots")
    parser.add_argument("--rel", type=float, default=0.0,
                        help="with --compare: let scores differ by this relative amount (default 0: bit for bit)")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare, rel=args.rel)
    if args.out is None:
        parser.error("give --out or --compare")
    take(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
