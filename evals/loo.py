"""Leave-one-out unanswerables: any answerable question, asked with its gold paper(s) hidden from the
index, must be refused.

``loo_records`` turns positives (synthetic ones, and the hand-written fitting items of
``evals/dev_fit.jsonl``; never the validation file) into ``{"kind": "loo", "hidden_ids": [...],
"answer": "NOT_IN_CORPUS", ...}`` records. ``hide`` removes the hidden papers from a ranked list of
hits, candidates or ids. Fitting code should hide them from the first-stage candidate list *before*
featurising and reranking (``retrieve_hidden``), so that list-relative features and the abstention
features (top score, margin over the second) are those of an index without the papers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rag.errors import RagError
from rag.text import normalize_title
from rag.types import Paper, Retrieved

FIT_PATH = Path(__file__).resolve().parent / "dev_fit.jsonl"
NOT_IN_CORPUS = "NOT_IN_CORPUS"
NEVER_FITTED = ("dev_val", "holdout", "aclsum")
"""Eval files no fitting reads (by name prefix): the validation split, the held-out set, the outside set."""
T = TypeVar("T")


class FitSetError(RagError):
    """The fitting file cannot be read or names a paper that is not in the corpus."""

    exit_code = 3


def paper_id_of(item: object) -> str:
    """The paper id of a hit (``.paper.id``), a candidate (``.paper_id``) or a plain id string."""
    if isinstance(item, str):
        return item
    pid = getattr(item, "paper_id", None)
    if isinstance(pid, str):
        return pid
    paper = getattr(item, "paper", None)
    if isinstance(paper, Paper):
        return paper.id
    raise TypeError(f"cannot find a paper id on {type(item).__name__}; pass hits, candidates or id strings")


def hide(ranked: Sequence[T], hidden: Collection[str]) -> list[T]:
    """``ranked`` without the items whose paper is in ``hidden``, order kept."""
    hidden = set(hidden)
    return [item for item in ranked if paper_id_of(item) not in hidden]


def loo_record(item: dict[str, Any]) -> dict[str, Any]:
    """The unanswerable twin of an answerable item: same question and history, its gold hidden."""
    return {
        "id": f"loo-{item['id']}", "kind": "loo", "type": "unanswerable", "question": item["question"],
        "gold_titles": [], "gold_ids": [], "hidden_ids": list(item["gold_ids"]), "answer": NOT_IN_CORPUS,
        "key_facts": [], "history": list(item.get("history", [])), "source": item["id"],
        "source_kind": item.get("kind", "fit"),
    }


def loo_records(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One loo record per item that has gold papers (unanswerable items have nothing to hide)."""
    return [loo_record(item) for item in items if item.get("gold_ids")]


def load_fit_items(path: Path, papers: Sequence[Paper]) -> list[dict[str, Any]]:
    """The hand-written fitting items with ``gold_ids`` resolved from their titles ([] if no file yet)."""
    if path.name.startswith(NEVER_FITTED):
        raise FitSetError(
            f"{path}: the validation split and the held-out sets are never read for fitting; pass evals/dev_fit.jsonl"
        )
    if not path.exists():
        return []
    by_title = {normalize_title(p.title): p.id for p in papers}
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            titles = item["gold_titles"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FitSetError(f"{path}:{number}: not an eval item ({exc}); see evals/README.md") from exc
        missing = [t for t in titles if normalize_title(t) not in by_title]
        if missing:
            raise FitSetError(f"{path}:{number}: gold title {missing[0]!r} is not in the corpus; fix the title")
        items.append({**item, "kind": "fit", "gold_ids": [by_title[normalize_title(t)] for t in titles]})
    return items


def retrieve_hidden(pipeline: Any, query: str, hidden: Collection[str], k: int = 10) -> Retrieved:
    """``Pipeline.retrieve`` over an index without the ``hidden`` papers: they are removed from the
    first-stage candidates, then the rest is reranked and the confidence computed as usual."""
    pq = pipeline.prepare(query)
    allowed = frozenset(pid for pid in pipeline.papers if pid not in set(hidden))
    retrieved: Retrieved = pipeline.retrieve(dataclasses.replace(pq, allowed=allowed), k)
    return retrieved
