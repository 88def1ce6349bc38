"""Sentence roles of an abstract: challenge (the problem), approach (what the paper does), outcome (what it
found) or other, predicted by a small multinomial logistic regression over each sentence's MiniLM vector and
its position in the abstract.

The weights (``rag/data/roles.json``) are fitted by ``python -m evals.fit_roles`` on ACLSum (``aclsum`` 0.1.2:
ACL papers whose abstract sentences annotators labelled by aspect): model choice on its validation split, the
final fit on train + validation, accuracy reported on its test split, which no fitting reads. Only numpy runs
here; scikit-learn is a fitting-time dependency.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.index.embeddings import Embedder
from rag.resources import data_path
from rag.types import Paper, Retrieved

MODEL_PATH = data_path("roles.json")
ROLES = ("challenge", "approach", "outcome", "other")
"""The classes, in the order of the model's rows. ``other``: none of the three (background, boilerplate)."""
BLOCKS = ("vector", "centered", "position")
"""Feature blocks a model may use, in this order: the sentence vector; the vector minus the abstract's mean
vector (what sets the sentence apart from its abstract); position (relative position, first, last, and
whether the text is an abstract: always here; the fitting also reads introductions and conclusions)."""
POSITION = ("relative", "first", "last", "abstract")
FORMAT = 1
_FIX = "reinstall the package, or refit: python -m evals.fit_roles"


def role_features(vectors: np.ndarray, blocks: Sequence[str], abstract: bool = True) -> np.ndarray:
    """The feature rows of one abstract's sentences, given their vectors in abstract order (n x dim).
    ``abstract=False``: the sentences of another section of a paper (fitting only)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = vectors.shape[0]
    parts: list[np.ndarray] = []
    for block in blocks:
        if block == "vector":
            parts.append(vectors)
        elif block == "centered":
            parts.append(vectors - vectors.mean(axis=0, keepdims=True) if n else vectors)
        elif block == "position":
            index = np.arange(n, dtype=np.float64)
            relative = index / max(n - 1, 1)
            last = (index == n - 1) & (n > 1)
            flag = np.full(n, float(abstract))
            parts.append(np.column_stack([relative, index == 0, last, flag]).astype(np.float64))
        else:
            raise ValueError(f"unknown feature block {block!r}")
    return np.hstack(parts) if parts else np.zeros((n, 0))


def feature_count(blocks: Sequence[str], dim: int) -> int:
    """Columns of ``role_features`` for these blocks and vector size."""
    return sum(len(POSITION) if b == "position" else dim for b in blocks)


@dataclass(frozen=True, slots=True)
class RoleModel:
    """A fitted sentence-role model: ``softmax(features @ coef.T + intercept)`` over ``ROLES``."""

    blocks: tuple[str, ...]
    coef: np.ndarray
    """``len(ROLES)`` x ``feature_count(blocks, dim)``."""
    intercept: np.ndarray
    embedder: str
    """Name of the embedder whose vectors it was fitted on (``Embedder.name``)."""
    dim: int

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> RoleModel:
        """The fitted model; a missing, damaged or stale file is a ``ConfigError`` that says how to fix it."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = cls.from_dict(data["model"]) if data["format"] == FORMAT else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the sentence-role model {path} cannot be read ({type(exc).__name__}); {_FIX}") from exc
        if model is None:
            raise ConfigError(f"the sentence-role model {path} has another format than this version's; {_FIX}")
        return model

    @classmethod
    def reading(cls, embedder: Embedder) -> RoleModel | None:
        """The bundled model when it reads this embedder's vectors, else None."""
        model = cls.load()
        return model if model.dim == embedder.dim and embedder.name.startswith(model.embedder) else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleModel:
        """The model of ``to_dict``'s output; ``ValueError`` when it does not fit these ``ROLES`` and ``BLOCKS``."""
        blocks = tuple(data["blocks"])
        dim = int(data["dim"])
        coef = np.asarray(data["coef"], dtype=np.float64)
        intercept = np.asarray(data["intercept"], dtype=np.float64)
        if tuple(data["classes"]) != ROLES or not set(blocks) <= set(BLOCKS) or dim < 1:
            raise ValueError("classes or feature blocks differ from this version's")
        if coef.shape != (len(ROLES), feature_count(blocks, dim)) or intercept.shape != (len(ROLES),):
            raise ValueError("weights of the wrong shape")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ValueError("weights that are not finite numbers")
        return cls(blocks, coef, intercept, str(data["embedder"]), dim)

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": list(ROLES),
            "blocks": list(self.blocks),
            "embedder": self.embedder,
            "dim": self.dim,
            "coef": [[float(v) for v in row] for row in self.coef],
            "intercept": [float(v) for v in self.intercept],
        }

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Per sentence (rows, abstract order), the probability of each of ``ROLES`` (columns)."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            got = vectors.shape[-1] if vectors.ndim else 0
            raise ConfigError(
                f"the sentence-role model needs {self.dim}-dim {self.embedder} vectors, got {got}-dim ones; "
                "use the local MiniLM embedder (RAG_EMBEDDER=minilm)"
            )
        if not len(vectors):
            return np.zeros((0, len(ROLES)))
        logits = role_features(vectors, self.blocks) @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return np.asarray(odds / odds.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, vectors: np.ndarray) -> list[str]:
        """The most probable role of each sentence (ties go to the earlier of ``ROLES``)."""
        return [ROLES[int(i)] for i in self.probabilities(vectors).argmax(axis=1)]


