"""Definition questions and definitions: whether a question asks what something is ("what is X?", "what does X
stand for?"), the term it asks about, and whether a text defines that term."""

from __future__ import annotations

import re

_MEANS = (r"what (?:does|do) (?:the )?(?!(?:it|they|you|we|authors)\b)(?P<term>\S+(?:\s+\S+){0,3}?) "
          r"(?:stand for\b|mean\W*$)")
DEFINITION = re.compile(rf"^\s*(?:what(?:'s|s)\b|what (?:is|are)\b|define\b|{_MEANS})", re.IGNORECASE)
"""A definition question: "what is X", "what's X" (and the typed "whats X"), "define X", "what does X stand for",
"what does early dropout mean"."""


_DEFINED = re.compile(r"^\s*(?:what(?:'s|s| is| are)|define|explain what)\s+(?:the |an? )?(?P<term>[^?]+?)(?: is| are)?"
                      r"\s*\??\s*$", re.IGNORECASE)


_STANDS_FOR = re.compile(rf"^\s*{_MEANS}", re.IGNORECASE)


def asks_definition(question: str) -> bool:
    """Whether ``question`` asks what something is (``DEFINITION``), not an aspect of a named thing ("what is the main
    contribution of DIMAT?" is a lookup)."""
    return bool(DEFINITION.search(question)) and bool(defined_term(question) or not _ASPECT_WORD.search(question))


_ASPECT_WORD = re.compile(r"\bof\b", re.IGNORECASE)


def defined_term(question: str) -> str:
    """The term a definition question asks about ("What is sparsemax?" -> "sparsemax", "what does SAE stand
    for?" -> "SAE"); "" when there is none, when it is longer than four words (then it is a question about
    something else), or when it is an aspect of a named thing ("the main contribution of DIMAT")."""
    match = _DEFINED.match(question) or _STANDS_FOR.match(question)
    term = match.group("term").strip() if match else ""
    return term if term and len(term.split()) <= 4 and not _ASPECT_OF.search(term) else ""


_ASPECT_OF = re.compile(r"\bof\s+(?:the\s+)?\S*(?:[A-Z]\S*[A-Z]|\d)", re.UNICODE)
"""An aspect of a coined name: "main contribution of DIMAT", "training cost of λ-ECLIPSE", "key insight of
CoreInfer" (a capital after the first letter, or a digit)."""


def defines(term: str, text: str, long_form: bool = True) -> bool:
    """Whether ``text`` defines ``term``: "sparsemax, a new activation function", "X is a ...", "X (…) is
    the ...", "X: ...", or introduces it by name ("we propose X", "we propose **X**", "called X", "to which we
    refer as "X"", "Our approach, X, ..."; not "the proposed X", which only mentions it, nor "a version of X,
    which ...", where the clause is about the version; "the objective of X is to ..." does). With ``long_form``
    the long form before "(X)" counts too ("contrastive language-image pretraining (CLIP)": what X stands for,
    not how it works)."""
    name = r"[\s-]+".join(re.escape(word) for word in term.split())
    term_ = rf"\b{name}\b\)?(?:\s*\([^)]{{0,60}}\))?\s*"  # the term, maybe with "(...)" after it
    after = (rf"{term_}(?:,\s*(?:a|an|the|i\.e\.)\b|(?:is|are|refers to|denotes|means)\s+(?:a|an|the|to)\b)"
             rf"|(?<!\bof ){term_}(?:,\s*(?:which|that)\b|:)")  # "X: ...", "X, which ...", not "of X: ..."
    naming = (rf"\b(?:(?<!the )(?<!our )(?:propos|introduc|present)\w*|call|dub|nam|term|refer(?:red)?(?: to)? as)"
              rf"\w*\s+(?:[\w-]+\s+){{0,3}}?(?:\(\w+\)\s+)?[\"'“‘*]{{0,2}}{name}\b(?!-\w)"
              rf"|\b(?:our|this) (?:approach|method|model|framework|technique|algorithm),?\s+{name}\b"
              + (rf"|\w\s+\({name}s?\)" if long_form else ""))  # "... sparse autoencoders (SAEs)": the long form
    return re.search(f"{after}|{naming}", text, re.IGNORECASE) is not None
