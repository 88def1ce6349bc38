"""Follow-up questions resolved from the conversation; a question that stands on its own is left alone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.compose.chat import CORRECTION, IsName, no_names, turns
from rag.answer.compose.cited import cited_sources, sure_sources
from rag.answer.compose.naming import coined_names
from rag.answer.compose.referents import (
    BOTH_COMPARED,
    asks_of_each,
    asks_which_is_better,
    authors_pointer,
    corrected_hits,
    hits_of,
    picks_among,
    record_hit,
    referents,
)
from rag.answer.compose.restate import (
    asked_of,
    asks_new_term,
    described_switch,
    names_subject,
    new_to_chat,
    other_subject,
    restated,
    restated_after,
    versus_it,
    without_switch,
)
from rag.answer.compose.standalone import coined_subject, stands_alone
from rag.text import QUESTION_WORDS, STOPWORDS, key_terms, named_entities, strip_markers, tokenize
from rag.types import Retrieved

__all__ = [  # the follow-up rules' public names, importable from here as before the split
    "IsName",
    "asks_of_each",
    "asks_which_is_better",
    "authors_pointer",
    "coined_subject",
    "corrected_hits",
    "corrects_to",
    "described_switch",
    "doubted_pointer",
    "hits_of",
    "no_names",
    "record_hit",
    "referents",
    "resolve_followup",
    "restated",
    "stands_alone",
    "without_switch",
]

def resolve_followup(question: str, history: Sequence[dict[str, str]], is_name: IsName = no_names,
                     names_paper: IsName | None = None) -> str:
    """A standalone query for a follow-up. One that points at one source of the last answer ("the second
    one", "it") carries that source's cited text; otherwise the previous answer's names and the previous
    question's content words come first. A correction ("No, I meant the one that ...") carries the previous
    question's words only. A question that stands on its own comes back unchanged."""
    switched = without_switch(question)
    if switched != question:  # "Switching topics: what is SPLADE?" stands alone, as "what is SPLADE?"
        return switched
    described = described_switch(question)
    if described != question and history:  # "and the induction head paper - why ...?": that paper, found afresh
        return described
    users = turns(history, "user")
    if users and CORRECTION.search(question):  # the last answer's papers are the wrong ones: keep the topic only
        wrong = {n.lower() for n in coined_names(users[-1])}  # "DIMAT"
        kept = [w for w in key_terms(users[-1], QUESTION_WORDS) if w.lower() not in question.lower()
                and w.lower() not in wrong]
        return f"{' '.join(kept)} {question}".strip()
    other = other_subject(question)
    again = restated_after(question, users, is_name)  # "what about sparsemax?": the last question, asked of sparsemax
    versus = versus_it(question, users, turns(history, "assistant")[-1:], is_name, names_paper)
    if versus:  # "how does it compare to DIMAT?": the paper under discussion and DIMAT
        return versus
    if again or (users and other and (names_subject(other, is_name) or new_to_chat(other, history))):
        return again or asked_of(question, users[-1], is_name)
    answers = turns(history, "assistant")
    among = bool(answers) and picks_among(question, cited_sources(answers[-1]), users[-1] if users else "")
    if not users or (stands_alone(question, is_name, names_paper) and not among) or asks_new_term(question, history):
        return question
    pointed = referents(question, history)
    topic = _topic(history, is_name)  # the last question was a follow-up too: its topic found the papers
    if len(pointed) == 1:  # "what license is it under?" after "does it handle missing values?" keeps "TabPFN"
        carried_text = f"{' '.join(pointed[0].texts)} {users[-1]}"
        carried = _with_new(key_terms(carried_text, QUESTION_WORDS)[:20], key_terms(topic or "", QUESTION_WORDS))
        kept = [w for w in carried if w.lower() not in question.lower()]
        return f"{' '.join(kept)} {question}".strip()
    previous_answer = strip_markers(answers[-1]) if answers else ""
    carried = key_terms(users[-1], QUESTION_WORDS)
    if topic is not None:  # "how do they differ?" after "which of them ...?": the first question's words
        carried = _with_new(carried, key_terms(topic, QUESTION_WORDS))
    # "which of them" keeps the last question's wording, which found those papers; a comparison of them ("compare
    # the two") reads differently from it, so it also carries their names, as a question about no cited paper does
    if not pointed or BOTH_COMPARED.search(question):
        carried = _with_new(carried, named_entities(previous_answer)[:6])
    for cited in pointed if len(pointed) <= 3 else ():  # "compare the first two": each one's label (its title)
        labels = [t.split(": ", 1)[0] for t in cited.texts if ": " in t]
        carried = _with_new(carried, key_terms(labels[0], QUESTION_WORDS)[: 6 if len(pointed) <= 2 else 3]
                            if labels else [])
    kept = [w for w in carried if w.lower() not in question.lower()]
    return f"{' '.join(kept)} {question}".strip() if kept else question


_MEANT = re.compile(r"\b(?:meant|mean|not that|not this|the other)\b", re.IGNORECASE)
_POINTER_WORDS = frozenset(tokenize("paper one work method approach study other"))


def corrects_to(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]] = ()) -> int | None:
    """For a correction that names the meant paper by its title's words ("no, I meant the on-policy
    self-judgment paper"), the hit among the first five whose title holds every one of them (two at least) and
    that the correction does not rule out (``corrected_hits``: "sorry, I meant the label smoothing paper" after
    an answer from MaxSup, a label smoothing paper, is not MaxSup); None otherwise."""
    if not CORRECTION.search(question):
        return None
    wrong = corrected_hits(question, history, retrieved)
    meant = _MEANT.split(question, maxsplit=1)[-1]
    words = {t for t in tokenize(meant) if t not in STOPWORDS and t not in _POINTER_WORDS}
    if len(words) < 2:
        return None
    return next((h for h, hit in enumerate(retrieved.hits[:5])
                 if h not in wrong and words <= set(tokenize(hit.paper.title))), None)


