"""Load test of the OpenAI-compatible API: N concurrent ``/v1`` clients, each asking M dev questions in turn.

    RAG_API_KEY=secret python app.py --port 7860 &          # on the real index
    RAG_API_KEY=secret python benchmarks/load_api.py --url http://127.0.0.1:7860 --clients 32 --questions 5

Every client asks its own questions (different ones from the dev set, so answers cannot be confused). Each
answer is checked against the answer the same question got when asked alone before the load (same text, same
sources): none may be mixed up with another client's. Prints answers/s, p50/p95 latency and the error count;
exits 1 on any error or mismatch. ``--history-cost`` also measures, in this process on ``RAG_DATA_DIR``'s
index, what a 1 MB history adds to one ``rag.ask`` (the pipeline reads only its last turns).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def load_questions(path: Path, n: int) -> list[str]:
    """``n`` distinct single-turn dev questions."""
    out: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        if row and not row.get("history") and row["question"] not in out:
            out.append(row["question"])
        if len(out) == n:
            break
    return out


def ask(http: httpx.Client, url: str, question: str) -> tuple[str, list[str]]:
    """The answer's text and cited paper ids (raises on any HTTP error)."""
    body = {"model": "rag", "messages": [{"role": "user", "content": question}]}
    response = http.post(f"{url}/v1/chat/completions", json=body)
    response.raise_for_status()
    choice = response.json()["choices"][0]
    return choice["message"]["content"], [s["paper_id"] for s in choice["sources"]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_load(url: str, plan: list[list[str]], expected: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """Every client asks its questions in turn, all clients at once; latencies, errors, mismatches."""
    latencies: list[float] = []
    errors: list[str] = []
    mixed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def client(questions: list[str]) -> None:
        with httpx.Client(headers=headers, timeout=120) as http:
            barrier.wait()
            for question in questions:
                started = time.perf_counter()
                try:
                    got = ask(http, url, question)
                except Exception as exc:  # counted and reported
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if got != expected[question]:
                        mixed.append(question)

    threads = [threading.Thread(target=client, args=(qs,)) for qs in plan]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"answers": len(latencies), "errors": errors, "mixed": mixed, "wall": wall, "latencies": latencies}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--questions", type=int, default=5, help="questions per client (default 5)")
    parser.add_argument("--dev", type=Path, default=ROOT / "evals" / "dev.jsonl")
    parser.add_argument("--history-cost", action="store_true", help="also time a 1 MB history in-process")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    key = os.environ.get("RAG_API_KEY")
    headers = {"authorization": f"Bearer {key}"} if key else {}
    questions = load_questions(args.dev, args.clients * args.questions)
    if len(questions) < args.clients * args.questions:
        print(f"only {len(questions)} distinct questions in {args.dev}; some clients share them", file=sys.stderr)
    plan = [[questions[(c * args.questions + i) % len(questions)] for i in range(args.questions)]
            for c in range(args.clients)]
    with httpx.Client(headers=headers, timeout=120) as http:
        expected = {q: ask(http, url, q) for q in dict.fromkeys(q for qs in plan for q in qs)}
    result = run_load(url, plan, expected, headers)
    lat = result["latencies"]
    total = args.clients * args.questions
    print(f"{args.clients} concurrent /v1 clients x {args.questions} questions: {result['answers']}/{total} "
          f"answered, {len(result['mixed'])} mixed up, {len(result['errors'])} errors; "
          f"{result['answers'] / result['wall']:.1f} answers/s; p50 {statistics.median(lat):.3f} s, "
          f"p95 {percentile(lat, 0.95):.3f} s")
    for error in result["errors"][:5]:
        print(f"  error: {error}")
    if args.history_cost:
        plain, heavy = history_cost()
        print(f"1 MB history: extractive ask {heavy * 1000:.1f} ms vs {plain * 1000:.1f} ms with one short turn "
              f"(+{(heavy - plain) * 1000:.1f} ms)")
    return 1 if result["errors"] or result["mixed"] else 0


if __name__ == "__main__":
    sys.exit(main())
