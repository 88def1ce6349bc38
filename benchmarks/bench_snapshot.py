"""The index snapshot at sizes the full benchmark cannot reach in a session: a made-up snapshot of N papers
(9 sentences and one chunk each, every text unique; random unit vectors of 384 dimensions; nothing is embedded
or stored in Chroma), timed for what depends on N alone: saving it, loading it (checksums, JSON, memory maps) in
a fresh process, merging +100 papers into it (an ingest's ``Spool.save_merged``), building the sign-bit
shortlists (``rag.retrieve.signs``), and per query (``--queries`` distinct random vectors, on one BLAS thread)
one shortlisted scan of every sentence and chunk vector against its baseline, the exact scan of both (what a
search adds per query without the shortlists), the two interleaved query by query, their order alternating.
Random vectors are the worst case for the shortlist's recall but not for its time.

Each of ``--rounds`` rounds saves, loads (a new process) and merges anew; save, load and merge are medians over
the rounds, the scans p50 / p95 over every query of every round, with the ratio shortlisted / exact p50. Each
size's figures are also given against the smallest size of the same run. Peak RSS is the loading process's.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_snapshot.py --papers 10000,50000,100000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.snapshot import Snapshot
from rag.index.spool import Spool
from rag.index.store_records import StoredSentence
from rag.retrieve.signs import SignShortlist
from rag.retrieve.vectors import SHORTLIST_MIN_ROWS, SHORTLIST_SHARE
from rag.types import Chunk, Paper, Span

DIM, SENTENCES = 384, 9


def made_up(n: int, start: int = 0) -> tuple[list[Paper], list[Chunk], list[StoredSentence]]:
    """``n`` papers, each with its own title, abstract and sentences (no text repeats, so nothing can be skipped)."""
    papers, sentences = [], []
    for i in range(start, start + n):
        parts = [f"Sentence {j} of made-up abstract {i}, about nothing in particular." for j in range(SENTENCES)]
        paper = Paper(f"p{i:012x}", f"Made-up paper {i}", " ".join(parts), ("bench.json:1",), None, ())
        papers.append(paper)
        offset = 0
        for j, part in enumerate(parts):
            sentences.append(StoredSentence(paper.id, j, Span(offset, offset + len(part))))
            offset += len(part) + 1
    chunks = [Chunk(f"{p.id}:0", p.id, 0, f"{p.title}\n{p.abstract}", 120) for p in papers]
    return papers, chunks, sentences


def unit(rows: int, rng: np.random.Generator) -> np.ndarray:
    m = rng.standard_normal((rows, DIM), dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def build(n: int, folder: Path, seed: int) -> tuple[float, list[Paper]]:
    """Save a snapshot of ``n`` made-up papers through a spool (as a full ingest does); seconds taken."""
    rng = np.random.default_rng(seed)
    papers, chunks, sentences = made_up(n)
    started = time.perf_counter()
    with Spool(folder.parent) as spool:
        for lo in range(0, n, 1000):
            cs = chunks[lo : lo + 1000]
            ss = sentences[lo * SENTENCES : (lo + 1000) * SENTENCES]
            spool.add(cs, unit(len(cs), rng), ss, unit(len(ss), rng))
        spool.save_merged(Snapshot.empty(), papers, folder, "bench")
    return time.perf_counter() - started, papers


def merge(folder: Path, papers: list[Paper], seed: int) -> float:
    """Seconds to merge 100 more made-up papers into the snapshot in ``folder`` (saved next to it)."""
    old = Snapshot.load(folder, "bench")
    assert old is not None
    extra, chunks, sentences = made_up(100, len(papers))
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with Spool(folder.parent) as spool:
        spool.add(chunks, unit(100, rng), sentences, unit(len(sentences), rng))
        spool.save_merged(old, papers + extra, folder.parent / "snapshot-next", "bench2")
    return time.perf_counter() - started


def scans(snapshot: Snapshot, queries: np.ndarray) -> tuple[float, list[float], list[float]]:
    """Seconds to build the shortlists, then ms per query of the exact and of the shortlisted scan of both
    matrices, interleaved query by query (the order alternating)."""
    matrices = (snapshot.sentence_vectors, snapshot.chunk_vectors)
    for m in matrices:
        np.asarray(m @ queries[0])  # first touch: pages come in from the page cache
    started = time.perf_counter()
    lists = [SignShortlist(m) for m in matrices]
    built = time.perf_counter() - started

    def exact(q: np.ndarray) -> None:
        for m in matrices:
            np.asarray(m @ q)

    def short(q: np.ndarray) -> None:
        for shortlist in lists:
            shortlist.nearest(q, max(SHORTLIST_MIN_ROWS, int(SHORTLIST_SHARE * shortlist.size)))

    times: dict[str, list[float]] = {"exact": [], "short": []}
    for i, q in enumerate(queries):
        for name, scan in (("exact", exact), ("short", short))[:: 1 if i % 2 else -1]:
            started = time.perf_counter()
            scan(q)
            times[name].append((time.perf_counter() - started) * 1000)
    return built, times["exact"], times["short"]


def load_and_scan(folder: Path, queries: int, seed: int) -> None:
    """In a fresh process: load the snapshot, scan; prints JSON (load s, build s, scan ms lists, peak RSS MB)."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    snapshot = Snapshot.load(folder, "bench")
    assert snapshot is not None
    loaded = time.perf_counter() - started
    with threadpool_limits(1, "blas"):
        built, exact, short = scans(snapshot, unit(queries, np.random.default_rng(seed)))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load": loaded, "built": built, "exact": exact, "short": short, "rss": rss}))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_size(n: int, rounds: int, queries: int) -> dict[str, Any]:
    """Every round: save, load + scan in a new process, merge +100; the figures of all rounds."""
    out: dict[str, Any] = {"n": n, "save": [], "load": [], "merge": [], "built": [], "exact": [], "short": []}
    for round_ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="rag-snap-") as tmp:
            folder = Path(tmp) / "snapshot-bench"
            saved, papers = build(n, folder, seed=n + round_)
            command = [sys.executable, __file__, "--load-from", str(folder), str(queries), str(round_)]
            got = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            out["save"].append(saved)
            out["merge"].append(merge(folder, papers, seed=round_))
            for key in ("load", "built"):
                out[key].append(got[key])
            out["exact"] += got["exact"]
            out["short"] += got["short"]
            out["rss"] = max(out.get("rss", 0.0), got["rss"])
        print(f"{n:,} papers, round {round_ + 1}/{rounds} done", file=sys.stderr)
    return out