SUMMARY_ROLES = ("challenge", "approach", "outcome")
"""The roles a paper summary shows (a source card's Problem / Approach / Result)."""


def summary(probabilities: np.ndarray) -> tuple[tuple[str, int], ...]:
    """``(role, sentence index)`` for each of ``SUMMARY_ROLES``: the sentence most probably in that role. A sentence
    that is the most probable one for two roles stands for the role it is likelier in; an abstract of one
    sentence has no summary."""
    if len(probabilities) < 2:
        return ()
    columns = [ROLES.index(role) for role in SUMMARY_ROLES]
    best = {role: int(np.argmax(probabilities[:, c])) for role, c in zip(SUMMARY_ROLES, columns, strict=True)}
    out = []
    for role, c in zip(SUMMARY_ROLES, columns, strict=True):
        i = best[role]
        rivals = [r for r, j in best.items() if j == i and r != role]
        if all(probabilities[i, c] >= probabilities[i, ROLES.index(r)] for r in rivals):
            out.append((role, i))
    return tuple(out)


def summary_sentences(abstract: str, roles: Sequence[tuple[str, int]]) -> dict[str, str]:
    """``Citation.roles`` as ``{role: the verbatim sentence}`` (what the ``/v1`` sources carry)."""
    from rag.text import split_sentences

    spans = split_sentences(abstract)
    return {role: abstract[spans[i].start : spans[i].end] for role, i in roles if 0 <= i < len(spans)}


_ASKED = (
    ("challenge", re.compile(r"\b(?:what|which) (?:problems?|challenges?|issues?|limitations?|gaps?)\b|\bmotivat\w*|"
                             r"\b(?:problem|challenge)s? (?:does|do|did|is|are)\b", re.IGNORECASE)),
    ("outcome", re.compile(r"\b(?:find|finds|found|findings?|results?|conclu\w*|discover\w*)\b", re.IGNORECASE)),
    ("approach", re.compile(r"^\s*how (?:do|does|did)\b.*\bwork|\b(?:what|which) (?:approach|method|technique|"
                            r"mechanism)\b", re.IGNORECASE)),
)
ROLE_WEIGHT = 0.8
"""How much a piece's probability of being in the asked role adds to its probability of holding a key fact when
the answer's lead is chosen (``RoleBook.order``). Chosen on fitting data only, by the mean share of answers whose
first 40 words hold a key fact over ``evals/dev_fit.jsonl`` and questions made from ACLSum's validation split
(``python -m evals.aclsum_set --split val``), with key-fact recall not lower by more than 0.005 on either:
0 -> 0.8 moved them 0.816 -> 0.803 and 0.529 -> 0.661 (recall 0.728 -> 0.726, 0.632 -> 0.665)."""


