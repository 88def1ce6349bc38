"""Load test of the chat UI: N simultaneous chats against a running app, through the Gradio API.

    python app.py --port 7860 &                      # on the real index
    python benchmarks/load_chat.py --url http://127.0.0.1:7860/ --chats 8 --rounds 3

Each chat is its own Gradio session (own history and source state) asking a different question from the dev
set. Every answer is checked: it completes, it cites its own question's gold paper, its sources panel is
about its own question, and its text equals the answer the same question got when asked alone (so no answer
is mixed up with another chat's). Prints p50/p95 latency; exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_CITED_TITLE = re.compile(r'<article class="src-card" data-turn="\d+"[^>]*>.*?<h4 class="src-title">(.*?)</h4>', re.S)
_QUESTION = re.compile(r'<section class="src-turn active" data-turn="\d+"><div class="src-q">Sources for “(.*?)”</div>')
_TAGS = re.compile(r"<[^>]+>")


@dataclass
class Result:
    question: str
    seconds: float
    text: str = ""
    cited: list[str] = field(default_factory=list)
    panel_question: str | None = None
    error: str | None = None


def load_questions(path: Path, n: int) -> list[tuple[str, list[str]]]:
    """Single-turn dev questions with gold titles, one per gold paper."""
    out: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        gold = row.get("gold_titles") or []
        if row.get("history") or not gold or gold[0] in seen:
            continue
        seen.add(gold[0])
        out.append((row["question"], list(gold)))
        if len(out) >= n * 3:
            break
    return out


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return html.unescape(_TAGS.sub("", str(content or "")))


def ask(url: str, question: str, k: int) -> Result:
    from gradio_client import Client

    started = time.perf_counter()
    try:
        client = Client(url, verbose=False)  # one client = one session with its own chat state
        started = time.perf_counter()
        _, chat, panel = client.predict(question, k, "extractive", api_name="/chat")
    except Exception as exc:  # report, do not crash the whole run
        return Result(question, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    assistant = [m for m in chat if m.get("role") == "assistant"]
    match = _QUESTION.search(panel)
    return Result(
        question,
        seconds,
        text=_text(assistant[-1]) if assistant else "",
        cited=[html.unescape(t) for t in _CITED_TITLE.findall(panel)],
        panel_question=html.unescape(match.group(1)) if match else None,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--chats", type=int, default=8, help="simultaneous chats (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of simultaneous chats (default 3)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--questions", type=Path, default=ROOT / "evals" / "dev.jsonl")
    args = parser.parse_args(argv)

    candidates = load_questions(args.questions, args.chats)
    # Baseline: each question alone. Keep questions whose answer cites their gold paper.
    baseline: dict[str, Result] = {}
    chosen: list[tuple[str, list[str]]] = []
    for question, gold in candidates:
        result = ask(args.url, question, args.k)
        if result.error:
            print(f"baseline failed: {result.error}", file=sys.stderr)
            return 1
        if any(g in result.cited for g in gold):
            baseline[question] = result
            chosen.append((question, gold))
        if len(chosen) == args.chats:
            break
    if len(chosen) < args.chats:
        print(f"only {len(chosen)} dev questions cite their gold paper when asked alone", file=sys.stderr)
    alone = [baseline[q].seconds for q, _ in chosen]
    print(f"{len(chosen)} questions; one at a time: p50 {percentile(alone, 0.5):.2f}s")

    latencies: list[float] = []
    failures: list[str] = []
    wall = 0.0
    for round_ in range(args.rounds):
        results: list[Result | None] = [None] * len(chosen)
        barrier = threading.Barrier(len(chosen))

        def run(i: int, question: str, barrier: threading.Barrier, results: list[Result | None]) -> None:
            barrier.wait()  # all chats send at the same moment
            results[i] = ask(args.url, question, args.k)

        threads = [threading.Thread(target=run, args=(i, q, barrier, results)) for i, (q, _) in enumerate(chosen)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall += time.perf_counter() - t0
        for (question, gold), maybe in zip(chosen, results, strict=True):
            result = maybe or Result(question, 0.0, error="no result")
            if result.error:
                failures.append(f"round {round_}: {question!r}: {result.error}")
                continue
            latencies.append(result.seconds)
            if not any(g in result.cited for g in gold):
                failures.append(f"round {round_}: {question!r} cites {result.cited}, not its gold paper {gold}")
            if result.panel_question != question:
                failures.append(f"round {round_}: {question!r} got the sources panel of {result.panel_question!r}")
            if result.text != baseline[question].text:
                failures.append(f"round {round_}: {question!r} got a different answer than when asked alone")

    n = len(latencies)
    mean = statistics.fmean(latencies) if n else float("nan")
    print(
        f"{args.rounds} rounds x {len(chosen)} simultaneous chats: {n} answers, "
        f"p50 {percentile(latencies, 0.5):.2f}s, p95 {percentile(latencies, 0.95):.2f}s, "
        f"max {max(latencies, default=float('nan')):.2f}s, mean {mean:.2f}s, "
        f"throughput {n / wall if wall else 0:.2f} answers/s"
    )
    if failures:
        print(f"{len(failures)} FAILED checks:", *failures, sep="\n  ")
        return 1
    print("all answers complete, cite their own question's gold paper, and match their single-chat answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
