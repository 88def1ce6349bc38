"""Load test of the OpenAI-compatible API: N concurrent ``/v1`` clients, each asking M dev questions in turn,
against the same requests straight through a ``Pipeline`` in this process (no HTTP), as the baseline.

    RAG_API_KEY=secret RAG_DATA_DIR=IDX python app.py --port 7860 &          # on the real index
    RAG_API_KEY=secret RAG_DATA_DIR=IDX python benchmarks/load_api.py --url http://127.0.0.1:7860 \
        --clients 32 --questions 5 --rounds 2

Every client asks its own questions (different ones from the dev sets, so answers cannot be confused). Each
answer is checked against the answer the same question got when asked alone before the load (same text, same
sources): none may be mixed up with another client's. The baseline opens ``RAG_DATA_DIR``'s index (the
server's, or a copy of it, with the same ``RAG_`` settings) and runs the same plan (N threads, M questions each)
through ``Pipeline.ask``; its answers must equal the server's, else the two do not do the same work and the
run stops. Each of ``--rounds`` rounds runs both, the one going first alternating, so load from other processes
hits both alike. Prints, for both, answers/s (median of the rounds), p50/p95 latency (every answer of every
round) and the error count, and the ratios /v1 / baseline: what HTTP, the server and the load client (which
shares the machine) add to the pipeline's own work at this concurrency. Exits 1 on any error or mismatch.
``--history-cost`` also measures, in this process, what a 1 MB history adds to one ``rag.ask`` (the pipeline
reads only its last turns).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from rag.pipeline import Pipeline
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEV_SETS = ("dev", "dev_fit", "dev_val")
"""Where the questions come from, in turn (250 distinct single-turn ones: at the default 32 x 5, no
client asks another's)."""
Reply = tuple[str, list[str]]
"""An answer's text and cited paper ids."""
Asker = Callable[[str], Reply]


def load_questions(paths: list[Path], n: int) -> list[str]:
    """``n`` distinct single-turn dev questions, from the files in turn."""
    out: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row and not row.get("history") and row["question"] not in out:
                out.append(row["question"])
            if len(out) == n:
                return out
    return out


def ask(http: httpx.Client, url: str, question: str) -> Reply:
    """The answer's text and cited paper ids (raises on any HTTP error)."""
    body = {"model": "rag", "messages": [{"role": "user", "content": question}]}
    response = http.post(f"{url}/v1/chat/completions", json=body)
    response.raise_for_status()
    choice = response.json()["choices"][0]
    return choice["message"]["content"], [s["paper_id"] for s in choice["sources"]]


def http_client(url: str, headers: dict[str, str]) -> Callable[[], AbstractContextManager[Asker]]:
    """One ``/v1`` client per call (its own connection), as a context manager giving its ``Asker``."""

    @contextmanager
    def connect() -> Iterator[Asker]:
        with httpx.Client(headers=headers, timeout=120) as http:
            yield lambda question: ask(http, url, question)

    return connect


def pipeline_client(pipeline: Pipeline) -> Callable[[], AbstractContextManager[Asker]]:
    """The baseline's clients: ``Pipeline.ask`` with the configured answerer (what model ``rag`` asks for)."""

    @contextmanager
    def connect() -> Iterator[Asker]:
        def asker(question: str) -> Reply:
            answer = pipeline.ask(question)
            return answer.text, [c.paper.id for c in answer.citations]

        yield asker

    return connect


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def run_load(
    connect: Callable[[], AbstractContextManager[Asker]], plan: list[list[str]], expected: dict[str, Reply]
) -> dict[str, Any]:
    """Every client asks its questions in turn, all clients at once; latencies, errors, mismatches."""
    latencies: list[float] = []
    errors: list[str] = []
    mixed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def client(questions: list[str]) -> None:
        with connect() as asker:
            barrier.wait()
            for question in questions:
                started = time.perf_counter()
                try:
                    got = asker(question)
                except Exception as exc:  # counted and reported
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if got != expected[question]:
                        mixed.append(question)

    threads = [threading.Thread(target=client, args=(qs,)) for qs in plan]
    started, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"answers": len(latencies), "errors": errors, "mixed": mixed, "wall": wall, "latencies": latencies,
            "cpu": cpu}  # fmt: skip


def alone(asker: Asker, questions: list[str]) -> tuple[dict[str, Reply], list[float]]:
    """Each question asked once, one at a time: the reference answers and their seconds."""
    replies, seconds = {}, []
    for question in questions:
        started = time.perf_counter()
        replies[question] = asker(question)
        seconds.append(time.perf_counter() - started)
    return replies, seconds


