"""Warm ``Pipeline.search`` with each embedder runtime against the bare torch query encode, in one run.

The real index (``--data-dir``, default ``$RAG_DATA_DIR``) is copied into a temporary dir, so the benchmark
never changes it; one ``Pipeline`` per runtime is opened on the copy with that runtime's warm embedder
(fp32 ONNX and torch share the torch collection; int8 has its own, built in the copy when missing). For each
of ``--runs`` rounds over ``--queries`` distinct dev questions (dev, dev_fit, dev_val; no query vector is
cached anywhere, and each string is searched once per round), the bare ``embed_query`` of every runtime and
the full search of every pipeline are timed back to back, their order rotated query by query, so load from
other processes hits all alike. Then each runtime's bare ``embed`` of ``--batch-texts`` corpus texts at
batch ``--batch`` (texts/s).

Goal (issue 14): search p50 with the default runtime <= 0.8x the bare torch query-encode p50 of the same
queries. ``--chunks N`` adds the synthetic index of N chunks (HNSW dense stage; goal p50 <= 80 ms) with the
default runtime. Prints a Markdown report and appends it to ``--out``.

    HF_HUB_OFFLINE=1 python benchmarks/bench_search.py --data-dir .rag-ci --runs 2
"""

from __future__ import annotations

import argparse
import json
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
from runtimes import (
    DEFAULT_RUNTIME,
    RUNTIMES,
    Embedders,
    encode_speeds,
    load_embedders,
    machine_line,
    percentile,
    questions,
    rotated,
    speed_table,
    write_report,
)

from rag.index.chunking import chunk_paper
from rag.index.corpus import load_papers
from rag.index.store import Store, open_chroma
from rag.pipeline import Pipeline
from rag.settings import BUNDLED_CORPUS, Settings
from rag.text import split_sentences
from rag.types import Paper

OUT = Path(__file__).resolve().parent / "results" / "search.md"


def measure(pipelines: dict[str, Pipeline], embedders: Embedders, queries: list[str], runs: int) -> dict[str, Any]:
    """Per task ("encode <runtime>", "search <runtime>"): seconds per query, plus per-stage search timings."""
    for pipeline in pipelines.values():
        for q in queries[-5:]:  # warm-up (lazy imports, first-call costs)
            pipeline.search(q, 10)
    tasks = [f"encode {r}" for r in embedders] + [f"search {r}" for r in pipelines]
    seconds: dict[str, list[float]] = {t: [] for t in tasks}
    stages: dict[str, dict[str, list[float]]] = {r: {} for r in pipelines}
    for _ in range(runs):
        for i, q in enumerate(queries):
            for task in rotated(tasks, i):
                kind, runtime = task.split(" ")
                t0 = time.perf_counter()
                if kind == "encode":
                    embedders[runtime].embed_query(q)
                    seconds[task].append(time.perf_counter() - t0)
                    continue
                retrieved = pipelines[runtime].retrieve(q, 10)  # what Pipeline.search runs, with stage timings
                seconds[task].append(time.perf_counter() - t0)
                for name, value in retrieved.timings.items():
                    stages[runtime].setdefault(name, []).append(value)
    return {"seconds": seconds, "stages": stages}


