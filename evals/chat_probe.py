"""Three-turn chats with the system's own answers: does the third turn stay on the paper and say what is missing?

The eval sets' chats carry hand-written histories (no ``[n]`` markers), so the rules that follow a pointer at a
cited source ("it", "the first one") are not reached by ``rag eval``. This probe plays the chats a user of the UI
has: a single-turn answerable question of an eval set, a fixed follow-up (``--turn2``), then each ``--turn3``
question, every answer fed back with its markers. It reports, per third-turn question, how often the answer still
cites the first turn's paper first, and how often it says the abstract does not state the asked detail (a paper's
licence or parameter count is rarely in its abstract, so "not stated" is the expected answer there).

    HF_HUB_OFFLINE=1 python -m evals.chat_probe [--set evals/dev_fit.jsonl] [--n 45]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rag import default_pipeline
from rag.answer.base import ABSTENTION
from rag.evals.facts import says_not_stated
from rag.pipeline import Pipeline
from rag.types import Answer

TURN2 = "what datasets did they use?"
TURN3 = ("what license is it under?", "how many parameters does it have?", "does it need extra training?")


def first_questions(path: Path, n: int) -> list[str]:
    """The first ``n`` single-turn answerable lookup or paraphrase questions of an eval set."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [i["question"] for i in items if not i.get("history") and i.get("gold_titles")
            and i.get("type") in ("lookup", "paraphrase")]
    return keep[:n]


def _turn(pipeline: Pipeline, question: str, history: list[dict[str, str]]) -> tuple[Answer, list[dict[str, str]]]:
    answer = pipeline.ask(question, history, answerer="extractive")
    return answer, [*history, {"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def probe(pipeline: Pipeline, questions: Sequence[str], turn2: str, turn3: Sequence[str]) -> dict[str, list[int]]:
    """Per third-turn question: [chats, on the first paper, "not stated", refused]. A chat counts when its first
    two turns are answered from the same first paper."""
    tally = {q: [0, 0, 0, 0] for q in turn3}
    for n, question in enumerate(questions, 1):
        first, history = _turn(pipeline, question, [])
        second, history = _turn(pipeline, turn2, history) if first.citations else (first, history)
        paper = first.citations[0].paper.id if first.citations else None
        if paper is None or not second.citations or second.citations[0].paper.id != paper:
            continue
        for q in turn3:
            third, _ = _turn(pipeline, q, history)
            row = tally[q]
            row[0] += 1
            row[1] += bool(third.citations) and third.citations[0].paper.id == paper
            row[2] += says_not_stated(third.text)
            row[3] += third.text.startswith(ABSTENTION)
        print(f"\r{n}/{len(questions)} first questions", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return tally


def report(tally: dict[str, list[int]]) -> str:
    lines = ["| third turn | chats | on the first paper | \"not stated\" | refused |", "|---|---:|---:|---:|---:|"]
    for q, (chats, same, missing, refused) in tally.items():
        lines.append(f"| {q} | {chats} | {same} | {missing} | {refused} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=Path("evals/dev_fit.jsonl"), help="where the first turns come from")
    parser.add_argument("--n", type=int, default=45, help="how many first questions")
    parser.add_argument("--turn2", default=TURN2)
    parser.add_argument("--turn3", nargs="+", default=list(TURN3))
    args = parser.parse_args(argv)
    print(report(probe(default_pipeline(), first_questions(args.set, args.n), args.turn2, args.turn3)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
