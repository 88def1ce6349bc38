"""Synthetic training questions made from the corpus itself (no LLM), deterministic for a seed.

Kinds, one function each: ``sentence`` (an abstract sentence with words dropped, clauses swapped, and
words replaced by corpus-mined acronym expansions or hand-listed ML synonyms found in the corpus, turned
into a question), ``keyphrase`` (two phrases that only this abstract contains), ``title`` ("what is
<Name>?", the title reworded), ``numeric`` (a number of a sentence, asked for; the key fact holds it),
``multi`` (a term shared by 2-6 abstracts; gold = every paper containing it) and ``followup`` (a history
turn about a paper, then a pronoun question about it). Every positive also yields a leave-one-out
unanswerable (``evals/loo.py``): the same question with its gold papers hidden must be refused.

Records follow the eval-set schema (``evals/README.md``) plus ``kind`` and ``gold_ids``. The output
is not committed: it regenerates in about a second; fitting code calls ``generate``.

    python -m evals.synth [--seed 0] [--out evals/synth/train.jsonl] [--sample 30]
    python -m evals.synth_baseline --data-dir /tmp/index-copy --n 300     # the current system on them
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.loo import FIT_PATH, load_fit_items, loo_records
from evals.synth_rewrite import Writer, strip_discourse, to_question
from evals.synth_text import Text
from rag.index.corpus import load_papers
from rag.settings import BUNDLED_CORPUS
from rag.types import Paper

OUT = Path(__file__).resolve().parent / "synth" / "train.jsonl"
SIZES = {"sentence": 450, "keyphrase": 200, "title": 250, "numeric": 150, "multi": 250, "followup": 200}
KIND_TYPES = {
    "sentence": "paraphrase", "keyphrase": "lookup", "title": "lookup",
    "numeric": "lookup", "multi": "multi", "followup": "followup",
}
Record = dict[str, Any]


def record(kind: str, question: str, papers: list[Paper], answer: str, key_facts: list[str],
           history: list[dict[str, str]] | None = None) -> Record:
    """One positive in the eval-set schema, plus ``kind`` and ``gold_ids`` (id assigned later)."""
    return {
        "id": "", "kind": kind, "type": KIND_TYPES[kind], "question": question,
        "gold_titles": [p.title for p in papers], "gold_ids": [p.id for p in papers],
        "answer": answer, "key_facts": key_facts, "history": history or [],
    }


def sentence_questions(w: Writer, rng: random.Random, n: int) -> list[Record]:
    """Specific abstract sentences, perturbed (drop / swap / substitute), turned into questions."""
    pool = [(p, s) for p in w.text.papers for s in w.text.sentences(p) if w.text.is_specific(p, s)]
    out = []
    for paper, sentence in rng.sample(pool, min(n, len(pool))):
        body = strip_discourse(sentence)
        perturbed = w.perturb(body, rng)
        out.append(record("sentence", to_question(perturbed, rng), [paper], sentence, [w.key_fact(sentence)]))
    return out


KEYPHRASE_TEMPLATES = (
    "{a} and {b}", "papers on {a} with {b}", "What is known about {a} in the context of {b}?",
    "Which work combines {a} and {b}?", "{a} for {b}",
)


def keyphrase_questions(w: Writer, rng: random.Random, n: int) -> list[Record]:
    """Two keyphrases of one abstract that no other abstract contains (so the gold is exact)."""
    out = []
    papers = [p for p in w.text.papers if len(w.text.unique_phrases(p)) >= 2]
    for paper in rng.sample(papers, min(n, len(papers))):
        a, b = rng.sample(w.text.unique_phrases(paper)[:6], 2)
        question = rng.choice(KEYPHRASE_TEMPLATES).format(a=a, b=b)
        out.append(record("keyphrase", question, [paper], paper.abstract.split(". ")[0], [a, b]))
    return out


NAME_TEMPLATES = ("What is {n}?", "What does {n} do?", "How does {n} work?", "What problem does {n} address?")
TITLE_TEMPLATES = ("Which paper is about {t}?", "Is there a paper on {t}?", "Find work on {t}.", "{t}")


def title_questions(w: Writer, rng: random.Random, n: int) -> list[Record]:
    """"What is <Name>?" for coined names only one paper uses, and the title reworded."""
    out = []
    for paper in rng.sample(w.text.papers, min(n, len(w.text.papers))):
        name = w.text.name(paper)
        first = w.text.sentences(paper)[0]
        if name is not None and rng.random() < 0.5:
            out.append(record("title", rng.choice(NAME_TEMPLATES).format(n=name), [paper], first, [name]))
        else:
            topic = w.perturb(w.text.topic(paper), rng, reorder=False)
            out.append(record("title", rng.choice(TITLE_TEMPLATES).format(t=topic), [paper], first, []))
    return out


def numeric_questions(w: Writer, rng: random.Random, n: int) -> list[Record]:
    """A question about one number of a sentence; the key fact is the phrase around it, verbatim."""
    pool = [(p, s, f) for p in w.text.papers for s in w.text.sentences(p) for f in w.number_facts(p, s)]
    out = []
    for paper, sentence, fact in rng.sample(pool, min(n, len(pool))):
        out.append(record("numeric", fact.question(rng), [paper], sentence, [fact.phrase]))
    return out


MULTI_TEMPLATES = (
    "Which papers discuss {t}?", "What work is there on {t}?", "List the papers that mention {t}.",
    "Which methods involve {t}?", "Compare the papers on {t}.", "papers about {t}",
)


def multi_questions(w: Writer, rng: random.Random, n: int) -> list[Record]:
    """A term that 2-6 abstracts share; the gold is every paper whose title or abstract contains it."""
    terms = w.text.shared_terms(2, 6)
    out = []
    for term in rng.sample(terms, min(n, len(terms))):
        papers = w.text.containing(term)
        surface = w.text.surface(term)
        question = rng.choice(MULTI_TEMPLATES).format(t=surface)
        out.append(record("multi", question, papers, f"Papers on {surface}: " + "; ".join(p.title for p in papers),
                          [surface]))
    return out


FOLLOW_TEMPLATES = (
    "What do they say about {k}?", "What does it find about {k}?", "And what about {k} in that work?",
    "Does it also cover {k}?", "What role does {k} play in it?",
)


def followup_questions(w: Writer, rng: random.Random, n: int) -> list[Record]:
    """A history turn about paper P (its name or topic), then a pronoun follow-up whose gold is P."""
    out = []
    papers = [p for p in w.text.papers if w.text.unique_phrases(p) and len(w.text.sentences(p)) >= 2]
    for paper in rng.sample(papers, min(n, len(papers))):
        name = w.text.name(paper)
        first = w.text.sentences(paper)[0]
        ask = f"What is {name}?" if name is not None else f"Is there a paper on {w.text.topic(paper)}?"
        history = [{"role": "user", "content": ask}, {"role": "assistant", "content": f"{paper.title}: {first}"}]
        facts = [f for s in w.text.sentences(paper)[1:] for f in w.number_facts(paper, s)]
        if facts and rng.random() < 0.4:
            fact = rng.choice(facts)
            question, key, answer = fact.question(rng, pronoun=True), fact.phrase, fact.sentence
        else:
            key = rng.choice(w.text.unique_phrases(paper)[:4])
            question = rng.choice(FOLLOW_TEMPLATES).format(k=key)
            answer = next((s for s in w.text.sentences(paper) if key.lower() in s.lower()), first)
        out.append(record("followup", question, [paper], answer, [key], history))
    return out


KINDS: dict[str, Callable[[Writer, random.Random, int], list[Record]]] = {
    "sentence": sentence_questions, "keyphrase": keyphrase_questions, "title": title_questions,
    "numeric": numeric_questions, "multi": multi_questions, "followup": followup_questions,
}


def kind_rng(seed: int, kind: str) -> random.Random:
    """A generator per kind (stable across runs: no ``hash()``), so one kind's size never shifts another."""
    return random.Random(seed * 1_000_003 + zlib.crc32(kind.encode()))


