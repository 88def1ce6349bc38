"""Prose answers below the sentence: clause pieces of the best sentences, scored by a fitted model for how
likely each states a key fact, kept while that probability is high enough and the word budget allows.

The model (``rag/data/composer.json``) is a logistic regression over ``PIECE_FEATURES``, fitted by
``evals/fit_composer.py`` on ``evals/dev_fit.jsonl`` (a piece is positive when it holds one of the item's key
facts); its threshold ``min_probability`` is chosen there by grouped cross-validation, never on
``evals/dev_val.jsonl``. Every kept piece is a verbatim substring of its sentence, so the answer stays faithful
by construction (``rag.answer.compose.spans.join_kept``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from math import log
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.compose.analysis import Question
from rag.answer.compose.evidence import Pick
from rag.answer.compose.selection import MAX_REDUNDANCY, is_background, is_boilerplate, redundancy
from rag.answer.compose.slots import fills, question_parts
from rag.answer.compose.spans import ITEM, join_kept, pieces
from rag.errors import ConfigError
from rag.linear import LinearModel, sigmoid
from rag.resources import data_path
from rag.text import content_words, has_digit, says_we, tokenize

MODEL_PATH = data_path("composer.json")
KINDS = ("quantity", "how", "definition", "why")
PIECE_FEATURES = (
    "part_max", "part_best", "part_n", "p_share_rel", "s_score_gap", "s_rel", "s_sim", "s_lex", "p_share",
    "p_share_of_sent", "p_words", "s_words", "p_digit", "num_digit", "s_pos", "s_first", "s_last", "h_top",
    "h_prior", "p_first", "p_only", "p_we", "s_we", "p_novel", "s_rank", "p_entity", "p_paren",
    *(f"k_{k}" for k in KINDS),
)  # fmt: skip
"""``part_*``: the piece's share of each question part's term weight (``question_parts``): the best share,
whether it is the best piece for some part, how many parts; ``p_*``: the piece, ``s_*``: its sentence,
``h_*``: its paper's rank, ``k_*``: the question's kind."""


@dataclass(frozen=True, slots=True)
class Piece:
    """A clause piece ``pick.text[start:end]`` of a candidate sentence, with its ``PIECE_FEATURES`` row."""

    pick: Pick
    start: int
    end: int
    features: tuple[float, ...]

    @property
    def text(self) -> str:
        return self.pick.text[self.start : self.end]


@dataclass(frozen=True, slots=True)
class PieceModel:
    """The fitted piece scorer and how its scores become an answer."""

    model: LinearModel
    min_probability: float
    """A piece after the first needs this probability of holding a key fact."""
    pool: int = 10
    """How many of the best-scored sentences are cut into candidate pieces."""

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> PieceModel:
        """The fitted model; a missing, damaged or stale file is a ``ConfigError`` that says how to fix it."""
        fix = "reinstall the package, or refit: python -m evals.fit_composer"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = LinearModel.from_dict(data["model"])
            piece_model = cls(model, float(data["min_probability"]), int(data["pool"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the prose piece model {path} cannot be read ({type(exc).__name__}); {fix}") from exc
        if model.features != PIECE_FEATURES or len(model.coef) != len(PIECE_FEATURES):
            raise ConfigError(f"the prose piece model {path} was fitted on other features; {fix}")
        return piece_model

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        return {"model": self.model.to_dict(), "min_probability": self.min_probability, "pool": self.pool, **extra}


def cut_pieces(
    picks: Sequence[Pick], terms: Mapping[str, float], question: Question, pool: int = 10, min_piece_words: int = 4
) -> list[Piece]:
    """The clause pieces (``rag.answer.compose.spans.pieces``) of the ``pool`` best ``picks`` with their
    features. ``terms``: the question's stemmed terms and weights (``question_terms``). Boilerplate ("Code is
    available at ...") and background ("Recent advances ...") sentences are left out unless the question asks
    for them or nothing else is left."""
    wanted = [p for p in picks if question.wants_background or not (is_boilerplate(p.text) or is_background(p.text))]
    chosen = _with_filler(wanted or list(picks), question, pool)
    if not chosen:
        return []
    total = sum(terms.values()) or 1.0
    q_tokens = set(tokenize(question.text))
    entities = [e.lower() for e in question.entities]
    parts = [set(tokenize(p)) for p in question_parts(question.text)]
    part_totals = [sum(terms.get(t, 0.0) for t in p) or 1.0 for p in parts]
    spans = [(pick, r, pieces(pick.text, min_piece_words)) for r, pick in enumerate(chosen)]
    flat = [(pick, r, k, a, b, len(cuts)) for pick, r, cuts in spans for k, (a, b) in enumerate(cuts)]
    token_sets = [set(tokenize(pick.text[a:b])) for pick, _r, _k, a, b, _n in flat]
    shares = [sum(w for t, w in terms.items() if t in toks) for toks in token_sets]
    part_shares = np.array([[sum(terms.get(t, 0.0) for t in p if t in toks) / pt for p, pt in
                             zip(parts, part_totals, strict=True)] for toks in token_sets])
    best_for_part = set(part_shares.argmax(axis=0).tolist())
    max_share = max(shares) or 1.0
    best_score = chosen[0].score
    sentence_share = [sum(w for t, w in terms.items() if t in set(tokenize(pick.text))) for pick in chosen]
    out = []
    for j, ((pick, r, k, a, b, n_cuts), share) in enumerate(zip(flat, shares, strict=True)):
        text = pick.text[a:b]
        low = text.lower()
        novel = content_words(text)
        s_share = sentence_share[r]
        row = {
            "part_max": float(part_shares[j].max()), "part_best": float(j in best_for_part),
            "part_n": float(len(parts)), "p_share_rel": share / max_share, "s_score_gap": pick.score - best_score,
            "s_rel": pick.relevance, "s_sim": pick.similarity, "s_lex": pick.lexical, "p_share": share / total,
            "p_share_of_sent": share / s_share if s_share else 0.0, "p_words": log(1 + len(text.split())),
            "s_words": log(1 + len(pick.text.split())), "p_digit": float(has_digit(text)),
            "num_digit": float(question.kind == "quantity" and has_digit(text)),
            "s_pos": pick.index / max(pick.sentences - 1, 1), "s_first": float(pick.index == 0),
            "s_last": float(pick.index == pick.sentences - 1 and pick.sentences > 1), "h_top": float(pick.hit == 0),
            "h_prior": 1 / (1 + pick.hit), "p_first": float(k == 0), "p_only": float(n_cuts == 1),
            "p_we": float(says_we(text)), "s_we": float(says_we(pick.text)),
            "p_novel": len(novel - q_tokens) / max(len(novel), 1), "s_rank": r / pool,
            "p_entity": float(any(e in low for e in entities)),
            "p_paren": float(text.strip().startswith("(") and not ITEM.match(text)),  # an aside, not "(b) ..."
            **{f"k_{kind}": float(question.kind == kind) for kind in KINDS},
        }  # fmt: skip
        out.append(Piece(pick, a, b, tuple(row[f] for f in PIECE_FEATURES)))
    return out


_FILLED = frozenset({"code", "quantity", "hardware", "dataset", "name", "metric", "definition"})


def _with_filler(picks: Sequence[Pick], question: Question, pool: int) -> list[Pick]:
    """The ``pool`` best picks, and, when none of them holds a filler of the question's slot, the best one beyond
    them that does ("on which hardware?" after a CoreInfer answer: the "NVIDIA TITAN XP GPU" sentence ranked
    below ten sentences sharing no word with the question; "what does SAE stand for?": the one spelling it out)."""
    chosen = list(picks[:pool])
    slot = question.slot
    if slot.kind not in _FILLED or any(fills(slot, p.text) for p in chosen):
        return chosen
    extra = next((p for p in picks[pool:] if fills(slot, p.text)), None)
    return [*chosen, extra] if extra is not None else chosen


def probabilities(cands: Sequence[Piece], model: PieceModel) -> np.ndarray:
    """Each candidate's fitted probability of holding a key fact."""
    if not cands:
        return np.zeros(0)
    return np.asarray(sigmoid(model.model.logits(np.array([c.features for c in cands]))), dtype=np.float64)


