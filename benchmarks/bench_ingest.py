"""Ingest throughput with each embedder runtime against the bare torch encode, in one run.

(a) bare encode, per runtime (torch, fp32 ONNX, int8 ONNX): one ``embed`` call over exactly the texts an
    ingest embeds (every chunk text and abstract sentence of the corpus; sorted by length inside, ``--batch``
    texts per forward pass; torch also at its own batch size 16), and batch 1 (``embed_query``) over
    ``--single`` of those texts;
(b) a full ``rag.index.ingest.ingest`` of the same papers with each runtime's (warm) embedder at its own
    batch size, as ``rag ingest`` runs it, into a fresh temporary data dir
    (client, collections, chunking, embedding, Chroma writes and the BM25 index included);
(c) a no-op re-ingest: ``rag ingest`` as a subprocess (a new process: imports, settings, client) on the
    unchanged index (b) left, per runtime.

Everything is interleaved, the order rotated per round, so load from other processes hits every runtime alike;
figures are medians of ``--runs`` rounds. Goals (issue 14): full ingest texts/s with the default runtime >= 2x
the bare torch encode texts/s (the faster of torch's two batch sizes); no-op re-ingest < 5 s. Prints a
Markdown report and appends it to ``--out``.

    HF_HUB_OFFLINE=1 python benchmarks/bench_ingest.py --runs 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runtimes import (
    DEFAULT_RUNTIME,
    RUNTIMES,
    Embedders,
    EncodeSpeed,
    load_embedders,
    machine_line,
    percentile,
    rotated,
    speed_table,
    time_queries,
    write_report,
)

from rag.index.chunking import chunk_paper
from rag.index.corpus import load_papers
from rag.index.embeddings import MiniLMEmbedder
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.settings import BUNDLED_CORPUS
from rag.text import split_sentences
from rag.types import Paper

OUT = Path(__file__).resolve().parent / "results" / "ingest.md"
TORCH_OWN_BATCH = MiniLMEmbedder().batch_size


def ingest_texts(papers: list[Paper]) -> list[str]:
    """Exactly the texts ``rag.index.ingest`` embeds: chunk texts, then abstract sentences."""
    texts = [c.text for p in papers for c in chunk_paper(p)]
    texts += [p.abstract[s.start : s.end] for p in papers for s in split_sentences(p.abstract)]
    return texts


def time_ingest(embedders: Embedders, runtime: str, papers: list[Paper], data_dir: Path) -> tuple[float, str]:
    """(wall seconds, summary) of a full ingest into the empty ``data_dir``, client and collections included."""
    started = time.perf_counter()
    embedder = embedders[runtime]
    store = Store(open_chroma(data_dir), embedder.name)
    report = ingest(papers, store, embedder, data_dir, progress=False)
    wall = time.perf_counter() - started
    if (report.added, report.papers) != (len(papers), len(papers)):
        raise SystemExit(f"{runtime} ingest: {report.summary()}; expected {len(papers)} papers added")
    return wall, report.summary()


def time_noop(runtime: str, data_dir: Path, corpus: list[Path], n_papers: int) -> float:
    """Wall seconds of ``rag ingest CORPUS`` in a new process on an index that already holds that corpus."""
    rag = Path(sys.executable).with_name("rag")
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_EMBEDDER_RUNTIME": runtime, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run([str(rag), "ingest", *map(str, corpus)], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0 or f"unchanged {n_papers}" not in done.stdout + done.stderr:
        raise SystemExit(f"no-op `rag ingest` ({runtime}) failed or changed something:\n{done.stdout}{done.stderr}")
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="rounds of every measurement; medians are reported")
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    parser.add_argument("--batch", type=int, default=32, help="texts per forward pass in the bare encode")
    parser.add_argument("--single", type=int, default=200, help="texts encoded one at a time (batch 1)")
    parser.add_argument("--corpus", type=Path, nargs="*", default=[BUNDLED_CORPUS])
    parser.add_argument("--out", type=Path, default=OUT, help="Markdown report appended here")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    papers = load_papers(args.corpus)
    texts = ingest_texts(papers)
    singles = texts[:: max(1, len(texts) // args.single)][: args.single]
    embedders = load_embedders(args.runtimes, args.batch)
    product = load_embedders(args.runtimes)  # each runtime as `rag ingest` configures it (its own batch size)
    torch_own = MiniLMEmbedder(embedders["torch"].model, batch_size=TORCH_OWN_BATCH) if "torch" in embedders else None
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    open_chroma(work / "warm-up")  # chromadb's imports (~2 s), like the models, untimed
    print(f"{len(papers)} papers, {len(texts)} texts; {args.runs} rounds; {machine_line()}", file=sys.stderr)

    tasks = [f"bare {r}" for r in args.runtimes] + [f"ingest {r}" for r in args.runtimes]
    tasks += ["bare torch-own-batch"] if torch_own is not None else []
    rates: dict[str, list[float]] = {t: [] for t in tasks}
    noop: dict[str, list[float]] = {r: [] for r in args.runtimes}
    try:
        for round_ in range(args.runs):
            for task in rotated(tasks, round_):
                kind, runtime = task.split(" ")
                if kind == "bare":
                    embedder = torch_own if runtime == "torch-own-batch" else embedders[runtime]
                    assert embedder is not None
                    t0 = time.perf_counter()
                    embedder.embed(texts)
                    rates[task].append(len(texts) / (time.perf_counter() - t0))
                    print(f"round {round_ + 1}: {task} {rates[task][-1]:.0f} texts/s", file=sys.stderr)
                    continue
                data_dir = work / f"{runtime}-{round_}"
                wall, summary = time_ingest(product, runtime, papers, data_dir)
                rates[task].append(len(texts) / wall)
                print(f"round {round_ + 1}: {task} {wall:.1f}s: {summary}", file=sys.stderr)
                noop[runtime].append(time_noop(runtime, data_dir, args.corpus, len(papers)))
                print(f"round {round_ + 1}: no-op rag ingest ({runtime}) {noop[runtime][-1]:.1f}s", file=sys.stderr)
                shutil.rmtree(data_dir, ignore_errors=True)
        single = time_queries(embedders, singles, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(args.out, report(args, papers, texts, rates, noop, single))
    return 0


def report(
    args: argparse.Namespace,
    papers: list[Paper],
    texts: list[str],
    rates: dict[str, list[float]],
    noop: dict[str, list[float]],
    single: dict[str, list[float]],
) -> list[str]:
    speeds = [
        EncodeSpeed(r, statistics.median(single[r]) * 1000, percentile(single[r], 0.95) * 1000, args.batch,
                    tuple(rates[f"bare {r}"]))
        for r in args.runtimes
    ]  # fmt: skip
    lines = [f"### bench_ingest, {machine_line()}", ""]
    lines.append(f"{len(papers)} papers = {len(texts)} texts (chunks + sentences); {args.runs} rounds, interleaved.")
    lines += ["", *speed_table(speeds, len(single[args.runtimes[0]]), len(texts))]
    if "bare torch-own-batch" in rates:
        own = rates["bare torch-own-batch"]
        lines.append(f"| torch at its own batch {TORCH_OWN_BATCH} | | | {statistics.median(own):.0f} "
                     f"({', '.join(f'{r:.0f}' for r in own)}) | | |")  # fmt: skip
    torch_best = max(
        (statistics.median(rates[t]) for t in ("bare torch", "bare torch-own-batch") if t in rates), default=None
    )
    lines += [
        "",
        "| full ingest with runtime | texts/s, per round | papers/s | **ingest / bare torch encode** "
        "| no-op `rag ingest` s, per round |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in args.runtimes:
        values = rates[f"ingest {r}"]
        rate = statistics.median(values)
        ratio = f"**{rate / torch_best:.2f}**" if torch_best else "-"
        per_round = ", ".join(f"{v:.0f}" for v in values)
        lines.append(
            f"| {r} | {rate:.0f} ({per_round}) | {rate * len(papers) / len(texts):.2f} | {ratio} "
            f"| {statistics.median(noop[r]):.1f} ({', '.join(f'{v:.1f}' for v in noop[r])}) |"
        )
    if torch_best and DEFAULT_RUNTIME in args.runtimes:
        ratio = statistics.median(rates[f"ingest {DEFAULT_RUNTIME}"]) / torch_best
        slowest_noop = max(noop[DEFAULT_RUNTIME])
        lines += [
            "",
            f"Goals ({DEFAULT_RUNTIME}, the default runtime): full ingest >= 2x bare torch encode (the faster of "
            f"torch's batch sizes): {ratio:.2f}, {'met' if ratio >= 2 else 'NOT met'}; no-op re-ingest < 5 s: "
            f"slowest {slowest_noop:.1f} s, {'met' if slowest_noop < 5 else 'NOT met'}.",
        ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
