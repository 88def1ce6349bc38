"""Scale: seeded synthetic corpora of N papers (the 383 bundled papers inside, the rest made up from real ACLSum
sentences), ingested and queried as a user would, on this machine.

Each made-up paper takes 6-10 sentences of ACLSum (``aclsum`` 0.1.2: abstracts, introductions and conclusions
of 250 ACL papers, detokenized) and a title from the same pool; every sentence and title is made unique with a
nonce word (``(kobasu)``, from a bijection of a counter), so no cache of texts or vectors can make it easier than
real data. Made-up papers are written in the arXiv metadata dump's format (authors from ACLSum's papers, v1
dates, categories, arXiv ids), so the dump parser is part of what is measured. Per size it reports:

- full ingest (``rag ingest`` in a new process: papers/s, wall, peak RSS of the process, index size on disk);
- +100 papers (a second file of 100 new made-up papers) and a no-op re-ingest, each a new ``rag ingest``;
- a cold ``rag search`` (a new process: wall time and peak RSS, model load included);
- warm ``search`` and ``ask`` p50/p95 over dev_val's single-turn questions (one warm Pipeline, each question
  once after 5 warm-up questions of its own), dev_val hit@1 on its single-turn questions with one gold paper,
  and the share of its unanswerable questions refused, with the distractors in the index.

    HF_HUB_OFFLINE=1 python benchmarks/bench_scale.py --sizes 2000   # the 383-paper baseline runs too
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from runtimes import ROOT, machine_line, percentile, write_report

from rag.index.corpus import load_papers, paper_id
from rag.pipeline import Pipeline
from rag.settings import BUNDLED_CORPUS, Settings

OUT = Path(__file__).resolve().parent / "results" / "scale.md"
COLD_QUERY = "Which paper introduced the Transformer architecture?"
"""Asked by ``rag search`` in a new process after the ingests: the cold start (index opened, caches read)."""
CATEGORIES = ("cs.CL", "cs.CL", "cs.CL", "cs.LG", "cs.AI", "cs.IR", "stat.ML")
_CONSONANTS, _VOWELS = "bdfgklmnprstvz", "aeiou"
_DETOKENIZE = ((re.compile(r"\s+([,.;:!?%)\]])"), r"\1"), (re.compile(r"([(\[])\s+"), r"\1"),
               (re.compile(r"\s+(n't|'s|'re|'ve|'ll|'d)\b"), r"\1"), (re.compile(r"``\s*|\s*''"), '"'))  # fmt: skip


def nonce(n: int, syllables: int = 3) -> str:
    """A pronounceable word for ``n`` (a bijection for ``n < 70**syllables``): kobasu, debilo, ..."""
    out = []
    for _ in range(syllables):
        n, rest = divmod(n, len(_CONSONANTS) * len(_VOWELS))
        out.append(_CONSONANTS[rest // len(_VOWELS)] + _VOWELS[rest % len(_VOWELS)])
    return "".join(out)


def detokenize(sentence: str) -> str:
    for pattern, repl in _DETOKENIZE:
        sentence = pattern.sub(repl, sentence)
    return " ".join(sentence.split())


def aclsum_pool() -> tuple[list[str], list[str], list[list[str]]]:
    """(sentences, titles, author lists) of every ACLSum split, in the package's order."""
    import aclsum
    import sienna

    docs = [d for split in ("train", "val", "test") for d in aclsum.ACLSum(split)]
    sentences = [detokenize(s) for d in docs for s in d.get_all_sentences()]
    sentences = [s for s in sentences if 40 <= len(s) <= 400 and len(s.split()) >= 8 and s[-1] in ".!?"]
    folder = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"
    authors = []
    for path in sorted(folder.glob("*.json")):
        names = [f"{a['first']} {a['last']}".strip() for a in sienna.load(str(path)).get("authors", [])]
        if names:
            authors.append(names)
    return sentences, sorted({detokenize(d.title) for d in docs}), authors


