"""The lexicon (``rag.index.lexicon``): what storing every paper's tokens at ingest costs and saves.

Papers: the 383 bundled ones plus made-up ones from ``bench_scale.py``'s generator (real ACLSum sentences, each
made unique). For a corpus of N papers it times building the lexicon, updating it for +100 papers, saving and
loading it; then, per query (dev_val + dev_fit questions, 50 candidates drawn at random from the corpus for each),
the reranker's lexical features read from the lexicon against the baseline in the same run: tokenising the
50 candidates as a query did before (``lexical_features`` without a lexicon, tokeniser cache cleared first,
as at 50,000 papers most candidates are new to it).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_lexicon.py --papers 10000,50000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from bench_scale import aclsum_pool, made_up_rows
from runtimes import ROOT, machine_line, write_report

from rag.index.corpus import load_papers, paper_id
from rag.index.lexicon import Lexicon
from rag.retrieve.features import lexical_features
from rag.retrieve.query import AcronymTable, parse_query
from rag.settings import BUNDLED_CORPUS
from rag.text import _tokens
from rag.types import Paper

OUT = Path(__file__).resolve().parent / "results" / "lexicon.md"
CANDIDATES = 50
P = ParamSpec("P")
T = TypeVar("T")


def corpus(n: int, start: int = 0) -> dict[str, Paper]:
    rows = [json.loads(line) for line in made_up_rows(n, start, 25, aclsum_pool())]
    return {paper_id(r["title"]): Paper(paper_id(r["title"]), r["title"], r["abstract"]) for r in rows}


def questions() -> list[str]:
    out = []
    for name in ("dev_val", "dev_fit"):
        for line in (ROOT / "evals" / f"{name}.jsonl").read_text().splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return out


def timed(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def query_ms(papers: dict[str, Paper], lexicon: Lexicon) -> tuple[float, float]:
    """Median ms per query of the lexical features from the lexicon, and of tokenising the candidates."""
    rng, ids = random.Random(0), sorted(papers)
    stored, tokenised = [], []
    for text in questions():
        query = parse_query(text, AcronymTable({}), lambda token: (1, len(ids)))
        picked = [papers[pid] for pid in rng.sample(ids, CANDIDATES)]
        stored.append(timed(lexical_features, query, picked, lexicon)[0] * 1000)
        _tokens.cache_clear()
        tokenised.append(timed(lexical_features, query, picked)[0] * 1000)
    return statistics.median(stored), statistics.median(tokenised)


def run(n: int) -> str:
    papers = {p.id: p for p in load_papers([BUNDLED_CORPUS])} | corpus(n - 383)
    build, lexicon = timed(Lexicon.build, papers)
    more = papers | corpus(100, start=n)
    update, _ = timed(Lexicon.build, more, lexicon)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lexicon.npz"
        save, _ = timed(lexicon.save, path, "k")
        load, _ = timed(Lexicon.load, path)
        size = path.stat().st_size / 1e6
    stored, tokenised = query_ms(papers, lexicon)
    return (
        f"| {len(papers):,} | {build:.1f} s ({build / len(papers) * 1e6:.0f} us/paper) | {update:.1f} s | "
        f"{save:.2f} / {load:.2f} s | {size:.0f} MB | {stored:.2f} ms | {tokenised:.2f} ms "
        f"| {tokenised / stored:.1f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", default="10000", help="comma-separated corpus sizes (bundled papers included)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    head = (
        "| papers | build | +100 update | save / load | file | features of 50 candidates, p50 | "
        "tokenising them (before), p50 | ratio |"
    )
    rows = [run(int(n)) for n in args.papers.split(",")]
    write_report(args.out, [f"## Lexicon ({machine_line()})", "", head, "|" + "---:|" * 8, *rows])


if __name__ == "__main__":
    main()
