"""Choose the first stage's fusion (``rag.retrieve.fusion.FIRST_STAGE_WEIGHTS`` and ``FIRST_STAGE_K``) by
recall@10 on the fitting data only: ``evals/dev_fit.jsonl`` and the seeded synthetic questions of
``evals/synth.py`` (``fit_data.training_items``; ``evals/dev_val.jsonl`` is never read here).

Each answerable item's candidates carry every stage's rank (``Candidate.ranks``), so each weighted
reciprocal-rank fusion of the grid is recomputed from them without retrieving again; the candidate pool is
the one the shipped first stage picked (50 papers by default, far deeper than the ten scored). Prints
recall@10 of plain RRF (k 60, equal weights), of the shipped setting and of the best settings of the grid,
for the hand-written items and the synthetic ones, all and multi-paper only.

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python -m evals.fit_fusion [--rows-cache /tmp/rows.pkl]
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evals.fit_data import Row, training_rows
from rag.retrieve.fusion import FIRST_STAGE_K, FIRST_STAGE_WEIGHTS, RRF_K, STAGES

Setting = tuple[tuple[float, float, float], float]
GRID_WEIGHTS = {"bm25": (1.0, 1.5, 2.0, 3.0), "dense": (0.5, 1.0, 1.5), "sentence": (0.0, 0.25, 0.5, 1.0)}
GRID_K = (1.0, 3.0, 5.0, 10.0, 20.0, 60.0)


def recall_at_10(row: Row, weights: Sequence[float], k: float) -> float:
    """Share of the row's gold papers in the top ten of this fusion of the candidates' stage ranks."""
    def score(ranks: dict[str, int | None]) -> float:
        return sum(w / (k + r) for s, w in zip(STAGES, weights, strict=True) if (r := ranks.get(s)) is not None)

    top = sorted(row.candidates, key=lambda c: (-score(c.ranks), c.paper_id))[:10]
    return len({c.paper_id for c in top} & row.gold) / len(row.gold)


def groups(rows: Sequence[Row]) -> dict[str, list[Row]]:
    answerable = [r for r in rows if r.answerable]
    fit = [r for r in answerable if r.source == "fit"]
    synth = [r for r in answerable if r.source != "fit"]
    return {"hand-written": fit, "hand-written multi": [r for r in fit if len(r.gold) > 1],
            "synthetic": synth, "synthetic multi": [r for r in synth if len(r.gold) > 1]}


def evaluate(parts: dict[str, list[Row]], setting: Setting) -> dict[str, float]:
    weights, k = setting
    return {name: float(np.mean([recall_at_10(r, weights, k) for r in rs])) if rs else 0.0
            for name, rs in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="synthetic-data seed")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--rows-cache", type=Path, default=None, help="pickle of the collected rows (re-runs)")
    parser.add_argument("--top", type=int, default=8, help="how many of the best settings to print")
    args = parser.parse_args()
    rows = training_rows(args.seed, args.candidates, args.rows_cache)
    parts = groups(rows)
    grid: list[Setting] = [((b, d, s), k) for b, d, s, k in itertools.product(*GRID_WEIGHTS.values(), GRID_K)]
    results = {setting: evaluate(parts, setting) for setting in grid}
    w = FIRST_STAGE_WEIGHTS
    shipped: Setting = ((w["bm25"], w["dense"], w["sentence"]), float(FIRST_STAGE_K))
    named = {"plain RRF (k 60, equal weights)": ((1.0, 1.0, 1.0), float(RRF_K)), "shipped": shipped}
    best = sorted(grid, key=lambda s: (-(results[s]["hand-written"] + results[s]["synthetic"]), s[1], s[0]))
    print(f"recall@10 on the fitting data: {', '.join(f'{n} {len(rs)}' for n, rs in parts.items())} items\n")
    print("| setting | BM25 / dense / sentence weight, k | " + " | ".join(parts) + " |")
    print("|---|---|" + "---:|" * len(parts))
    for label, setting in [*named.items(), *((f"grid #{i + 1}", s) for i, s in enumerate(best[: args.top]))]:
        figures = results.get(setting) or evaluate(parts, setting)
        weights, k = setting
        print(f"| {label} | {' / '.join(f'{w:g}' for w in weights)}, {k:g} | "
              + " | ".join(f"{v:.3f}" for v in figures.values()) + " |")


if __name__ == "__main__":
    main()
