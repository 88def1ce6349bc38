"""Retrieval ablation on the validation split (``evals/dev_val.jsonl``, never used for fitting): each
first stage alone, their reciprocal-rank fusion, and the full feature reranker (shipped weights, with the
recall rule of ``rag.retrieve.hits.keep_first_stage``); one Markdown table over the answerable items
and one per question type, plus the abstention errors of the shipped model at its threshold.

Every item is retrieved as ``Pipeline.ask`` retrieves it (follow-ups condensed by the extractive
answerer, the query normalised and encoded once). ``--weights`` scores another weights file (e.g. a refit
written with ``evals/fit_reranker.py --out``) next to the shipped one.

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python -m evals.ablation [--set evals/dev_val.jsonl] [--weights W]
        [--exclude evals/dev.jsonl]    # only the items no shipped weights were ever fitted on
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from evals.fit_data import Row, collect, open_pipeline
from rag.evals.ranking import ranking_metrics
from rag.retrieve.abstain import AbstentionModel, list_features
from rag.retrieve.features import FEATURES, WEIGHTS_PATH, hit_features
from rag.retrieve.hits import FeatureScorer, keep_first_stage
from rag.text import normalize_title

VAL = Path(__file__).resolve().parent / "dev_val.jsonl"
METRICS = ("hit@1", "mrr@10", "ndcg@10", "recall@10")


def load_items(path: Path, papers: dict[str, Any]) -> list[dict[str, Any]]:
    """Eval items with ``gold_ids`` resolved from their titles (evaluation only: nothing is fitted on them)."""
    by_title = {normalize_title(p.title): pid for pid, p in papers.items()}
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            items.append({**item, "gold_ids": [by_title[normalize_title(t)] for t in item["gold_titles"]]})
    return items


def fusion_order(row: Row) -> list[str]:
    return [c.paper_id for c in row.candidates]


def model_order(row: Row, scorer: FeatureScorer) -> tuple[list[int], np.ndarray]:
    """Candidate indices as ``FeatureScorer.hits`` orders them, and the logits."""
    cols = [FEATURES.index(f) for f in scorer.model.features]
    logits = scorer.model.logits(row.x[:, cols]) if len(row.candidates) else np.zeros(0)
    idx = sorted(range(len(row.candidates)), key=lambda i: (-logits[i], row.candidates[i].paper_id))
    return keep_first_stage(idx, range(min(10, len(row.candidates)))), logits


def summarise(rows: list[Row], ranked: list[list[str]], types: set[str] | None = None) -> dict[str, float]:
    picked = [
        ranking_metrics(r, row.gold)
        for row, r in zip(rows, ranked, strict=True)
        if row.answerable and (types is None or row.item["type"] in types)
    ]
    return {m: float(np.mean([p[m] for p in picked])) if picked else 0.0 for m in METRICS} | {"n": len(picked)}


def table(title: str, results: list[tuple[str, dict[str, float]]]) -> str:
    n = int(results[0][1]["n"]) if results else 0
    lines = [f"### {title} (n={n})", "", "| configuration | " + " | ".join(METRICS) + " |"]
    lines.append("|---|" + "---:|" * len(METRICS))
    lines += [f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + " |" for name, m in results]
    return "\n".join(lines)


def abstention(rows: list[Row], scorer: FeatureScorer, abstainer: AbstentionModel) -> dict[str, float]:
    """Both error kinds of the retrieval-level refusal (confidence < threshold) over all items."""
    wrong_answer = wrong_refusal = 0
    for row in rows:
        idx, logits = model_order(row, scorer)
        feats = [hit_features(row.x[i], float(logits[i]), row.candidates[i], row.query) for i in idx[:10]]
        answer = abstainer.probability(list_features(feats)) >= abstainer.threshold
        wrong_answer += int(answer and not row.answerable)
        wrong_refusal += int(not answer and row.answerable)
    n_pos = sum(r.answerable for r in rows)
    return {
        "accuracy": 1 - (wrong_answer + wrong_refusal) / len(rows),
        "wrongly_answered": wrong_answer / max(1, len(rows) - n_pos),
        "wrongly_refused": wrong_refusal / max(1, n_pos),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, default=VAL)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--weights", type=Path, action="append", default=[], help="more weights files to score")
    parser.add_argument(
        "--exclude", type=Path, default=None,
        help="leave out items whose question is in this file (evals/dev.jsonl: the shipped weights' fitting set)",
    )  # fmt: skip
    args = parser.parse_args()

    pipeline = open_pipeline()
    items = load_items(args.set, pipeline.papers)
    if args.exclude is not None:
        lines = args.exclude.read_text(encoding="utf-8").splitlines()
        seen = {json.loads(line)["question"] for line in lines if line.strip()}
        items = [item for item in items if item["question"] not in seen]
    qvecs: dict[str, np.ndarray] = {}
    configs: list[tuple[str, list[Row], list[list[str]]]] = []
    singles = (("BM25 only", ("bm25",)), ("dense only (MiniLM)", ("dense",)), ("best sentence only", ("sentence",)))
    for name, stages in singles:
        rows = collect(pipeline, items, args.candidates, stages, qvecs)
        configs.append((name, rows, [fusion_order(r) for r in rows]))
    rows = collect(pipeline, items, args.candidates, qvecs=qvecs)
    configs.append(("fusion: weighted 3-way RRF (the first stage), no reranker", rows, [fusion_order(r) for r in rows]))
    weights = [("full: feature reranker, shipped weights", WEIGHTS_PATH)]
    weights += [(f"full: feature reranker, {w}", w) for w in args.weights]
    abstain_lines = []
    for label, path in weights:
        scorer, abstainer = FeatureScorer.load(path), AbstentionModel.load(path)
        ranked = [[r.candidates[i].paper_id for i in model_order(r, scorer)[0]] for r in rows]
        configs.append((label, rows, ranked))
        ab = abstention(rows, scorer, abstainer)
        abstain_lines.append(
            f"- {label}: abstention accuracy {ab['accuracy']:.3f} (threshold {abstainer.threshold:.2f}); wrongly "
            f"answered {ab['wrongly_answered']:.3f} of unanswerable, wrongly refused {ab['wrongly_refused']:.3f} "
            "of answerable"
        )
    name = f"{args.set} minus {args.exclude}" if args.exclude else str(args.set)
    print(f"{name}: {len(items)} items, {sum(r.answerable for r in rows)} answerable; {args.candidates} "
          "candidates; nothing here is fitted on this set.\n")  # fmt: skip
    print(table("Answerable items", [(n, summarise(r, rk)) for n, r, rk in configs]))
    for kind in ("lookup", "paraphrase", "multi", "followup"):
        print()
        print(table(f"{kind} items", [(n, summarise(r, rk, {kind})) for n, r, rk in configs]))
    print("\nAbstention (retrieval-level decision, all items):")
    print("\n".join(abstain_lines))


if __name__ == "__main__":
    main()