def _topic(history: Sequence[dict[str, str]], is_name: IsName) -> str | None:
    """When the last question was itself a follow-up, the latest earlier question that started a topic (the one that
    found the papers under discussion): one that stands alone or asks about a new term ("how does early dropout
    work?" after mixout), else the chat's first question, which had no turn before it ("What criterion predicts
    that ...?" reads "that" as a pointer); None otherwise."""
    asked = [(k, t["content"]) for k, t in enumerate(history)
             if t.get("role") == "user" and t.get("content", "").strip()]

    def starts(k: int, text: str) -> bool:
        return stands_alone(text, is_name) or asks_new_term(text, history[:k])

    if len(asked) < 2 or starts(*asked[-1]):
        return None
    return next((text for k, text in reversed(asked[:-1]) if starts(k, text)), asked[0][1])


def _with_new(words: list[str], more: Sequence[str]) -> list[str]:
    """``words`` followed by those of ``more`` not among them (case-insensitive)."""
    seen = {w.lower() for w in words}
    return words + [w for w in more if w.lower() not in seen]


def doubted_pointer(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]], floor: float) -> bool:
    """Whether a follow-up the abstention model doubts points at one paper the last answer cited, which is among the
    hits ("what GPU did they use?", "does the first one need extra training?"), with a confidence of at least
    ``floor``: it is answered from that paper, and a detail its abstract omits is "not stated". A question about
    several ("which of them is from Google?") stays refused: picking among them needs what their abstracts say."""
    return (retrieved.abstain and bool(history) and bool(retrieved.hits) and retrieved.confidence >= floor
            and len(hits_of(authors_pointer(question, history), retrieved)) == 1)


_PICKING = re.compile(r"\bwhich (?:one|of (?:them|these|those|the (?:two|three|four|papers|methods)))\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|no|never|without|avoids?|lacks?|fails?|none)\b|n't\b", re.IGNORECASE)


def _picking(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
             ) -> tuple[set[int], set[str], list[set[str]]] | None:
    """For "which one / which of them ..." after an answer listing papers: the listed papers among the hits, the
    words the question adds to the chat's questions (not the "one" of "which one"; also when an answer showed
    them), and each hit's words; None for any other question, or one that picks by what a paper lacks."""
    answers = turns(history, "assistant")
    picking = _PICKING.search(question)
    if not (answers and retrieved.hits and picking) or _NEGATED.search(question):
        return None
    sources = sure_sources(answers[-1])
    listed = hits_of(sources, retrieved)  # listed papers that are not among the hits cannot be read here
    if not listed or len(sources) < 2:
        return None
    said = {t for turn in turns(history, "user") for t in tokenize(turn)}  # the chat's topic, not the answers' words
    asked = question[: picking.start()] + question[picking.end() :]
    new = {t for t in tokenize(asked) if t not in STOPWORDS and t not in QUESTION_WORDS and t not in said
           and len(t) >= 3}
    return listed, new, [set(tokenize(f"{hit.paper.title} {hit.paper.abstract}")) for hit in retrieved.hits]


def _alone_in(h: int, listed: set[int], new: set[str], words: list[set[str]]) -> bool:
    """Whether hit ``h`` holds one of the ``new`` words that no other listed paper among the hits holds."""
    return bool((new & words[h]) - set().union(*(words[o] for o in listed - {h})))


def picked_by_its_words(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]) -> bool:
    """Whether a follow-up the abstention model doubts picks one of the papers the last answer listed ("which one was
    tested on Italian data?", "which of them are training-free?") and the first hit is that paper (``_picking``): a
    word the question adds to the chat's questions ("italian") is in its title or abstract and in no other listed
    paper among the hits, and every added word is in it or in another hit ("tested" may be worded otherwise). Then
    the chat has found it. A question that picks by what a paper lacks ("which one was not tested on ...") and one
    asking a word no hit has ("which one is from Google?", "... italian and spanish data?") stay refused. The words
    decide, whatever the abstention model's confidence (the question alone has little)."""
    found = _picking(question, retrieved, history) if retrieved.abstain else None
    if found is None or 0 not in found[0]:
        return False
    listed, new, words = found
    return _alone_in(0, listed, new, words) and not new - set().union(*words)  # no asked word no hit has


def listed_first(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]) -> Retrieved:
    """``retrieved`` with the listed paper a "which one ...?" picks by its words moved first, when exactly one of
    the listed papers among the hits holds a word the question adds and the first hit is no listed paper: after a
    list of judge papers, "which one handles multiple modalities?" was answered from a paper not in the list."""
    found = _picking(question, retrieved, history)
    if found is None or 0 in found[0]:
        return retrieved
    listed, new, words = found
    picks = [h for h in sorted(listed) if _alone_in(h, listed, new, words)]
    if len(picks) != 1:
        return retrieved
    hits = list(retrieved.hits)
    return replace(retrieved, hits=(hits.pop(picks[0]), *hits))


def rescued(question: str, retrieved: Retrieved, history: Sequence[dict[str, str]], floor: float) -> bool:
    """Whether a follow-up the abstention model doubts is answered: it points at the chat's one paper
    (``doubted_pointer``) or picks one of the listed papers by its words (``picked_by_its_words``)."""
    return doubted_pointer(question, retrieved, history, floor) or picked_by_its_words(question, retrieved, history)