def history_cost(rounds: int = 5) -> tuple[float, float]:
    """Median seconds of one extractive ``ask`` with no history and with a 1 MB history, in this process."""
    import rag

    question = "Which dataset is it evaluated on?"
    history = [{"role": "user", "content": "Is there a fast tokenizer for speech recognition?"},
               {"role": "assistant", "content": "Yes [1]. " + "a long answer " * 75_000}]
    rag.ask(question)  # warm
    plain, heavy = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        rag.ask(question, history[:1])
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        rag.ask(question, history)
        heavy.append(time.perf_counter() - t)
    return statistics.median(plain), statistics.median(heavy)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one path together: answers/s (median of the rounds), latencies, errors, mismatches."""
    return {
        "answers": sum(r["answers"] for r in results),
        "errors": [e for r in results for e in r["errors"]],
        "mixed": [m for r in results for m in r["mixed"]],
        "rate": statistics.median(r["answers"] / r["wall"] for r in results),
        "latencies": [t for r in results for t in r["latencies"]],
        "cpu": sum(r["cpu"] for r in results) / max(1, sum(r["answers"] for r in results)),
    }


def report(api: dict[str, Any], base: dict[str, Any], total: int, solo: list[float]) -> list[str]:
    """Markdown rows of both paths and the ratios /v1 / baseline."""
    lines = ["| path | answered | mixed up | errors | answers/s | p50 s | p95 s |", "|---|" + "---:|" * 6]
    for name, s in (("/v1 over HTTP", api), ("`Pipeline.ask` in this process (baseline)", base)):
        lat = s["latencies"]
        lines.append(f"| {name} | {s['answers']}/{total} | {len(s['mixed'])} | {len(s['errors'])} | {s['rate']:.1f} "
                     f"| {percentile(lat, 0.5):.3f} | {percentile(lat, 0.95):.3f} |")  # fmt: skip
    ratio = {q: percentile(api["latencies"], q) / percentile(base["latencies"], q) for q in (0.5, 0.95)}
    lines += [
        "",
        f"/v1 / baseline: answers/s {api['rate'] / base['rate']:.2f}x, p50 {ratio[0.5]:.2f}x, "
        f"p95 {ratio[0.95]:.2f}x; this load client's CPU {api['cpu'] * 1000:.1f} ms per /v1 answer; "
        f"one at a time through /v1 (the reference answers): p50 {statistics.median(solo):.3f} s",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--questions", type=int, default=5, help="questions per client (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both paths, alternating (default 2)")
    parser.add_argument("--dev", type=Path, nargs="+", default=[ROOT / "evals" / f"{name}.jsonl" for name in DEV_SETS])
    parser.add_argument("--history-cost", action="store_true", help="also time a 1 MB history in-process")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    key = os.environ.get("RAG_API_KEY")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    questions = load_questions(args.dev, args.clients * args.questions)
    if len(questions) < args.clients * args.questions:
        files = ", ".join(map(str, args.dev))
        print(f"only {len(questions)} distinct questions in {files}; some clients share them", file=sys.stderr)
    plan = [[questions[(c * args.questions + i) % len(questions)] for i in range(args.questions)]
            for c in range(args.clients)]  # fmt: skip
    distinct = list(dict.fromkeys(q for qs in plan for q in qs))
    with http_client(url, headers)() as asker:
        expected, solo = alone(asker, distinct)
    pipeline = Pipeline.open(Settings(), progress=False)
    with pipeline_client(pipeline)() as asker:  # warms it as the reference pass warmed the server
        differ = [q for q, reply in alone(asker, distinct)[0].items() if reply != expected[q]]
    if differ:
        print(f"{len(differ)} of {len(distinct)} answers differ between the server and Pipeline.ask on "
              f"{pipeline.settings.data_dir}: point RAG_DATA_DIR (and RAG_ settings) at the server's index",
              file=sys.stderr)  # fmt: skip
        return 1
    paths = {"api": http_client(url, headers), "base": pipeline_client(pipeline)}
    results: dict[str, list[dict[str, Any]]] = {"api": [], "base": []}
    for round_ in range(args.rounds):
        for name in ("api", "base") if round_ % 2 == 0 else ("base", "api"):
            results[name].append(run_load(paths[name], plan, expected))
    api, base = summary(results["api"]), summary(results["base"])
    print(f"{args.clients} concurrent clients x {args.questions} questions, {args.rounds} rounds (each path's "
          f"order alternating); {pipeline.settings.data_dir}\n")  # fmt: skip
    print("\n".join(report(api, base, args.clients * args.questions * args.rounds, solo)))
    for error in (api["errors"] + base["errors"])[:5]:
        print(f"  error: {error}")
    if args.history_cost:
        plain, heavy = history_cost()
        print(f"1 MB history: extractive ask {heavy * 1000:.1f} ms vs {plain * 1000:.1f} ms with one short turn "
              f"(+{(heavy - plain) * 1000:.1f} ms)")
    failed = api["errors"] or api["mixed"] or base["errors"] or base["mixed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
