"""Warm extractive ``ask`` latency over the dev questions, against warm search latency, in one process.

The pipeline is opened once (models and index loaded), every question is asked once to warm up, then
each round times, per dev question, ``Pipeline.search`` (embed + retrieve + rerank) and
``Pipeline.stream(answerer="extractive")`` read to its ``.answer`` (condense + the same search + answer +
citation check; the time to its first text chunk is reported too), interleaved so that load from other
processes hits both alike, their order alternating question by question. Prints a Markdown table with
p50/p95; the goal is ask p50 <= 150 ms. Uses a copy of ``RAG_DATA_DIR``'s index, made in a temporary dir
(opening an index writes into it: Chroma's database, caches), so the benchmark never changes it.

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=.rag-ci python benchmarks/bench_ask.py --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Answer

DEV = Path(__file__).resolve().parent.parent / "evals" / "dev.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_search(pipeline: Pipeline, standalone: str, out: list[float]) -> None:
    t0 = time.perf_counter()
    pipeline.search(standalone, pipeline.settings.top_k)
    out.append((time.perf_counter() - t0) * 1000)


def time_ask(pipeline: Pipeline, item: dict[str, Any], first: list[float], out: list[float]) -> Answer:
    """An extractive answer, timed to its first chunk (``first``) and to its end (``out``)."""
    t0 = time.perf_counter()
    stream = pipeline.stream(item["question"], item["history"], answerer="extractive")
    for _ in stream:
        first.append((time.perf_counter() - t0) * 1000)
        break
    answer = stream.answer
    out.append((time.perf_counter() - t0) * 1000)
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the dev questions")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions (0: all)")
    args = parser.parse_args()
    items = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    if args.limit:
        items = items[: args.limit]
    source = Settings().data_dir
    if not (source / "chroma").exists():
        raise SystemExit(f"no index in {source}; run `rag ingest` or set RAG_DATA_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-ask-") as work:
        shutil.copytree(source, Path(work) / "index", symlinks=True)
        started = time.perf_counter()
        pipeline = Pipeline.open(Settings(data_dir=Path(work) / "index"), progress=False)
        opened = time.perf_counter() - started
        measure(pipeline, items, args.rounds, opened)


def measure(pipeline: Pipeline, items: list[dict[str, Any]], rounds: int, opened: float) -> None:
    """Warm up on every question, then time ``rounds`` passes and print the table."""
    for item in items:  # warm-up: caches, lazy imports, first-call costs
        pipeline.ask(item["question"], item["history"], answerer="extractive")
    search_ms: list[float] = []
    ask_ms: list[float] = []
    first_ms: list[float] = []
    stages: dict[str, list[float]] = {}
    abstained = 0
    for round_ in range(rounds):
        for n, item in enumerate(items):
            standalone = pipeline.fallback.condense(item["question"], item["history"])
            if (n + round_) % 2:  # the order alternates, so neither one always finds the other's caches warm
                answer = time_ask(pipeline, item, first_ms, ask_ms)
                time_search(pipeline, standalone, search_ms)
            else:
                time_search(pipeline, standalone, search_ms)
                answer = time_ask(pipeline, item, first_ms, ask_ms)
            abstained += answer.abstained
            for stage, seconds in answer.timings.items():
                stages.setdefault(stage, []).append(seconds * 1000)
    p50_ask, p50_search = statistics.median(ask_ms), statistics.median(search_ms)
    print(f"Pipeline.open: {opened:.1f} s; {len(items)} questions x {rounds} rounds; "
          f"{abstained}/{len(ask_ms)} answers abstained\n")
    print("| what | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    print(f"| search (warm) | {p50_search:.1f} | {percentile(search_ms, 0.95):.1f} |")
    print(f"| ask, extractive (warm) | {p50_ask:.1f} | {percentile(ask_ms, 0.95):.1f} |")
    print(f"| - first text chunk | {statistics.median(first_ms):.1f} | {percentile(first_ms, 0.95):.1f} |")
    for stage, values in stages.items():
        print(f"| - stage {stage} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} |")
    print(f"\nask/search p50 ratio: {p50_ask / p50_search:.2f}; goal ask p50 <= 150 ms: "
          f"{'met' if p50_ask <= 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