def search_table(result: dict[str, Any], label: str) -> list[str]:
    seconds, stages = result["seconds"], result["stages"]
    base = statistics.median(seconds["encode torch"]) if "encode torch" in seconds else None
    lines = [
        f"| {label}: search with runtime | searches | p50 / p95 ms | embed / retrieve / rerank p50 ms "
        "| search beyond embed p50 ms | **search p50 / bare torch encode p50** |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for runtime, stage in stages.items():
        values = seconds[f"search {runtime}"]
        p50 = statistics.median(values)
        parts = " / ".join(f"{statistics.median(stage[s]) * 1000:.1f}" for s in ("embed", "retrieve", "rerank"))
        beyond = statistics.median([v - e for v, e in zip(values, stage["embed"], strict=True)])
        ratio = f"**{p50 / base:.2f}**" if base else "-"
        lines.append(
            f"| {runtime} | {len(values)} | {p50 * 1000:.1f} / {percentile(values, 0.95) * 1000:.1f} | {parts} "
            f"| {beyond * 1000:.1f} | {ratio} |"
        )
    return lines


def batch_texts(limit: int) -> list[str]:
    """Corpus texts an ingest embeds (chunks, then sentences), sampled evenly across the corpus."""
    papers = load_papers([BUNDLED_CORPUS])
    texts = [c.text for p in papers for c in chunk_paper(p)]
    texts += [p.abstract[s.start : s.end] for p in papers for s in split_sentences(p.abstract)]
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def build_synthetic(data_dir: Path, n_chunks: int, dim: int, name: str, seed: int = 0) -> float:
    """A synthetic index: ``n_chunks // 2`` papers, 2 chunks and 2 sentences each. Returns seconds."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    rand = random.Random(seed)
    vocab = sorted({w for p in load_papers([BUNDLED_CORPUS]) for w in re.findall(r"[A-Za-z][a-z]+", p.abstract)})
    store = Store(open_chroma(data_dir), name)
    n_papers = max(1, n_chunks // 2)
    batch = 2500
    for lo in range(0, n_papers, batch):
        papers = []
        for i in range(lo, min(n_papers, lo + batch)):
            s1 = " ".join(rand.choices(vocab, k=18)).capitalize() + "."
            s2 = " ".join(rand.choices(vocab, k=18)).capitalize() + "."
            title = " ".join(rand.choices(vocab, k=6)).title()
            papers.append(Paper(f"s{i:07d}", title, f"{s1} {s2}", (f"synthetic.txt:{i}",), None, ()))
        ids, docs, metas, sids, smetas = [], [], [], [], []
        for p in papers:
            first, second = p.abstract.split(". ", 1)
            record = json.dumps(p.to_dict())
            for c, text in enumerate((first + ".", second)):
                ids.append(f"{p.id}:{c}")
                docs.append(f"{p.title}\n{text}")
                metas.append(
                    {
                        "paper_id": p.id,
                        "chunk": c,
                        "n_chunks": 2,
                        "content_hash": p.content_hash,
                        "listing_date": "",
                        "paper": record,
                    }
                )
            start = 0
            for s, text in enumerate((first + ".", second)):
                begin = p.abstract.index(text, start)
                sids.append(f"{p.id}:s{s}")
                smetas.append({"paper_id": p.id, "index": s, "start": begin, "end": begin + len(text)})
                start = begin + len(text)
        vectors = rng.standard_normal((len(ids) + len(sids), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.sentences.add(ids=sids, embeddings=vectors[len(ids) :], metadatas=smetas)
        store.chunks.add(ids=ids, embeddings=vectors[: len(ids)], documents=docs, metadatas=metas)
    return time.perf_counter() - started


def open_pipelines(data_dir: Path, embedders: Embedders, runtimes: list[str]) -> dict[str, Pipeline]:
    out = {}
    for runtime in runtimes:
        started = time.perf_counter()
        settings = Settings(data_dir=data_dir, embedder_runtime=runtime)  # type: ignore[arg-type]
        out[runtime] = Pipeline.open(settings, embedder=embedders[runtime], progress=False)
        print(f"opened the {runtime} pipeline ({len(out[runtime].papers)} papers; built if its collection was "
              f"missing) in {time.perf_counter() - started:.1f}s", file=sys.stderr)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="rounds over the queries")
    parser.add_argument("--data-dir", type=Path, default=None, help="the real index (default: RAG_DATA_DIR); copied")
    parser.add_argument("--queries", type=int, default=200, help="distinct dev questions per round (0: all)")
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    parser.add_argument("--batch", type=int, default=32, help="batch size of the batched encode")
    parser.add_argument("--batch-texts", type=int, default=512, help="corpus texts of the batched encode")
    parser.add_argument("--chunks", type=int, default=0, help="synthetic index size (e.g. 100000); 0 skips it")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build the synthetic index here and keep it (reused when it already holds one)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="Markdown report appended here")
    args = parser.parse_args()

    queries = questions(args.queries)
    embedders = load_embedders(args.runtimes, args.batch)
    source = args.data_dir or Settings().data_dir
    if not (source / "chroma").exists():
        raise SystemExit(f"no index in {source}; run `rag ingest` or pass --data-dir")
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        shutil.copytree(source, work / "index")
        pipelines = open_pipelines(work / "index", embedders, args.runtimes)
        n_papers = len(next(iter(pipelines.values())).papers)
        print(f"{len(queries)} distinct queries x {args.runs} rounds; {machine_line()}", file=sys.stderr)
        real = measure(pipelines, embedders, queries, args.runs)
        texts = batch_texts(args.batch_texts)
        single = {r: real["seconds"][f"encode {r}"] for r in embedders}
        speeds = encode_speeds(embedders, queries, texts, args.batch, args.runs, single)
        lines = [
            f"### bench_search, {machine_line()}",
            "",
            f"{len(queries)} distinct dev questions x {args.runs} rounds, runtimes interleaved query by query.",
            "",
        ]
        lines += speed_table(speeds, len(single[args.runtimes[0]]), len(texts))
        lines += ["", *search_table(real, f"real index, {n_papers} papers")]
        if args.chunks:
            lines += ["", *synthetic(args, embedders, queries)]
        if "torch" in embedders and DEFAULT_RUNTIME in pipelines:
            ratio = statistics.median(real["seconds"][f"search {DEFAULT_RUNTIME}"]) / statistics.median(
                real["seconds"]["encode torch"]
            )
            verdict = "met" if ratio <= 0.8 else "NOT met"
            goal = f"Goal: search p50 ({DEFAULT_RUNTIME}) <= 0.8x bare torch encode p50: {ratio:.2f}, {verdict}."
            lines += ["", goal]
            lines += [f"Embedder runtime default: {DEFAULT_RUNTIME}; models warm; no query vector is cached."]
        write_report(args.out, lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def synthetic(args: argparse.Namespace, embedders: Embedders, queries: list[str]) -> list[str]:
    """The synthetic index with the default runtime (its vectors are random: only latency is meaningful)."""
    runtime = DEFAULT_RUNTIME if DEFAULT_RUNTIME in embedders else next(iter(embedders))
    embedder = embedders[runtime]
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-search-synthetic-"))
    try:
        if args.keep is not None and (args.keep / "chroma").exists():
            print(f"reusing the synthetic index in {args.keep}", file=sys.stderr)
        else:
            built = build_synthetic(tmp, args.chunks, embedder.dim, embedder.name)
            print(f"built the synthetic index ({args.chunks} chunks) in {built:.0f}s", file=sys.stderr)
        settings = Settings(data_dir=tmp, embedder_runtime=runtime)  # type: ignore[arg-type]
        big = Pipeline.open(settings, embedder=embedder, progress=False)
        bare = {r: e for r, e in embedders.items() if r in ("torch", runtime)}
        result = measure({runtime: big}, bare, queries, args.runs)
        return search_table(result, f"synthetic, {args.chunks:,} chunks ({len(big.papers):,} papers), HNSW dense")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