ASIDE_WORDS = 12
"""A parenthesis this short that gives numbers or names is quoted with the piece it follows."""


def companions(cands: Sequence[Piece], j: int, lead: bool = True) -> list[int]:
    """The pieces quoted with piece ``j`` when it is kept. For the ``lead`` piece: the short parenthesis or
    "including ..." right after it that gives numbers or names ("a set of MLLMs" keeps ", including LLaVA, VILA, Eagle
    and InternVL", "a relatively small size" keeps "(10k-30k images with tags)") and the end of a list of numbers
    ("in size 1B, 3.7B, 7B" keeps ", and, 16B parameters"); for any piece that is an item of an enumeration ("(b)
    disagreement on the sign ...") or announces one with ":" ("two major sources of interference:"), the items of
    its sentence. Left out, the quote says there is a list or a size and elides it. (Later pieces keep only items:
    their asides took the words of more useful quotes on the fitting sets.)"""
    mine = cands[j]
    same = [k for k, c in enumerate(cands) if k != j and c.pick is mine.pick]
    after = [k for k in same if cands[k].start == mine.end]
    out = [k for k in after if lead and (_aside(cands[k].text) or _list_tail(mine.text, cands[k].text))]
    announces = mine.text.rstrip().endswith(":") and any(ITEM.match(cands[k].text) for k in after)
    if announces or ITEM.match(mine.text):  # "two major sources of interference: (a) ... (b) ..."
        out += [k for k in same if ITEM.match(cands[k].text) and k not in out]
    return out


