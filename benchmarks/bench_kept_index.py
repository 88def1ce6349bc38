"""Search p50 on an index that already exists (one ``bench_scale.py --keep DIR`` left), for the code on
``PYTHONPATH``: open it, ask 3 warm-up questions, then every other single-turn dev_val and dev_fit question
(247) once each, new to the process as a user's would be, and again for ``--rounds`` more passes (repeats, which
in-process caches may help). To compare two trees, run it from each tree's checkout in turn, on the same
index and an idle machine, twice interleaved, with the 383-paper index of the same run as the baseline:

    cd OLD && PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python benchmarks/bench_kept_index.py DIR/data-50000
    cd NEW && PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python benchmarks/bench_kept_index.py DIR/data-50000

(run from the tree itself: ``python -m`` and scripts put the current folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from runtimes import ROOT

from rag.pipeline import Pipeline
from rag.settings import Settings

WARM_UP = 3


def questions() -> list[str]:
    out = []
    for name in ("dev_val", "dev_fit"):
        for line in (ROOT / "evals" / f"{name}.jsonl").read_text().splitlines():
            row = json.loads(line) if line.strip() else None
            if row is not None and not row["history"]:
                out.append(row["question"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=1, help="passes after the first (repeated questions)")
    args = parser.parse_args()
    started = time.perf_counter()
    pipeline = Pipeline.open(Settings(data_dir=args.data_dir), progress=False)
    opened = time.perf_counter() - started
    qs = questions()
    for q in qs[:WARM_UP]:
        pipeline.search(q, k=10)
    passes: list[list[float]] = []
    for _ in range(1 + args.rounds):
        times = []
        for q in qs[WARM_UP:]:
            started = time.perf_counter()
            pipeline.search(q, k=10)
            times.append((time.perf_counter() - started) * 1000)
        passes.append(times)
    print(json.dumps({
        "data_dir": str(args.data_dir), "papers": len(pipeline.papers), "open_s": round(opened, 2),
        "questions": len(qs) - WARM_UP, "first_pass_p50_ms": round(statistics.median(passes[0]), 2),
        "later_p50_ms": round(statistics.median([t for p in passes[1:] for t in p]), 2) if args.rounds else None,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