def generate(papers: list[Paper], seed: int = 0, sizes: dict[str, int] | None = None,
             fit_items: list[Record] | None = None, text: Text | None = None) -> list[Record]:
    """Positives of every kind, then one leave-one-out unanswerable per positive and per fit item.
    ``text``: the corpus already analysed (``Text(papers)``), to reuse between calls."""
    writer = Writer(text or Text(papers))
    positives: list[Record] = []
    for kind, make in KINDS.items():
        made = make(writer, kind_rng(seed, kind), (sizes or SIZES).get(kind, 0))
        seen: set[str] = set()
        for item in made:
            if item["question"].lower() not in seen:
                seen.add(item["question"].lower())
                item["id"] = f"synth-{kind}-{len(seen):04d}"
                positives.append(item)
    return positives + loo_records([*positives, *(fit_items or [])])


def counts(records: list[Record]) -> Counter[str]:
    return Counter(r["kind"] for r in records)


def write_jsonl(records: list[Record], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--fit", type=Path, default=FIT_PATH, help="hand-written fitting items (loo source)")
    parser.add_argument("--sample", type=int, default=0, help="print this many random positives to read")
    args = parser.parse_args(argv)
    papers = load_papers([BUNDLED_CORPUS])
    records = generate(papers, args.seed, fit_items=load_fit_items(args.fit, papers))
    write_jsonl(records, args.out)
    for kind, count in sorted(counts(records).items()):
        print(f"{kind:10s} {count:5d}")
    print(f"{'total':10s} {len(records):5d}  -> {args.out}")
    positives = [r for r in records if r["kind"] != "loo"]
    for r in random.Random(args.seed).sample(positives, min(args.sample, len(positives))):
        print(f"\n[{r['kind']}] {r['question']}\n    gold: {' | '.join(r['gold_titles'])}")


if __name__ == "__main__":
    main()