_ASIDE = re.compile(r"\(|,?\s*(?:including|such as|e\.g\.,?|i\.e\.,?)\s")


_TAIL = re.compile(r"^\W*(?:and|or)\W+(?:\S+\s+){0,2}?\S*\d")
_NUMBER_LIST = re.compile(r"\d\S*,\s*\S*\d\S*,?\s*$")


def _list_tail(kept: str, nxt: str) -> bool:
    """Whether ``nxt`` ends a list of numbers ``kept`` ends with: "in size 1B, 3.7B, 7B" keeps ", and, 16B
    parameters"."""
    return bool(_NUMBER_LIST.search(kept.rstrip()) and _TAIL.match(nxt))


_CITATION = re.compile(r"\b(?:19|20)\d\d[a-z]?\b")


def _aside(text: str) -> bool:
    """A short parenthesis or "including ..." / "such as ..." that gives numbers or at least two names, and is no
    reference ("(Ippolito & Callison-Burch, 2023)")."""
    text = text.strip()
    opener = _ASIDE.match(text)
    body = text[opener.end():] if opener else ""
    if opener is None or len(text.split()) > ASIDE_WORDS or _CITATION.search(body):
        return False
    return has_digit(body) or sum(w[:1].isupper() for w in body.split()) >= 2


def choose(cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, model: PieceModel, word_budget: int,
           min_probability: float | None = None, lead: int | None = None, max_quotes: int | None = None
           ) -> list[Pick]:
    """The pieces an answer quotes, answer first: ``lead`` (by default the most probable piece of the
    best-scored sentence), then the others most probable first; after the first, a piece needs
    ``min_probability`` (the model's own by default), must fit in ``word_budget``, must not repeat a kept piece
    (``MAX_REDUNDANCY``), and pieces come from at most ``max_quotes`` sentences. Each sentence with kept pieces
    comes back as a ``Pick`` whose quote joins them (``join_kept``), in the order its first piece was kept."""
    floor = model.min_probability if min_probability is None else min_probability
    order = sorted(range(len(cands)), key=lambda j: (-probs[j], cands[j].pick.hit, cands[j].pick.index, j))
    if cands:
        first = lead if lead is not None else next(j for j in order if cands[j].pick is cands[0].pick)
        order.remove(first)
        order.insert(0, first)
    kept: list[int] = []
    used = 0
    sentences: set[tuple[int, int]] = set()
    for j in order:
        n = len(cands[j].text.split())
        key = (cands[j].pick.hit, cands[j].pick.index)
        if kept and (probs[j] < floor or used + n > word_budget):
            continue
        if kept and max_quotes is not None and key not in sentences and len(sentences) >= max_quotes:
            continue
        if kept and redundancy(cands[j].text, [cands[i].text for i in kept]) > MAX_REDUNDANCY:
            continue
        kept.append(j)
        sentences.add(key)
        used += n
        for k in companions(cands, j, lead=len(kept) == 1):
            extra = len(cands[k].text.split())
            if k not in kept and used + extra <= word_budget:
                kept.append(k)
                used += extra
    by_sentence: dict[tuple[int, int], list[int]] = {}
    for j in kept:
        by_sentence.setdefault((cands[j].pick.hit, cands[j].pick.index), []).append(j)
    out = []
    for key, mine_j in by_sentence.items():
        pick = cands[mine_j[0]].pick
        cuts = [(c.start, c.end) for c in cands if (c.pick.hit, c.pick.index) == key]
        mine = {(cands[j].start, cands[j].end) for j in mine_j}
        out.append(replace(pick, quote=join_kept(pick.text, cuts, [cut in mine for cut in cuts])))
    return out
