"""Ingest throughput against bare model throughput, in one process with one loaded model.

(a) ``SentenceTransformer.encode`` over exactly the texts an ingest embeds: every chunk text and every
    abstract sentence of the bundled corpus, in one call;
(b) a full ``rag.index.ingest.ingest`` of the same papers into a fresh temporary data dir (client, collections,
    chunking, embedding, Chroma writes and the BM25 index included).

Each figure is the median of ``--runs`` runs; the two are interleaved so that load from other
processes hits both alike. Prints a Markdown table; the goal is ingest/bare >= 0.9.

    HF_HUB_OFFLINE=1 python benchmarks/bench_ingest.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.index.chunking import chunk_paper
from rag.index.corpus import load_papers
from rag.index.embeddings import MiniLMEmbedder, load_minilm
from rag.index.ingest import ingest
from rag.index.store import Store, make_client
from rag.settings import BUNDLED_CORPUS
from rag.text import split_sentences
from rag.types import Paper


def ingest_texts(papers: list[Paper]) -> list[str]:
    """Exactly the texts ``rag.index.ingest`` embeds: chunk texts, then abstract sentences."""
    texts = [c.text for p in papers for c in chunk_paper(p)]
    texts += [p.abstract[s.start : s.end] for p in papers for s in split_sentences(p.abstract)]
    return texts


def time_bare(model: Any, texts: list[str], batch_size: int) -> tuple[float, float]:
    """(wall, process CPU) seconds of one ``encode`` call over ``texts``."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return time.perf_counter() - wall, time.process_time() - cpu


def time_ingest(model: Any, papers: list[Paper], encode_batch: int, batch_size: int | None) -> tuple[float, float, str]:
    """(wall, process CPU, summary) of a full ingest into a fresh data dir, client and collections included."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        embedder = MiniLMEmbedder(model, batch_size=encode_batch)
        store = Store(make_client(data_dir), embedder.name)
        kwargs = {} if batch_size is None else {"batch_size": batch_size}
        report = ingest(papers, store, embedder, data_dir, progress=False, **kwargs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if report.papers != len(papers):
            raise SystemExit(f"ingest stored {report.papers} papers, expected {len(papers)}")
        return wall, cpu, report.summary()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is reported")
    parser.add_argument(
        "--encode-batch", type=int, default=None, help="encode batch size, bare and ingest (default: the embedder's)"
    )
    parser.add_argument("--ingest-batch", type=int, default=None, help="papers per ingest batch (default: ingest's)")
    parser.add_argument("--corpus", type=Path, nargs="*", default=[BUNDLED_CORPUS])
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    papers = load_papers(args.corpus)
    texts = ingest_texts(papers)
    model = load_minilm()
    make_client(Path(tempfile.mkdtemp(prefix="bench-warmup-")))  # chromadb's imports (~2 s), like the model, untimed
    encode_batch = args.encode_batch or MiniLMEmbedder(model).batch_size
    model.encode(texts[:64], batch_size=encode_batch, show_progress_bar=False)  # warm-up
    load_before = os.getloadavg()[0]
    print(
        f"{len(papers)} papers, {len(texts)} texts, encode batch {encode_batch}; {args.runs} run(s) each, "
        f"interleaved; load average {load_before:.1f}",
        file=sys.stderr,
    )

    bare: list[tuple[float, float]] = []
    full: list[tuple[float, float]] = []
    for run in range(args.runs):
        order = ("bare", "ingest") if run % 2 == 0 else ("ingest", "bare")
        for kind in order:
            if kind == "bare":
                bare.append(time_bare(model, texts, encode_batch))
                print(f"run {run + 1}: bare {bare[-1][0]:.1f}s (cpu {bare[-1][1]:.1f}s)", file=sys.stderr)
            else:
                wall, cpu, summary = time_ingest(model, papers, encode_batch, args.ingest_batch)
                full.append((wall, cpu))
                print(f"run {run + 1}: ingest {wall:.1f}s (cpu {cpu:.1f}s): {summary}", file=sys.stderr)

    n = len(papers)
    bare_s, full_s = statistics.median(w for w, _ in bare), statistics.median(w for w, _ in full)
    bare_cpu, full_cpu = statistics.median(c for _, c in bare), statistics.median(c for _, c in full)
    paired = statistics.median(b[0] / f[0] for b, f in zip(bare, full, strict=True))
    print(f"\n| median of {args.runs} | wall s | papers/s | CPU s |")
    print("| --- | ---: | ---: | ---: |")
    label = f"(a) bare `SentenceTransformer.encode`, {len(texts)} texts"
    print(f"| {label} | {bare_s:.1f} | {n / bare_s:.2f} | {bare_cpu:.1f} |")
    print(f"| (b) full ingest, {n} papers | {full_s:.1f} | {n / full_s:.2f} | {full_cpu:.1f} |")
    print(f"| **ratio (b) / (a)** papers/s | | **{bare_s / full_s:.2f}** | {bare_cpu / full_cpu:.2f} |")
    print(
        f"\nper-run ratio median {paired:.2f}; all runs (wall s): bare {[round(w, 1) for w, _ in bare]}, "
        f"ingest {[round(w, 1) for w, _ in full]}; encode batch {encode_batch}, torch threads {_threads()}, "
        f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    return 0


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    raise SystemExit(main())