def row(r: dict[str, Any]) -> str:
    med = {k: statistics.median(r[k]) for k in ("save", "load", "merge", "built", "exact", "short")}
    return (
        f"| {r['n']:,} | {med['save']:.1f} s | {med['load']:.2f} s | {med['merge']:.1f} s | {med['built']:.2f} s "
        f"| {med['exact']:.1f} / {percentile(r['exact'], 0.95):.1f} ms "
        f"| {med['short']:.1f} / {percentile(r['short'], 0.95):.1f} ms | **{med['short'] / med['exact']:.2f}** "
        f"| {r['rss']:,.0f} MB |"
    )


def scaling(rows: list[dict[str, Any]]) -> list[str]:
    """Each size's medians against the smallest size of the same run."""
    base = min(rows, key=lambda r: r["n"])
    lines = []
    for r in rows:
        if r is not base:
            ratios = ", ".join(
                f"{k} {statistics.median(r[k]) / statistics.median(base[k]):.1f}x"
                for k in ("save", "load", "merge", "exact", "short")
            )
            lines.append(f"- {r['n']:,} papers ({r['n'] / base['n']:g}x the {base['n']:,} of this run): {ratios}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", default="10000,50000")
    parser.add_argument("--rounds", type=int, default=3, help="save, load and merge per size (medians)")
    parser.add_argument("--queries", type=int, default=20, help="distinct query vectors per load (p50 / p95)")
    args = parser.parse_args()
    rows = [run_size(n, args.rounds, args.queries) for n in map(int, args.papers.split(","))]
    print(f"{args.rounds} rounds per size, {args.queries} queries per round; medians (scans: p50 / p95)\n")
    print("| papers | save (full ingest) | load (fresh process) | +100 merged | sign shortlists built | exact scan / "
          "query (baseline) | shortlisted scan / query | shortlisted / exact p50 | peak RSS load+scans |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(row(r))
    print("", *scaling(rows), sep="\n")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--load-from":
        load_and_scan(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