def fewer_sentences(
    pool: tuple[list[str], list[str], list[list[str]]], distinct: int, seed: int
) -> tuple[list[str], list[str], list[list[str]]]:
    """``pool`` with a seeded sample of ``distinct`` of its sentences (each made-up paper takes up to 10)."""
    if distinct < 10:
        raise SystemExit(f"--distinct-sentences must be at least 10 (a made-up paper takes up to 10), not {distinct}")
    sentences = random.Random(seed).sample(pool[0], min(distinct, len(pool[0])))
    return sentences, pool[1], pool[2]


def made_up_rows(count: int, start: int, seed: int, pool: tuple[list[str], list[str], list[list[str]]]) -> list[str]:
    """``count`` arXiv-dump lines of made-up papers ``start..start+count-1`` (the same for a seed and index)."""
    sentences, titles, authors = pool
    lines = []
    for i in range(start, start + count):
        rng = random.Random(f"{seed}:{i}")
        picked = rng.sample(range(len(sentences)), rng.randint(6, 10))
        # sentence j of paper i gets the nonce of (i, j): unique over every paper and position
        unique = [f"{sentences[s][:-1]} ({nonce(i * 10 + j, 4)}){sentences[s][-1]}" for j, s in enumerate(picked)]
        abstract = " ".join(unique)
        created = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(11 * 365))
        names = rng.choice(authors)
        row: dict[str, Any] = {
            "id": f"{created:%y%m}.{i % 100_000:05d}",
            "authors": ", ".join(names),
            "title": f"{rng.choice(titles)}: the {nonce(i).capitalize()} Study",
            "abstract": abstract,
            "categories": " ".join(sorted(set(rng.sample(CATEGORIES, 2)))),
            "versions": [{"version": "v1", "created": format_datetime(created, usegmt=True)}],
            "update_date": f"{created:%Y-%m-%d}",
            "authors_parsed": [[n.split()[-1], " ".join(n.split()[:-1]), ""] for n in names],
        }
        lines.append(json.dumps(row) + "\n")
    return lines


def rag_ingest(data_dir: Path, paths: list[Path]) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, summary line) of ``rag ingest --quiet PATHS`` in a new process (``wait4`` gives
    that process's own peak RSS)."""
    return rag_command(data_dir, ["ingest", "--quiet", *map(str, paths)])


def rag_command(data_dir: Path, args: list[str]) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, last stdout line) of ``rag ARGS`` in a new process."""
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "rag.app.cli", *args],
                                env=env, stdout=out, stderr=err, text=True)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"rag {args[0]} failed ({proc.returncode}): {err.read().strip()[-500:]}")
        return wall, usage.ru_maxrss / 1024, (out.read().strip().splitlines() or [""])[-1]


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def dev_val() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (ROOT / "evals" / "dev_val.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if not r["history"]]


def query_figures(data_dir: Path) -> dict[str, float]:
    """Warm search/ask latency over dev_val's single-turn questions, hit@1 and refusals with the distractors."""
    pipeline = Pipeline.open(Settings(data_dir=data_dir), progress=False)
    rows = dev_val()
    for warm in ("which paper warms up the pipeline", "how does the warm-up question get answered",
                 "sparse attention, a warm-up", "graph networks warm-up", "one more warm-up question"):
        pipeline.ask(warm)  # lazy imports, first-call costs; not the timed questions
    search_ms, ask_ms, hits, refused = [], [], [], []
    for row in rows:
        started = time.perf_counter()
        ranked = pipeline.search(row["question"], k=10)
        search_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        answer = pipeline.ask(row["question"])
        ask_ms.append((time.perf_counter() - started) * 1000)
        if len(row["gold_titles"]) == 1:
            hits.append(bool(ranked) and ranked[0].paper.id == paper_id(row["gold_titles"][0]))
        elif not row["gold_titles"]:
            refused.append(answer.abstained)
    return {
        "search_p50": percentile(search_ms, 0.5), "search_p95": percentile(search_ms, 0.95),
        "ask_p50": percentile(ask_ms, 0.5), "ask_p95": percentile(ask_ms, 0.95),
        "hit1": sum(hits) / len(hits), "n_hit": len(hits), "refused": sum(refused) / len(refused),
        "n_refused": len(refused),
    }  # fmt: skip


