"""Refit the feature reranker and the abstention model on hand-written fitting + synthetic data.

Data (``evals/fit_data.py``): ``evals/dev_fit.jsonl``, the seeded synthetic questions of
``evals/synth.py`` and their leave-one-out unanswerables. ``evals/dev_val.jsonl`` is never read here:
validation figures come from ``rag eval --set evals/dev_val.jsonl`` afterwards.

* Cross-validation is grouped by paper (``--folds`` folds, a group's fold from a CRC of its paper id),
  so no paper's questions are on both sides of a fold. Every figure marked OOF is out-of-fold.
* Ranker: pointwise logistic regression over ``rag.retrieve.features.FEATURES`` on the answerable
  items' candidate rows, ranked with the recall rule of ``Pipeline.retrieve`` (the fusion top ten stay
  the top ten). C and the weight of hand-written rows come from a grid by OOF MRR@10 on the
  hand-written items; then backward elimination drops each feature whose removal costs less than
  ``--tolerance`` OOF MRR@10 on the hand-written items and on the synthetic ones (it does not
  generalise; fewer features fit less noise).
* Abstention: logistic regression over ``rag.retrieve.abstain.ABSTAIN_FEATURES`` of each item's ranked
  list under the OOF ranker (realistic inputs), answerable vs unanswerable (hand-written unanswerable and
  leave-one-out twins), C by grouped CV log-loss; the threshold maximises the mean of the OOF accuracy on
  the hand-written items and the OOF balanced accuracy on the synthetic ones (the middle of the best
  plateau). The threshold is therefore chosen by cross-validation, never on validation data.

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python -m evals.fit_reranker [--rows-cache /tmp/rows.pkl]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover
    raise SystemExit("refitting needs scikit-learn, in the 'fit' extra: pip install -e '.[fit]'") from exc

from evals.fit_abstain import fit_abstention, fit_linear, fold_of, ranked_indices
from evals.fit_data import Row, training_rows
from evals.loo import FIT_PATH
from rag.evals.ranking import ranking_metrics
from rag.linear import LinearModel
from rag.retrieve.features import FEATURES, WEIGHTS_PATH

METRICS = ("hit@1", "mrr@10", "ndcg@10", "recall@10")
C_GRID = (0.03, 0.3, 3.0)
FIT_WEIGHTS = (1.0, 4.0, 16.0, 64.0)


def fit_ranker(rows: Sequence[Row], names: tuple[str, ...], c: float, fit_weight: float) -> LinearModel:
    train = [r for r in rows if r.answerable and len(r.y)]
    cols = [FEATURES.index(n) for n in names]
    w = np.concatenate([np.full(len(r.y), fit_weight if r.source == "fit" else 1.0) for r in train])
    x = np.vstack([r.x[:, cols] for r in train])
    return fit_linear(x, np.concatenate([r.y for r in train]), names, c, w)


def oof_logits(rows: Sequence[Row], names: tuple[str, ...], k: int, c: float, fit_weight: float) -> list[np.ndarray]:
    cols = [FEATURES.index(n) for n in names]
    folds = fold_of(rows, k)
    out: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for f in range(k):
        model = fit_ranker([r for r, g in zip(rows, folds, strict=True) if g != f], names, c, fit_weight)
        for i in np.flatnonzero(folds == f):
            out[i] = model.logits(rows[i].x[:, cols]) if len(rows[i].candidates) else np.zeros(0)
    return out


def summarise(rows: Sequence[Row], logits: Sequence[np.ndarray] | None, sources: set[str]) -> dict[str, float]:
    """Ranking metrics over the answerable rows of ``sources`` (``logits=None``: the fusion order)."""
    picked = []
    for i, row in enumerate(rows):
        if row.answerable and row.source in sources:
            idx = ranked_indices(row, logits[i]) if logits is not None else range(len(row.candidates))
            picked.append(ranking_metrics([row.candidates[j].paper_id for j in idx], row.gold))
    return {m: float(np.mean([p[m] for p in picked])) if picked else 0.0 for m in METRICS} | {"n": len(picked)}


SYNTH = {"sentence", "keyphrase", "title", "numeric", "multi", "followup"}


def select_ranker(rows: list[Row], k: int, tolerance: float) -> tuple[tuple[str, ...], float, float, dict[str, Any]]:
    """(features, C, hand-written weight, log) chosen by grouped CV."""

    def score(names: tuple[str, ...], c: float, w: float) -> tuple[float, float]:
        lg = oof_logits(rows, names, k, c, w)
        return summarise(rows, lg, {"fit"})["mrr@10"], summarise(rows, lg, SYNTH)["mrr@10"]

    grid = {(c, w): score(FEATURES, c, w) for c in C_GRID for w in FIT_WEIGHTS}
    (c, w), (best_fit, best_syn) = max(grid.items(), key=lambda kv: (kv[1][0] + kv[1][1], -kv[0][0]))
    log: dict[str, Any] = {"grid": {f"C={a},fit_weight={b}": v for (a, b), v in grid.items()}, "dropped": []}
    names = FEATURES
    improved = True
    while improved and len(names) > 2 and tolerance < 1.0:
        improved = False
        trials = {f: score(tuple(n for n in names if n != f), c, w) for f in names}
        f, (fit_m, syn_m) = max(trials.items(), key=lambda kv: kv[1][0] + kv[1][1])
        if fit_m >= best_fit - tolerance and syn_m >= best_syn - tolerance:
            names = tuple(n for n in names if n != f)
            best_fit, best_syn = max(best_fit, fit_m), max(best_syn, syn_m)
            log["dropped"].append({"feature": f, "oof_mrr_fit": fit_m, "oof_mrr_synth": syn_m})
            print(f"  drop {f}: fit {fit_m:.4f} synth {syn_m:.4f}", file=sys.stderr)
            improved = True
    return names, c, w, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="synthetic-data seed")
    parser.add_argument("--tolerance", type=float, default=0.002, help="OOF MRR a dropped feature may cost")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--dry-run", action="store_true", help="report only, do not write the weights")
    parser.add_argument("--rows-cache", type=Path, default=None, help="pickle of the collected rows (re-runs)")
    parser.add_argument("--no-elimination", action="store_true", help="keep every feature (faster)")
    parser.add_argument(
        "--ranker-from", type=Path, default=None,
        help="keep this weights file's ranker (its logits feed the abstention fit) and refit only the abstention",
    )  # fmt: skip
    parser.add_argument("--fit-sets", type=Path, nargs="+", default=[FIT_PATH],
                        help="hand-written fitting sets (default evals/dev_fit.jsonl; never a *_val set or holdout)")
    args = parser.parse_args()

    rows = training_rows(args.seed, args.candidates, args.rows_cache, args.fit_sets)
    if args.ranker_from is not None:
        ranker = LinearModel.from_dict(json.loads(args.ranker_from.read_text())["ranker"])
        names, c, w, log = ranker.features, 0.0, 0.0, {"kept": str(args.ranker_from)}
        logits = [ranker.logits(r.x[:, [FEATURES.index(n) for n in names]]) for r in rows]  # not out-of-fold
    else:
        names, c, w, log = select_ranker(rows, args.folds, 1.0 if args.no_elimination else args.tolerance)
        logits = oof_logits(rows, names, args.folds, c, w)
        ranker = fit_ranker(rows, names, c, w)
    insample = [ranker.logits(r.x[:, [FEATURES.index(n) for n in names]]) for r in rows]
    report: dict[str, Any] = {
        "method": f"{args.folds}-fold CV grouped by paper; ranker C={c}, hand-written weight {w}",
        "ranker_features": list(names),
        "selection": log,
        "fusion_fit": summarise(rows, None, {"fit"}),
        "oof_fit": summarise(rows, logits, {"fit"}),
        "insample_fit": summarise(rows, insample, {"fit"}),
        "fusion_synth": summarise(rows, None, SYNTH),
        "oof_synth": summarise(rows, logits, SYNTH),
    }
    abstain = fit_abstention(rows, logits, args.folds, SYNTH)
    report["abstain"] = abstain["report"]
    print(json.dumps(report, indent=1))
    n_fit = sum(r.source == "fit" for r in rows)
    data = {
        "ranker": ranker.to_dict(),
        "abstain": abstain["weights"],
        "fitted_on": (
            f"evals/dev_fit.jsonl ({n_fit} items) + evals/synth.py seed {args.seed} "
            f"({len(rows) - n_fit} items incl. leave-one-out), {args.candidates} candidates"
        ),
        "cv": report,
    }
    if not args.dry_run:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