def asked_role(question: str) -> str | None:
    """The role a question asks about: the problem ("What problem does X address?"), the findings ("What did X
    find?") or the approach ("How does X work?"); None for other questions."""
    return next((role for role, pattern in _ASKED if pattern.search(question)), None)


class RoleBook:
    """Role probabilities of the indexed papers' sentences, computed once per paper from their stored vectors
    (``vectors(paper_id)``, abstract order). Shared by every request: the cache is a pure function of the paper."""

    def __init__(self, model: RoleModel, vectors: Callable[[str], np.ndarray], weight: float = ROLE_WEIGHT) -> None:
        self.model = model
        self.vectors = vectors
        self.weight = weight
        self._cache: dict[str, np.ndarray | None] = {}

    def probabilities(self, paper: Paper) -> np.ndarray | None:
        """Per sentence of the abstract, the probability of each of ``ROLES``; None when the stored sentences do
        not line up with the abstract's."""
        if paper.id not in self._cache:
            from rag.text import split_sentences

            vectors = self.vectors(paper.id)
            lined_up = len(vectors) and len(vectors) == len(split_sentences(paper.abstract))
            self._cache[paper.id] = self.model.probabilities(vectors) if lined_up else None
        return self._cache[paper.id]

    def summary(self, paper: Paper) -> tuple[tuple[str, int], ...]:
        """``summary`` of the paper's sentences (``Citation.roles``)."""
        probs = self.probabilities(paper)
        return summary(probs) if probs is not None else ()

    def order(self, question: str, pieces: Sequence[Any], retrieved: Retrieved) -> list[float]:
        """The lead bonus of each candidate piece (``rag.answer.compose.pieces.Piece``): ``weight`` times the
        probability that its sentence is in the role the question asks about; 0 for every piece otherwise."""
        role = asked_role(question)
        if role is None:
            return [0.0] * len(pieces)
        column = ROLES.index(role)
        out = []
        for piece in pieces:
            probs = self.probabilities(retrieved.hits[piece.pick.hit].paper)
            ok = probs is not None and piece.pick.index < len(probs)
            out.append(self.weight * float(probs[piece.pick.index, column]) if ok else 0.0)  # type: ignore[index]
        return out


SUMMARY_LABELS = {"challenge": "Problem", "approach": "Approach", "outcome": "Result"}


def comparison_rows(citations: Sequence[Any]) -> list[tuple[str, dict[str, str]]]:
    """One row per cited paper with a role summary (``Citation.roles``), first citation first: its title and
    ``{Problem|Approach|Result: the verbatim sentence}``. [] when fewer than two papers have one."""
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    for c in citations:
        if c.paper.id not in rows and c.roles:
            said = summary_sentences(c.paper.abstract, c.roles)
            rows[c.paper.id] = (c.paper.title, {SUMMARY_LABELS[r]: t for r, t in said.items()})
    return list(rows.values()) if len(rows) >= 2 else []


def comparison_markdown(citations: Sequence[Any]) -> str:
    """``comparison_rows`` as a Markdown table (rows = papers; columns = Problem, Approach, Result); "" if none."""
    rows = comparison_rows(citations)
    if not rows:
        return ""
    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = ["| paper | " + " | ".join(SUMMARY_LABELS.values()) + " |", "|---" * (len(SUMMARY_LABELS) + 1) + "|"]
    lines += [f"| {cell(title)} | " + " | ".join(cell(cols.get(label, "")) for label in SUMMARY_LABELS.values())
              + " |" for title, cols in rows]
    return "\n".join(lines)
