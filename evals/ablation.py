"""Retrieval ablation on the dev set, in one run: single stages, three-way RRF, RRF + each reranker
feature group, and the full reranker; a Markdown table over the answerable questions, and one over
the paraphrase split.

Learned rows are OUT-OF-FOLD (5-fold CV over questions, C picked by nested inner CV; see
``evals/fit_reranker.py``). The last row runs the real ``Pipeline.retrieve`` with the shipped weights
(fitted on the whole dev set, so in-sample) as a wiring check. Follow-ups are retrieved with the
history's user turns prepended to the question (a stand-in for the answerer's condensation).

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python evals/ablation.py [--qcache /tmp/qvecs.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_reranker import (
    METRICS,
    Row,
    abstain_matrix,
    collect,
    cv_abstain,
    load_dev,
    oof_logits,
    open_pipeline,
    order_by,
    retrieval_query,
    summarise,
)

from rag.retrieve.features import FEATURE_GROUPS, FEATURES


def table(title: str, results: list[tuple[str, dict[str, float]]]) -> str:
    n = int(results[0][1]["n"]) if results else 0
    lines = [f"### {title} (n={n})", "", "| configuration | " + " | ".join(METRICS) + " |"]
    lines.append("|---|" + "---:|" * len(METRICS))
    for name, m in results:
        lines.append(f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--qcache", type=Path, default=None, help="npz cache of query vectors")
    args = parser.parse_args()

    pipeline = open_pipeline(args.qcache)
    items = load_dev()
    qvecs: dict[str, np.ndarray] = {}
    configs: list[tuple[str, list[Row], list[list[str]]]] = []
    for name, stages in (("BM25 only", ("bm25",)), ("dense only", ("dense",)), ("sentence only", ("sentence",))):
        rows = collect(pipeline, items, args.candidates, stages, qvecs)
        configs.append((name, rows, [[c.paper_id for c in r.candidates] for r in rows]))
    rows = collect(pipeline, items, args.candidates, qvecs=qvecs)
    configs.append(("hybrid RRF (BM25 + dense + sentence)", rows, [[c.paper_id for c in r.candidates] for r in rows]))
    for group, names in FEATURE_GROUPS.items():
        feats = FEATURE_GROUPS["fusion"] + (names if group != "fusion" else ())
        label = "hybrid + learned fusion weights" if group == "fusion" else f"hybrid + {group} features"
        configs.append((f"{label} (OOF)", rows, order_by(rows, oof_logits(rows, feats, args.folds, None))))
    full_logits = oof_logits(rows, FEATURES, args.folds, None)
    full_ranked = order_by(rows, full_logits)
    configs.append(("full feature reranker (OOF)", rows, full_ranked))
    for group in FEATURE_GROUPS:
        if group == "fusion":
            continue
        feats = tuple(f for f in FEATURES if f not in FEATURE_GROUPS[group])
        configs.append((f"full minus {group} (OOF)", rows, order_by(rows, oof_logits(rows, feats, args.folds, None))))

    shipped = []
    for item in items:
        retrieved = pipeline.retrieve(retrieval_query(item), 10)
        shipped.append([h.paper.id for h in retrieved.hits])
    configs.append(("Pipeline.retrieve, shipped weights (in-sample)", rows, shipped))

    print(f"Dev set: {len(items)} questions, {sum(r.answerable for r in rows)} answerable; "
          f"{args.candidates} candidates; learned rows: {args.folds}-fold CV over questions, out-of-fold.\n")
    print(table("Answerable questions", [(n, summarise(r, rk)) for n, r, rk in configs]))
    print()
    print(table("Paraphrase split", [(n, summarise(r, rk, {"paraphrase"})) for n, r, rk in configs]))
    print()
    for split in ("lookup", "multi", "followup"):
        m = summarise(rows, full_ranked, {split})
        print(f"- full (OOF), {split} (n={int(m['n'])}): " + ", ".join(f"{k} {m[k]:.3f}" for k in METRICS))
    y = np.array([r.answerable for r in rows], dtype=np.int64)
    ab = cv_abstain(abstain_matrix(rows, full_logits), y, args.folds, 1.0)
    print(
        f"\nAbstention ({args.folds}-fold CV, threshold 0.5): accuracy {ab['accuracy']:.3f} over {ab['n']} questions; "
        f"answerable answered {ab['answerable_answered']:.3f}, "
        f"unanswerable abstained {ab['unanswerable_abstained']:.3f}"
    )
    flags = [pipeline.retrieve(retrieval_query(item), 10).abstain for item in items]
    acc = float(np.mean([f != bool(r.answerable) for f, r in zip(flags, rows, strict=True)]))
    print(f"Abstention via Pipeline.retrieve with shipped weights (in-sample): accuracy {acc:.3f}")
    if args.qcache is not None:
        pipeline.embedder.save()


if __name__ == "__main__":
    main()
