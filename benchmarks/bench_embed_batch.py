"""Texts per forward pass for the int8 ONNX embedder at ingest: the same texts an ingest embeds, batch sizes
interleaved in one run.

Each round embeds every 32-paper ingest batch of the papers (``rag.index.ingest.prepare``: the chunk texts
and abstract sentences, one ``embed`` call per batch, as ``rag ingest`` does) once per batch size, the order
of the sizes rotated per round so load from other processes hits each alike. Reports the median seconds per
size over ``--runs`` rounds and the ratio to ``--baseline``. The papers default to the bundled corpus; pass the
synthetic arXiv file of ``bench_scale.py`` (``--papers FILE --limit N``) for its mix of texts.

    HF_HUB_OFFLINE=1 python benchmarks/bench_embed_batch.py --sizes 16,8,4 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from rag.index.batch import Prepared, prepare
from rag.index.corpus import load_papers
from rag.index.embeddings import OnnxEmbedder
from rag.settings import BUNDLED_CORPUS


def batches(paths: list[Path], limit: int) -> list[Prepared]:
    papers = load_papers(paths)
    step = max(1, len(papers) // limit)
    chosen = papers[::step][:limit]  # spread over the file: made-up papers are written in seed order
    return [prepare(chosen[i : i + 32]) for i in range(0, len(chosen), 32)]


def seconds(embedder: OnnxEmbedder, prepared: list[Prepared]) -> float:
    started = time.perf_counter()
    for batch in prepared:
        embedder.embed(batch.texts)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="16,8,4", help="texts per forward pass, comma-separated")
    parser.add_argument("--baseline", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--papers", type=Path, nargs="*", default=[BUNDLED_CORPUS])
    parser.add_argument("--limit", type=int, default=500, help="papers embedded per round")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    sizes = sizes if args.baseline in sizes else [args.baseline, *sizes]
    prepared = batches(args.papers, args.limit)
    texts = sum(len(b.texts) for b in prepared)
    embedders = {size: OnnxEmbedder(batch_size=size) for size in sizes}
    for embedder in embedders.values():
        embedder.embed(["warm up", "the session"])
    timings: dict[int, list[float]] = {size: [] for size in sizes}
    for run in range(args.runs):
        for size in sizes[run % len(sizes) :] + sizes[: run % len(sizes)]:
            timings[size].append(seconds(embedders[size], prepared))
            print(f"round {run + 1}/{args.runs}, batch {size}: {timings[size][-1]:.1f} s", file=sys.stderr)
    base = statistics.median(timings[args.baseline])
    papers = sum(len(b.papers) for b in prepared)
    print(f"## Embedding batch size ({papers} papers, {texts} texts, median of {args.runs} rounds)\n")
    print(f"| texts per pass | seconds | texts/s | time vs batch {args.baseline} |\n|---:|---:|---:|---:|")
    for size in sizes:
        median = statistics.median(timings[size])
        print(f"| {size} | {median:.1f} | {texts / median:.0f} | {median / base:.3f} |")


if __name__ == "__main__":
    main()
