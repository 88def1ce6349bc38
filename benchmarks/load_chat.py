"""Load test of the chat UI: N simultaneous chats against a running app, through the Gradio API.

    python app.py --port 7860 &                      # on the real index
    python benchmarks/load_chat.py --url http://127.0.0.1:7860/ --chats 16 --rounds 3

Each chat is its own Gradio session (own history and source state) asking a different question from the dev
set. Every answer is checked: it completes, it cites its own question's gold paper, its sources panel is
about its own question, and its text equals the answer the same question got when asked alone (so no answer
is mixed up with another chat's). The baseline is measured in the same run against the same app: the same
questions asked one at a time, ``--rounds`` times. Prints p50/p95 of both and the ratio of the p95s (the goal:
at most ``--max-ratio``, 3x); exits 1 if any check fails or the ratio is above the goal.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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


CLIENT = "http"
HEADERS: dict[str, str] = {}
"""``Authorization: Bearer KEY`` with ``--key`` (a server started with ``RAG_API_KEY``)."""


def connect(url: str) -> Any:
    """One chat's connection, made before timing: an ``httpx.Client`` for the call API (default), or with
    ``--client gradio`` a ``gradio_client.Client`` (one session with its own state; it fetches the app config)."""
    if CLIENT == "http":
        return httpx.Client(timeout=120, headers=HEADERS)
    from gradio_client import Client

    return Client(url, verbose=False, headers=HEADERS or None)


def predict_http(url: str, question: str, k: int, http: Any) -> tuple[Any, ...]:
    """Gradio's HTTP call API (``POST /gradio_api/call/chat``, then its SSE stream): each call is a new session.
    Much lighter than ``gradio_client``, whose own CPU use on a 2-core machine dominated the measurement."""
    base = url.rstrip("/")
    # the chat's API inputs: message, k, answerer, then the filters since, until, author, category (none)
    posted = http.post(f"{base}/gradio_api/call/chat", json={"data": [question, k, "extractive", None, None, "", []]})
    if posted.status_code != 200:
        raise RuntimeError(f"the app refused the call ({posted.status_code}: {posted.text[:200]}); with RAG_API_KEY "
                           "set, pass --key")
    event = posted.json()["event_id"]
    kind, data = "", ""
    with http.stream("GET", f"{base}/gradio_api/call/chat/{event}") as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                data = line[5:].strip()
                break
    if kind != "complete":
        raise RuntimeError(f"the app answered {kind!r}: {data[:300]}")
    return tuple(json.loads(data))


def ask(url: str, question: str, k: int, client: Any = None) -> Result:
    """One answer. ``client``: a ``gradio_client.Client`` (one session) or an ``httpx.Client`` (call API)."""
    started = time.perf_counter()
    try:
        client = client or connect(url)
        started = time.perf_counter()
        if isinstance(client, httpx.Client):
            _, chat, panel = predict_http(url, question, k, client)[:3]  # then the two session states
        else:
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
    parser.add_argument("--chats", type=int, default=16, help="simultaneous chats (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of simultaneous chats (default 3)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=3.0, help="goal: p95 under load / p95 alone (default 3)")
    parser.add_argument("--questions", type=Path, default=ROOT / "evals" / "dev.jsonl")
    parser.add_argument(
        "--client", choices=["http", "gradio"], default="http", help="HTTP call API (default) or gradio_client"
    )
    parser.add_argument("--key", default=None, help="the server's RAG_API_KEY, when it has one")
    args = parser.parse_args(argv)
    global CLIENT
    CLIENT = args.client
    if args.key:
        HEADERS["Authorization"] = f"Bearer {args.key}"

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
    alone: list[float] = []
    for round_ in range(args.rounds):  # the baseline: one chat at a time, as many answers as under load
        for question, _ in chosen:
            result = ask(args.url, question, args.k, connect(args.url))
            if result.error or result.text != baseline[question].text:
                print(f"baseline round {round_}: {question!r} failed or changed: {result.error}", file=sys.stderr)
                return 1
            alone.append(result.seconds)
    alone_p50, alone_p95 = percentile(alone, 0.5), percentile(alone, 0.95)
    print(
        f"{len(chosen)} questions, one chat at a time: {len(alone)} answers, p50 {alone_p50:.3f}s, p95 {alone_p95:.3f}s"
    )

    latencies: list[float] = []
    failures: list[str] = []
    wall = 0.0
    client_cpu = time.process_time()
    for round_ in range(args.rounds):
        results: list[Result | None] = [None] * len(chosen)
        barrier = threading.Barrier(len(chosen))
        sessions = [connect(args.url) for _ in chosen]  # all chats open before any question is sent

        def run(i: int, question: str, barrier: threading.Barrier, results: list[Result | None], session: Any) -> None:
            barrier.wait()  # all chats send at the same moment
            results[i] = ask(args.url, question, args.k, session)

        threads = [
            threading.Thread(target=run, args=(i, q, barrier, results, sessions[i])) for i, (q, _) in enumerate(chosen)
        ]
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

    client_cpu = time.process_time() - client_cpu
    n = len(latencies)
    p95 = percentile(latencies, 0.95)
    ratio = p95 / alone_p95 if alone_p95 else float("nan")
    print(
        f"{args.rounds} rounds x {len(chosen)} simultaneous chats: {n} answers, "
        f"p50 {percentile(latencies, 0.5):.3f}s, p95 {p95:.3f}s, "
        f"max {max(latencies, default=float('nan')):.3f}s, "
        f"throughput {n / wall if wall else 0:.2f} answers/s; this client's CPU {client_cpu / max(n, 1):.3f}s/answer "
        "(it shares the machine with the app)"
    )
    print(
        f"p95 under load / p95 alone: {ratio:.2f}x (goal <= {args.max_ratio:g}x); "
        f"p50 under load / p50 alone: {percentile(latencies, 0.5) / alone_p50:.2f}x"
    )
    if failures:
        print(f"{len(failures)} FAILED checks:", *failures, sep="\n  ")
        return 1
    print("all answers complete, cite their own question's gold paper, and match their single-chat answers")
    if not ratio <= args.max_ratio:
        print(f"p95 ratio {ratio:.2f}x is above the goal of {args.max_ratio:g}x")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