def run_size(size: int, seed: int, pool: tuple[list[str], list[str], list[list[str]]], root: Path) -> dict[str, Any]:
    bundled = len(load_papers([BUNDLED_CORPUS]))
    made_up = size - bundled
    corpus, extra, data_dir = root / f"arxiv-{size}.json", root / f"arxiv-{size}-plus100.json", root / f"data-{size}"
    corpus.write_text("".join(made_up_rows(made_up, 0, seed, pool)))
    extra.write_text("".join(made_up_rows(100, made_up, seed, pool)))
    inputs = [BUNDLED_CORPUS, corpus] if made_up else [BUNDLED_CORPUS]  # an empty file is refused
    full, full_rss, summary = rag_ingest(data_dir, inputs)
    print(f"[{size}] full ingest {full:.0f}s: {summary}", file=sys.stderr)
    size_mb = disk_mb(data_dir)
    plus, plus_rss, summary = rag_ingest(data_dir, [*inputs, extra])
    print(f"[{size}] +100: {summary}", file=sys.stderr)
    noop, _, summary = rag_ingest(data_dir, [*inputs, extra])
    print(f"[{size}] no-op: {summary}", file=sys.stderr)
    cold, cold_rss, _ = rag_command(data_dir, ["search", COLD_QUERY])
    print(f"[{size}] cold search {cold:.1f}s, peak RSS {cold_rss:.0f} MB", file=sys.stderr)
    figures = query_figures(data_dir)
    return {"size": size, "full": full, "rate": size / full, "rss": max(full_rss, plus_rss), "disk": size_mb,
            "plus": plus, "noop": noop, "cold": cold, "cold_rss": cold_rss, **figures}  # fmt: skip


def table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("| papers | full ingest | papers/s | peak RSS | on disk | +100 papers | no-op re-ingest | cold search "
            "(RSS) | search p50 / p95 | ask p50 / p95 | dev_val hit@1 | unanswerable refused |")  # fmt: skip
    lines = [head, "|" + "---:|" * 12]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['full']:.0f} s | {r['rate']:.1f} | {r['rss']:,.0f} MB | {r['disk']:,.0f} MB "
            f"| {r['plus']:.0f} s | {r['noop']:.1f} s | {r['cold']:.1f} s ({r['cold_rss']:,.0f} MB) "
            f"| {r['search_p50']:.1f} / {r['search_p95']:.1f} ms "
            f"| {r['ask_p50']:.1f} / {r['ask_p95']:.1f} ms | {r['hit1']:.3f} (n={r['n_hit']}) "
            f"| {r['refused']:.2f} (n={r['n_refused']}) |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000", help="comma-separated corpus sizes (bundled papers included)")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--keep", type=Path, help="write corpora and indexes here and keep them (for profiling)")
    parser.add_argument("--distinct-sentences", type=int, default=0, metavar="N",
                        help="draw the made-up papers from a seeded sample of N ACLSum sentences (each reused more "
                             "often): does quality move with the distractors' count or with what they say?")
    args = parser.parse_args()
    pool = aclsum_pool()
    if args.distinct_sentences:
        pool = fewer_sentences(pool, args.distinct_sentences, args.seed)
    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        bundled = len(load_papers([BUNDLED_CORPUS]))
        sizes = [int(size) for size in args.sizes.split(",")]
        sizes = sizes if bundled in sizes else [bundled, *sizes]  # the same run's baseline, always
        rows = [run_size(size, args.seed, pool, root) for size in sizes]
    lines = [f"## Scale ({machine_line()}; seed {args.seed}; {len(pool[0]):,} ACLSum sentences)", "", *table(rows)]
    write_report(args.out, [*lines, "", *ratios(rows, bundled)])


def ratios(rows: list[dict[str, Any]], bundled: int) -> list[str]:
    """Each size's search p50 and ingest rate against the bundled-papers row of the same run."""
    base = next(r for r in rows if r["size"] == bundled)
    return [
        f"- {r['size']:,} papers: search p50 {r['search_p50'] / base['search_p50']:.2f}x the {bundled}-paper figure "
        f"of this run (goal <= 2.5x at 50,000), ingest {r['rate'] / base['rate']:.2f}x its papers/s"
        for r in rows if r is not base
    ]


if __name__ == "__main__":
    main()
