"""Warm ``Pipeline.search`` latency against the bare query-encode time, measured in the same run.

(a) the real index (``--data-dir``, default ``$RAG_DATA_DIR``): 383 papers, chunk vectors in memory;
(b) a synthetic index of ``--chunks`` chunks (default 100,000: ``chunks/2`` papers with 2 chunks and 2
    sentences each; text drawn from the corpus vocabulary, fixed random unit vectors), built with
    direct Chroma adds in a temporary dir; above ``DENSE_MATRIX_MAX_CHUNKS`` the dense stage uses
    Chroma's HNSW index.

One MiniLM model is loaded for both. For each of ``--runs`` rounds over the dev questions, the bare
``embed_query`` and the full ``search`` (which encodes once itself) are timed back to back, so load
from other processes hits both alike. Prints a Markdown table; goals: search p50 <= 2x encode p50 at
383 papers, search p50 <= 80 ms at 100k chunks.

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python benchmarks/bench_search.py --runs 3 [--chunks 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.index.corpus import load_papers
from rag.index.embeddings import MiniLMEmbedder
from rag.index.store import Store, make_client
from rag.pipeline import Pipeline
from rag.settings import BUNDLED_CORPUS, Settings
from rag.types import Paper

ROOT = Path(__file__).resolve().parent.parent


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "evals" / "dev.jsonl").read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(pipeline: Pipeline, embedder: MiniLMEmbedder, queries: list[str], runs: int) -> dict[str, float]:
    for q in queries[:5]:  # warm up
        pipeline.search(q, 10)
    encode: list[float] = []
    search: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(runs):
        for q in queries:
            t0 = time.perf_counter()
            embedder.embed_query(q)
            t1 = time.perf_counter()
            retrieved = pipeline.retrieve(q, 10)
            t2 = time.perf_counter()
            encode.append(t1 - t0)
            search.append(t2 - t1)
            for name, value in retrieved.timings.items():
                stages.setdefault(name, []).append(value)
    out = {
        "encode_p50": statistics.median(encode) * 1000,
        "encode_p95": percentile(encode, 0.95) * 1000,
        "search_p50": statistics.median(search) * 1000,
        "search_p95": percentile(search, 0.95) * 1000,
        "n": len(search),
    }
    out["ratio_p50"] = out["search_p50"] / out["encode_p50"]
    out["ratio_p95"] = out["search_p95"] / out["encode_p95"]
    out["overhead_p50"] = statistics.median([s - e for s, e in zip(search, encode, strict=True)]) * 1000
    for name, values in stages.items():
        out[f"{name}_p50"] = statistics.median(values) * 1000
    return out


def build_synthetic(data_dir: Path, n_chunks: int, dim: int, name: str, seed: int = 0) -> float:
    """A synthetic index: ``n_chunks // 2`` papers, 2 chunks and 2 sentences each. Returns seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    rand = random.Random(seed)
    vocab = sorted({w for p in load_papers([BUNDLED_CORPUS]) for w in re.findall(r"[A-Za-z][a-z]+", p.abstract)})
    store = Store(make_client(data_dir), name)
    n_papers = max(1, n_chunks // 2)
    batch = 2500
    for lo in range(0, n_papers, batch):
        papers = []
        for i in range(lo, min(n_papers, lo + batch)):
            s1 = " ".join(rand.choices(vocab, k=18)).capitalize() + "."
            s2 = " ".join(rand.choices(vocab, k=18)).capitalize() + "."
            title = " ".join(rand.choices(vocab, k=6)).title()
            papers.append(Paper(f"s{i:07d}", title, f"{s1} {s2}", (f"synthetic.txt:{i}",), None, ()))
        ids, docs, metas, sids, sdocs, smetas = [], [], [], [], [], []
        for p in papers:
            first, second = p.abstract.split(". ", 1)
            record = json.dumps(p.to_dict())
            for c, text in enumerate((first + ".", second)):
                ids.append(f"{p.id}:{c}")
                docs.append(f"{p.title}\n{text}")
                metas.append({
                    "paper_id": p.id, "chunk": c, "n_chunks": 2, "content_hash": p.content_hash,
                    "listing_date": "", "paper": record,
                })
            start = 0
            for s, text in enumerate((first + ".", second)):
                begin = p.abstract.index(text, start)
                sids.append(f"{p.id}:s{s}")
                sdocs.append(text)
                smetas.append({"paper_id": p.id, "index": s, "start": begin, "end": begin + len(text)})
                start = begin + len(text)
        vectors = rng.standard_normal((len(ids) + len(sids), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.sentences.add(ids=sids, embeddings=vectors[len(ids):], documents=sdocs, metadatas=smetas)
        store.chunks.add(ids=ids, embeddings=vectors[: len(ids)], documents=docs, metadatas=metas)
    return time.perf_counter() - started


def row(label: str, m: dict[str, Any]) -> str:
    return (
        f"| {label} | {m['n']} | {m['encode_p50']:.1f} / {m['encode_p95']:.1f} | {m['search_p50']:.1f} / "
        f"{m['search_p95']:.1f} | {m['ratio_p50']:.2f} / {m['ratio_p95']:.2f} | {m['overhead_p50']:.1f} | "
        f"{m.get('retrieve_p50', 0):.1f} | {m.get('rerank_p50', 0):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None, help="the real index (default: RAG_DATA_DIR)")
    parser.add_argument("--chunks", type=int, default=100_000, help="synthetic index size; 0 skips it")
    parser.add_argument("--queries", type=int, default=84, help="dev questions used per round")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build the synthetic index here and keep it (reused when it already holds one)")
    args = parser.parse_args()

    embedder = MiniLMEmbedder()
    queries = questions()[: args.queries]
    settings = Settings() if args.data_dir is None else Settings(data_dir=args.data_dir)
    started = time.perf_counter()
    real = Pipeline.open(settings, embedder=embedder, progress=False)
    print(f"opened the real index ({len(real.papers)} papers) in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    results = [(f"real index, {len(real.papers)} papers", measure(real, embedder, queries, args.runs))]

    if args.chunks:
        tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-"))
        try:
            if args.keep is not None and (args.keep / "chroma").exists():
                print(f"reusing the synthetic index in {args.keep}", file=sys.stderr)
            else:
                built = build_synthetic(tmp, args.chunks, embedder.dim, embedder.name)
                print(f"built the synthetic index ({args.chunks} chunks) in {built:.0f}s", file=sys.stderr)
            started = time.perf_counter()
            big = Pipeline.open(Settings(data_dir=tmp), embedder=embedder, progress=False)
            print(f"opened it in {time.perf_counter() - started:.0f}s", file=sys.stderr)
            label = f"synthetic, {args.chunks:,} chunks ({len(big.papers):,} papers), HNSW dense"
            results.append((label, measure(big, embedder, queries, args.runs)))
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)

    print("| index | searches | encode p50 / p95 (ms) | search p50 / p95 (ms) | search/encode p50 / p95 "
          "| overhead p50 (ms) | retrieve p50 | rerank p50 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, m in results:
        print(row(label, m))


if __name__ == "__main__":
    main()
