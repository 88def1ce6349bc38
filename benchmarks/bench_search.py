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
queries; the bare torch encode is always timed, as the baseline, whichever ``--runtimes`` are searched. Prints a
Markdown report and appends it to ``--out``. Search at scale, over made-up papers built from real sentences (a
random-vector index is easier than real data), is ``benchmarks/bench_scale.py``.

    HF_HUB_OFFLINE=1 python benchmarks/bench_search.py --data-dir .rag-ci --runs 2
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
from rag.pipeline import Pipeline
from rag.settings import BUNDLED_CORPUS, Settings
from rag.text import split_sentences

OUT = Path(__file__).resolve().parent / "results" / "search.md"


WARM_UP = ("which paper warms up the search path", "sparse attention for long documents warm-up",
           "how is the warm-up question answered", "graph networks for molecules, a warm-up", "one more warm-up")


def measure(pipelines: dict[str, Pipeline], embedders: Embedders, queries: list[str], runs: int) -> dict[str, Any]:
    """Per task ("encode <runtime>", "search <runtime>"): seconds per query, plus per-stage search timings."""
    for pipeline in pipelines.values():
        for q in WARM_UP:  # lazy imports, first-call costs; not the timed strings (no cache may see them twice)
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
    parser.add_argument("--out", type=Path, default=OUT, help="Markdown report appended here")
    args = parser.parse_args()

    queries = questions(args.queries)
    baseline = [r for r in RUNTIMES if r in args.runtimes or r == "torch"]  # the torch encode: always timed
    embedders = load_embedders(baseline, args.batch)
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


if __name__ == "__main__":
    main()
