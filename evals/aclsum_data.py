"""ACLSum (the ``aclsum`` 0.1.2 package, MIT: 250 ACL papers; train 100, val 50, test 100) as the evals read it.

Each paper comes with three annotator summaries (challenge, approach, outcome) and, for every sentence of its
abstract, introduction and conclusion, which of the three aspects it was highlighted for (none, one or,
rarely, two). The package stores sentences tokenised ("models ( QE ) , 2.7 %"); they are detokenised here
into the text a reader sees ("models (QE), 2.7%"), which is what the product embeds and quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ASPECTS = ("challenge", "approach", "outcome")
SECTIONS = ("abstract", "introduction", "conclusion")
SPLITS = ("train", "val", "test")
_QUOTED = re.compile(r'" ([^"]*?) "')


@dataclass(frozen=True, slots=True)
class LabelledSentence:
    text: str
    roles: tuple[str, ...]
    """The aspects annotators highlighted it for, in ``ASPECTS`` order; empty: none ("other")."""


@dataclass(frozen=True, slots=True)
class LabelledPaper:
    id: str
    """ACL Anthology id."""
    title: str
    summaries: dict[str, str]
    """Aspect -> the annotators' one-sentence summary."""
    sections: dict[str, tuple[LabelledSentence, ...]]

    @property
    def abstract(self) -> str:
        """The abstract as one text: its detokenised sentences joined by spaces."""
        return " ".join(s.text for s in self.sections["abstract"])


def detokenize(text: str) -> str:
    """Tokenised text back to running text (NLTK's Treebank detokenizer, then ``" word "`` -> ``"word"``)."""
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    joined = TreebankWordDetokenizer().detokenize(text.split())
    return _QUOTED.sub(r'"\1"', joined)


def _aclsum() -> Any:
    try:
        import aclsum
    except ImportError as exc:
        raise SystemExit("the ACLSum data is not installed; run: .venv/bin/python -m pip install -e '.[fit]'") from exc
    return aclsum


def load_split(split: str) -> list[LabelledPaper]:
    """The papers of one ACLSum split (``SPLITS``), in the package's order."""
    if split not in SPLITS:
        raise ValueError(f"unknown ACLSum split {split!r}; one of {SPLITS}")
    papers = []
    for doc in _aclsum().ACLSum(split):
        sections = {}
        for section in SECTIONS:
            texts = doc.sentences[section]
            labels = [tuple(a for a in ASPECTS if doc.highlights[a][section][i]) for i in range(len(texts))]
            sections[section] = tuple(LabelledSentence(detokenize(t), r) for t, r in zip(texts, labels, strict=True))
        summaries = {a: " ".join(doc.summaries[a].split()) for a in ASPECTS}
        papers.append(LabelledPaper(doc.id, " ".join(doc.title.split()), summaries, sections))
    return papers
