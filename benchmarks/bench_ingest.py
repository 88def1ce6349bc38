"""Ingest throughput against bare model throughput, in one process with one loaded model.

(a) ``SentenceTransformer.encode`` over exactly the texts an ingest embeds: every chunk text and every
    abstract sentence of the bundled corpus, in one call;
(b) a full ``rag.ingest.ingest`` of the same papers into a fresh temporary data dir (client, collections,
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

from rag.chunking import chunk_paper, split_sentences  # noqa: E402
from rag.corpus import load_papers  # noqa: E402
from rag.embeddings import MiniLMEmbedder, load_minilm  # noqa: E402
from rag.ingest import ingest  # noqa: E402
from rag.settings import BUNDLED_CORPUS  # noqa: E402
from rag.store import Store, make_client  # noqa: E402
from rag.types import Paper  # noqa: E402


def ingest_texts(papers: list[Paper]) -> list[str]:
    """Exactly the texts ``rag.ingest`` embeds: chunk texts, then abstract sentences."""
    texts = [c.text for p in papers for c in chunk_paper(p)]
    texts += [p.abstract[s.start : s.end] for p in papers for s in split_sentences(p.abstract)]
    return texts


def time_bare(model: Any, texts: list[str], batch_size: int) -> float:
    started = time.perf_counter()
    model.encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return time.perf_counter() - started


def time_ingest(model: Any, papers: list[Paper], batch_size: int | None) -> tuple[float, str]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        started = time.perf_counter()
        embedder = MiniLMEmbedder(model)
        store = Store(make_client(data_dir), embedder.name)
        kwargs = {} if batch_size is None else {"batch_size": batch_size}
        report = ingest(papers, store, embedder, data_dir, progress=False, **kwargs)
        seconds = time.perf_counter() - started
        if report.papers != len(papers):
            raise SystemExit(f"ingest stored {report.papers} papers, expected {len(papers)}")
        return seconds, report.summary()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; the median is reported")
    parser.add_argument("--encode-batch", type=int, default=64, help="encode batch size of the bare run")
    parser.add_argument("--ingest-batch", type=int, default=None, help="papers per ingest batch (default: ingest's)")
    parser.add_argument("--corpus", type=Path, nargs="*", default=[BUNDLED_CORPUS])
    args = parser.parse_args(argv)

    papers = load_papers(args.corpus)
    texts = ingest_texts(papers)
    model = load_minilm()
    model.encode(texts[:64], batch_size=args.encode_batch, show_progress_bar=False)  # warm-up
    print(f"{len(papers)} papers, {len(texts)} texts; {args.runs} run(s) each, interleaved", file=sys.stderr)

    bare: list[float] = []
    full: list[float] = []
    for run in range(args.runs):
        first, second = ("bare", "ingest") if run % 2 == 0 else ("ingest", "bare")
        for kind in (first, second):
            if kind == "bare":
                bare.append(time_bare(model, texts, args.encode_batch))
                print(f"run {run + 1}: bare {bare[-1]:.1f}s", file=sys.stderr)
            else:
                seconds, summary = time_ingest(model, papers, args.ingest_batch)
                full.append(seconds)
                print(f"run {run + 1}: ingest {seconds:.1f}s ({summary})", file=sys.stderr)

    bare_s, full_s = statistics.median(bare), statistics.median(full)
    bare_rate, full_rate = len(papers) / bare_s, len(papers) / full_s
    print(f"\n| measurement (median of {args.runs}) | seconds | papers/s |")
    print("| --- | ---: | ---: |")
    print(f"| bare `SentenceTransformer.encode` ({len(texts)} texts) | {bare_s:.1f} | {bare_rate:.2f} |")
    print(f"| full ingest ({len(papers)} papers) | {full_s:.1f} | {full_rate:.2f} |")
    print(f"| **ratio ingest / bare** | | **{full_rate / bare_rate:.2f}** |")
    print(f"\nall runs: bare {[round(s, 1) for s in bare]} s, ingest {[round(s, 1) for s in full]} s; "
          f"torch threads {_threads()}, load average {os.getloadavg()[0]:.1f}")
    return 0


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    raise SystemExit(main())
