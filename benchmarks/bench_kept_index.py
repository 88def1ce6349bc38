"""Search p50 on an index that already exists (one ``bench_scale.py --keep DIR`` left), for the code on
``PYTHONPATH``: copy the index to a scratch folder (opening an index may write into it: caches, checks, a
rebuilt snapshot; the kept one is never changed, and the script checks its files' sizes and mtimes after the
run), open the copy, ask 3 warm-up questions, then every other single-turn dev_val and dev_fit question (247)
once each, new to the process as a user's would be, and again for ``--rounds`` more passes (repeats, which
in-process caches may help). With ``--baseline DIR`` (the 383-paper index of the same ``bench_scale`` run) it
runs itself in a new process per index, alternating baseline and index ``--pairs`` times (so neither warms the
other's caches and load from other processes hits both alike), and prints the ratio of the median first-pass
p50s. To compare two trees, run it from each tree's checkout in turn, on the same indexes
(``D``: the ``--keep`` folder):

    export HF_HUB_OFFLINE=1
    cd OLD && PYTHONPATH=$PWD python benchmarks/bench_kept_index.py $D/data-50000 --baseline $D/data-383
    cd NEW && PYTHONPATH=$PWD python benchmarks/bench_kept_index.py $D/data-50000 --baseline $D/data-383

(run from the tree itself: ``python -m`` and scripts put the current folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def fingerprint(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime (ns) of every file and folder under ``folder``: any write changes one of them."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in [folder, *folder.rglob("*")]}


def search_times(pipeline: Pipeline, rounds: int) -> list[list[float]]:
    """ms per question of each pass: the first (every question new to the process), then ``rounds`` repeats."""
    qs = questions()
    for q in qs[:WARM_UP]:
        pipeline.search(q, k=10)
    passes: list[list[float]] = []
    for _ in range(1 + rounds):
        times = []
        for q in qs[WARM_UP:]:
            started = time.perf_counter()
            pipeline.search(q, k=10)
            times.append((time.perf_counter() - started) * 1000)
        passes.append(times)
    return passes


def measure(data_dir: Path, rounds: int, scratch: Path | None) -> dict[str, Any]:
    """Open a copy of ``data_dir`` and time the searches; ``data_dir`` must be unchanged afterwards."""
    before = fingerprint(data_dir)
    work = Path(tempfile.mkdtemp(prefix="bench-kept-", dir=scratch))
    try:
        started = time.perf_counter()
        shutil.copytree(data_dir, work / "index", symlinks=True)
        copied = time.perf_counter() - started
        started = time.perf_counter()
        pipeline = Pipeline.open(Settings(data_dir=work / "index"), progress=False)
        opened = time.perf_counter() - started
        passes = search_times(pipeline, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if fingerprint(data_dir) != before:
        raise SystemExit(f"{data_dir} changed during the run")
    return {
        "data_dir": str(data_dir), "papers": len(pipeline.papers), "copy_s": round(copied, 2),
        "open_s": round(opened, 2), "questions": len(passes[0]),
        "first_pass_p50_ms": round(statistics.median(passes[0]), 2),
        "later_p50_ms": round(statistics.median([t for p in passes[1:] for t in p]), 2) if rounds else None,
    }  # fmt: skip


def in_new_process(data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, str(data_dir), "--rounds", str(args.rounds)]
    command += ["--scratch", str(args.scratch)] if args.scratch else []
    result: dict[str, Any] = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    print(json.dumps(result), flush=True)
    return result


def against_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """Baseline and index in turn, a new process each, the first of each pair alternating; median p50s, ratio."""
    runs: dict[str, list[float]] = {"baseline": [], "index": []}
    for pair in range(args.pairs):
        order = [("baseline", args.baseline), ("index", args.data_dir)]
        for name, folder in order if pair % 2 == 0 else order[::-1]:
            runs[name].append(in_new_process(folder, args)["first_pass_p50_ms"])
    base, mine = statistics.median(runs["baseline"]), statistics.median(runs["index"])
    return {"pairs": args.pairs, "baseline_first_pass_p50_ms": base, "first_pass_p50_ms": mine,
            "ratio": round(mine / base, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=1, help="passes after the first (repeated questions)")
    parser.add_argument("--baseline", type=Path, help="the 383-paper index of the same run: also time it, in turn")
    parser.add_argument("--pairs", type=int, default=2, help="with --baseline: runs of each (default 2)")
    parser.add_argument("--scratch", type=Path, help="where the index is copied (default: the system's temp dir)")
    args = parser.parse_args()
    if args.baseline is not None:
        print(json.dumps(against_baseline(args)))
    else:
        print(json.dumps(measure(args.data_dir, args.rounds, args.scratch)))


if __name__ == "__main__":
    main()
