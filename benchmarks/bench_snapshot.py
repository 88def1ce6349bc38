"""The index snapshot at sizes the full benchmark cannot reach in a session: a made-up snapshot of N papers
(9 sentences and one chunk each, random unit vectors of 384 dimensions; nothing is embedded or stored in
Chroma), timed for what depends on N alone: saving it, loading it (checksums, JSON, memory maps) in a fresh
process, merging +100 papers into it (an ingest's ``Spool.save_merged``), and one exact scan of every sentence
and chunk vector on one BLAS thread (what a search adds per query), building the sign-bit shortlists and one
shortlisted scan of both (``rag.retrieve.signs``; random vectors, the worst case for its recall but not for its
time), with the loading process's peak RSS.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_snapshot.py --papers 10000,50000,100000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.index.snapshot import Snapshot
from rag.index.spool import Spool
from rag.index.store import StoredSentence
from rag.retrieve.hybrid import SHORTLIST_MIN_ROWS, SHORTLIST_SHARE
from rag.retrieve.signs import SignShortlist
from rag.types import Chunk, Paper, Span

DIM, SENTENCES = 384, 9


def made_up(n: int, start: int = 0) -> tuple[list[Paper], list[Chunk], list[StoredSentence]]:
    abstract = " ".join(f"Sentence {j} of a made-up abstract about nothing in particular." for j in range(SENTENCES))
    papers = [
        Paper(f"p{i:012x}", f"Made-up paper {i}", abstract, ("bench.json:1",), None, ())
        for i in range(start, start + n)
    ]
    chunks = [Chunk(f"{p.id}:0", p.id, 0, f"{p.title}\n{p.abstract}", 120) for p in papers]
    step = len(abstract) // SENTENCES
    sentences = [StoredSentence(p.id, j, Span(j * step, (j + 1) * step)) for p in papers for j in range(SENTENCES)]
    return papers, chunks, sentences


def unit(rows: int, rng: np.random.Generator) -> np.ndarray:
    m = rng.standard_normal((rows, DIM), dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def build(n: int, folder: Path) -> tuple[float, list[Paper]]:
    """Save a snapshot of ``n`` made-up papers through a spool (as a full ingest does); seconds taken."""
    rng = np.random.default_rng(n)
    papers, chunks, sentences = made_up(n)
    started = time.perf_counter()
    with Spool(folder.parent) as spool:
        for lo in range(0, n, 1000):
            batch = {p.id for p in papers[lo : lo + 1000]}
            cs = [c for c in chunks[lo : lo + 1000]]
            ss = [s for s in sentences[lo * SENTENCES : (lo + 1000) * SENTENCES] if s.paper_id in batch]
            spool.add(cs, unit(len(cs), rng), ss, unit(len(ss), rng))
        spool.save_merged(Snapshot.empty(), papers, folder, "bench")
    return time.perf_counter() - started, papers


def load_and_scan(folder: Path) -> None:
    """In a fresh process: load the snapshot, scan once; prints load s, scan ms, peak RSS MB."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    snapshot = Snapshot.load(folder, "bench")
    assert snapshot is not None
    loaded = time.perf_counter() - started
    q = unit(1, np.random.default_rng(0))[0]
    with threadpool_limits(1, "blas"):
        np.asarray(snapshot.sentence_vectors @ q)  # first touch: pages come in from the page cache
        started = time.perf_counter()
        for _ in range(5):
            np.asarray(snapshot.sentence_vectors @ q)
            np.asarray(snapshot.chunk_vectors @ q)
        scan = (time.perf_counter() - started) / 5 * 1000
        started = time.perf_counter()
        lists = [SignShortlist(m) for m in (snapshot.sentence_vectors, snapshot.chunk_vectors)]
        built = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(5):
            for shortlist in lists:
                shortlist.nearest(q, max(SHORTLIST_MIN_ROWS, int(SHORTLIST_SHARE * shortlist.size)))
        short = (time.perf_counter() - started) / 5 * 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{loaded:.2f} {scan:.1f} {built:.2f} {short:.1f} {rss:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", default="10000,50000")
    args = parser.parse_args()
    print("| papers | save (full ingest) | load (fresh process) | +100 merged | exact scan / query | sign shortlists "
          "built | shortlist scan / query | RSS load+scans |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in map(int, args.papers.split(",")):
        with tempfile.TemporaryDirectory(prefix="rag-snap-") as tmp:
            folder = Path(tmp) / "snapshot-bench"
            saved, papers = build(n, folder)
            out = subprocess.run([sys.executable, __file__, "--load-from", str(folder)], capture_output=True, text=True,
                                 check=True).stdout.split()  # fmt: skip
            old = Snapshot.load(folder, "bench")
            assert old is not None
            extra, chunks, sentences = made_up(100, n)
            rng = np.random.default_rng(1)
            started = time.perf_counter()
            with Spool(Path(tmp)) as spool:
                spool.add(chunks, unit(100, rng), sentences, unit(len(sentences), rng))
                spool.save_merged(old, papers + extra, Path(tmp) / "snapshot-next", "bench2")
            merged = time.perf_counter() - started
            print(f"| {n:,} | {saved:.1f} s | {out[0]} s | {merged:.1f} s | {out[1]} ms | {out[2]} s | {out[3]} ms "
                  f"| {out[4]} MB |", flush=True)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--load-from":
        load_and_scan(Path(sys.argv[2]))
    else:
        main()
