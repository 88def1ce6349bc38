"""How the current system does on synthetic questions: hit@1, recall@10 and answered rate per kind on ~n
positives, and the refusal rate on ~n leave-one-out unanswerables (the baseline a refit should improve).

Leave-one-out is measured two ways: the gold filtered out of the final hits with the abstention confidence
recomputed on the filtered list, and the gold removed from the first-stage candidates before reranking
(``loo.retrieve_hidden``). Follow-ups are condensed with the extractive answerer's ``condense``.

    HF_HUB_OFFLINE=1 python -m evals.synth_baseline --data-dir /tmp/index-copy [--n 300] [--seed 0] [--runtime torch]

An index without the runtime's collection is rebuilt first (minutes): measure on a copy of one built with it.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from evals.loo import FIT_PATH, hide, load_fit_items, retrieve_hidden
from evals.synth import Record, generate
from rag.evals.ranking import hit_at, recall_at
from rag.index.corpus import load_papers
from rag.pipeline import Pipeline
from rag.settings import BUNDLED_CORPUS, Settings


def stratified(records: list[Record], n: int, seed: int) -> list[Record]:
    """About ``n`` records spread evenly over their kinds (seeded)."""
    by_kind: dict[str, list[Record]] = {}
    for r in records:
        by_kind.setdefault(r["kind"], []).append(r)
    rng = random.Random(seed)
    per = max(1, n // max(1, len(by_kind)))
    return [r for kind in sorted(by_kind) for r in rng.sample(by_kind[kind], min(per, len(by_kind[kind])))]


def measure(records: list[Record], data_dir: Path, n: int, seed: int = 0, runtime: str = "torch") -> dict[str, Any]:
    """Baseline of the current system on ~``n`` positives (hit@1, recall@10, answered rate per kind) and
    ~``n`` loo records (refusal rate with the gold filtered out of the hits, confidence recomputed on the
    filtered list; and with the gold removed from the first-stage candidates before reranking)."""
    settings = Settings(data_dir=data_dir, embedder_runtime=runtime)  # type: ignore[arg-type]
    pipeline = Pipeline.open(settings, progress=False)
    threshold = pipeline.abstain_threshold

    def query(r: Record) -> str:
        return str(pipeline.fallback.condense(r["question"], r["history"])) if r["history"] else r["question"]

    report: dict[str, Any] = {}
    positives = stratified([r for r in records if r["kind"] != "loo"], n, seed)
    for kind in sorted({r["kind"] for r in positives}):
        rows = []
        for r in (r for r in positives if r["kind"] == kind):
            got = pipeline.retrieve(query(r), 10)
            ranked = [h.paper.id for h in got.hits]
            rows.append((hit_at(ranked, r["gold_ids"], 1), recall_at(ranked, r["gold_ids"], 10), not got.abstain))
        report[kind] = {"n": len(rows), **{m: round(sum(x[i] for x in rows) / len(rows), 3)
                                           for i, m in enumerate(("hit@1", "recall@10", "answered"))}}
    loo = random.Random(seed).sample([r for r in records if r["kind"] == "loo"], n)
    filtered, hidden_index = [], []
    for r in loo:
        hits = hide(pipeline.retrieve(query(r), 20).hits, r["hidden_ids"])
        filtered.append(not hits or pipeline.abstainer.confidence(hits) < threshold)
        hidden_index.append(retrieve_hidden(pipeline, query(r), r["hidden_ids"]).abstain)
    report["loo"] = {"n": len(loo), "refused_filtered_hits": round(sum(filtered) / len(loo), 3),
                     "refused_hidden_index": round(sum(hidden_index) / len(loo), 3)}
    for kind in sorted({r["source_kind"] for r in loo}):
        picked = [i for i, r in enumerate(loo) if r["source_kind"] == kind]
        report[f"loo/{kind}"] = {"n": len(picked), "refused_filtered_hits": round(
            sum(filtered[i] for i in picked) / len(picked), 3)}
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="index to measure on (use a copy)")
    parser.add_argument("--n", type=int, default=300, help="positives and loo records to measure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runtime", choices=("torch", "onnx", "onnx-int8"), default="torch",
                        help="MiniLM runtime; the index must hold its collection (prebuilt indexes: torch/onnx)")
    args = parser.parse_args(argv)
    papers = load_papers([BUNDLED_CORPUS])
    records = generate(papers, args.seed, fit_items=load_fit_items(FIT_PATH, papers))
    print(json.dumps(measure(records, args.data_dir, args.n, args.seed, args.runtime), indent=1))


if __name__ == "__main__":
    main()
