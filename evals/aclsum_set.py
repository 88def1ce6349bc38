"""An outside eval set from ACLSum's test split (100 ACL papers no fitting reads): a corpus of their titles and
abstracts, and questions about each paper made from its annotators' summaries.

    python -m evals.aclsum_set --out evals/aclsum/     # writes corpus.jsonl and test.jsonl there
    RAG_DATA_DIR=/tmp/aclsum-idx RAG_CORPUS_PATHS='["evals/aclsum/corpus.jsonl"]' rag ingest
    RAG_DATA_DIR=/tmp/aclsum-idx RAG_CORPUS_PATHS='["evals/aclsum/corpus.jsonl"]' \\
        rag eval --set evals/aclsum/test.jsonl --out /tmp/aclsum-out

Answerable items (type ``lookup``, gold = the paper), one per aspect an abstract sentence is labelled with:
"What problem does "<title>" address?" (challenge), "How does "<title>" work?" (approach), "What did "<title>"
find?" (outcome). The reference answer is the annotators' summary of that aspect; the key facts (one per
labelled sentence, the two that share most words with the summary) are the 5-12 word stretch of the sentence
that shares most content words with the summary, so each is verbatim in the abstract and passes the key-fact
check (``evals.check_devset.check_items`` runs before anything is written). Unanswerable items: near misses
(a real paper, a detail its abstract does not state: hardware, size, licence, training time, ...; the
template is skipped for a paper whose abstract mentions the subject) and questions on topics none of the 100
abstracts mention (checked by their key terms).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.aclsum_data import ASPECTS, LabelledPaper, load_split
from evals.check_devset import check_items
from rag.evals.evalset import NOT_IN_CORPUS, EvalItem, LoadedItem
from rag.index.corpus import dedupe, parse_jsonl
from rag.text import STOPWORDS, content_words

QUESTIONS = {
    "challenge": 'What problem does "{title}" address?',
    "approach": 'How does "{title}" work?',
    "outcome": 'What did "{title}" find?',
}
NEAR_MISSES = (
    ('Which GPU was "{title}" run on?', r"gpu|tpu|hardware"),
    ('How many parameters does the model of "{title}" have?', r"parameter|million|billion"),
    ('Under which licence is the code of "{title}" released?', r"licen[cs]e|github|code|open.source"),
    ('How many hours does training take in "{title}"?', r"hour|day|minute|training time|fast|speed"),
    ('Which programming language is "{title}" implemented in?', r"python|java|c\+\+|implement|toolkit"),
    ('How much did the annotation for "{title}" cost in dollars?', r"\$|dollar|cost|budget|crowd"),
)
NEAR_MISS_ITEMS = 30
OFF_TOPIC = (
    ("Which protein structure prediction model reaches atomic accuracy?", ("protein",)),
    ("How do diffusion models generate images from text prompts?", ("diffusion", "image")),
    ("Which reward shaping helps robots learn to grasp objects?", ("robot", "grasp")),
    ("Which graph neural network predicts molecular properties best?", ("molecul", "graph neural")),
    ("How accurate are transformers at forecasting stock prices?", ("stock", "forecast")),
    ("Which dataset is used to train perception for autonomous driving?", ("driving", "autonomous")),
    ("How do quantum circuits speed up neural network training?", ("quantum",)),
    ("Which loss function improves tumour segmentation in MRI scans?", ("segmentation", "mri", "tumo")),
    ("How is federated learning protected against poisoning attacks?", ("federated", "poison")),
    ("What speed-up does FlashAttention give on H100 GPUs?", ("flashattention", "h100")),
    ("Which reinforcement learning agent mastered the game of Go?", ("reinforcement", " go ")),
    ("How well do vision transformers classify ImageNet images?", ("imagenet", "vision transformer")),
)
PHRASE_WORDS = (5, 12)
FACTS_PER_ITEM = 2


def _edge_ok(token: str) -> bool:
    word = token.strip(".,;:()\"'").lower()
    return bool(word) and word not in STOPWORDS


def key_phrase(sentence: str, summary: str) -> str | None:
    """The stretch of ``PHRASE_WORDS`` words of ``sentence`` sharing most content words with ``summary`` (then
    the one with most content words, the shortest, the earliest); it starts and ends on a content word, keeps
    its brackets balanced and holds at least three content words. None when no stretch qualifies."""
    tokens = sentence.split()
    target = content_words(summary)
    best: tuple[tuple[int, int, int, int], str] | None = None
    low, high = PHRASE_WORDS
    for i in range(len(tokens)):
        for j in range(i + low, min(i + high, len(tokens)) + 1):
            if not (_edge_ok(tokens[i]) and _edge_ok(tokens[j - 1])):
                continue
            text = " ".join(tokens[i:j]).strip(".,;:")
            words = content_words(text)
            if len(words) < 3 or text.count("(") != text.count(")") or text.count('"') % 2:
                continue
            key = (len(words & target), len(words), -(j - i), -i)
            if best is None or key > best[0]:
                best = (key, text)
    return best[1] if best else None


def answerable_items(paper: LabelledPaper) -> list[dict[str, Any]]:
    """One lookup item per aspect some abstract sentence of ``paper`` is labelled with."""
    items = []
    for aspect in ASPECTS:
        summary = paper.summaries[aspect]
        labelled = [s.text for s in paper.sections["abstract"] if aspect in s.roles]
        ranked = sorted(labelled, key=lambda s: -len(content_words(s) & content_words(summary)))
        facts = [f for f in (key_phrase(s, summary) for s in ranked[:FACTS_PER_ITEM]) if f]
        facts = facts[:1] + [f for f in facts[1:] if len(content_words(f) & content_words(summary)) >= 2]
        if facts:
            question = QUESTIONS[aspect].format(title=paper.title)
            items.append(_item(f"aclsum-{paper.id}-{aspect}", question, "lookup", [paper.title], summary, facts))
    return items


def _rank(key: str) -> str:
    return hashlib.sha256(f"aclsum-set:{key}".encode()).hexdigest()


def unanswerable_items(papers: Sequence[LabelledPaper]) -> list[dict[str, Any]]:
    """Near misses on ``NEAR_MISS_ITEMS`` papers (chosen by a seeded hash of their id, templates in turn) and
    the off-topic questions whose key terms no abstract holds."""
    items = []
    for k, paper in enumerate(sorted(papers, key=lambda p: _rank(p.id))):
        if len(items) == NEAR_MISS_ITEMS:
            break
        template, subject = NEAR_MISSES[k % len(NEAR_MISSES)]
        if re.search(subject, paper.abstract, re.IGNORECASE):
            continue
        question = template.format(title=paper.title)
        items.append(_item(f"aclsum-nearmiss-{paper.id}", question, "unanswerable", [], NOT_IN_CORPUS, []))
    texts = " ".join(f" {p.title} {p.abstract} " for p in papers).lower()
    for k, (question, terms) in enumerate(OFF_TOPIC, start=1):
        if not any(t in texts for t in terms):
            items.append(_item(f"aclsum-offtopic-{k:02d}", question, "unanswerable", [], NOT_IN_CORPUS, []))
    return items


def _item(item_id: str, question: str, kind: str, gold: list[str], answer: str, facts: list[str]) -> dict[str, Any]:
    data = {"id": item_id, "question": question, "type": kind, "gold_titles": gold, "answer": answer,
            "key_facts": facts, "history": []}  # fmt: skip
    EvalItem.model_validate(data)
    return data


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("evals/aclsum"), help="folder for corpus.jsonl, test.jsonl")
    parser.add_argument("--split", choices=["test", "val", "train"], default="test",
                        help="test: the committed outside set; val/train: questions to fit on (never committed)")
    args = parser.parse_args(argv)
    papers = load_split(args.split)
    items = [item for paper in papers for item in answerable_items(paper)] + unanswerable_items(papers)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = args.out / "corpus.jsonl"
    write_jsonl(corpus, [{"title": p.title, "abstract": p.abstract, "acl_id": p.id} for p in papers])
    loaded = [LoadedItem(EvalItem.model_validate(i), args.split, f"item {i['id']}") for i in items]
    problems, _warnings = check_items(loaded, dedupe(parse_jsonl(corpus)), min_per_type=0)
    if problems:
        print("\n".join(problems))
        return 1
    write_jsonl(args.out / f"{args.split}.jsonl", items)
    kinds = {k: sum(1 for i in items if i["id"].startswith(f"aclsum-{k}")) for k in ("nearmiss", "offtopic")}
    print(f"{len(papers)} papers -> {corpus}; {len(items)} items -> {args.out / (args.split + '.jsonl')} "
          f"({len(items) - sum(kinds.values())} lookups, {kinds['nearmiss']} near misses, "
          f"{kinds['offtopic']} off-topic)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
