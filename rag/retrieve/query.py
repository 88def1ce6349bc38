"""Query handling: acronym <-> expansion pairs mined from the corpus itself, and the surface features of a
query (name-like tokens, numbers) used by the reranker. Normalisation is ``rag.text.normalize_query``.

Acronyms are mined with a simplified Schwartz-Hearst matcher: for every ``long form (ACR)`` in an
abstract, the shortest run of words just before the parenthesis whose letters contain the acronym's
letters in order, the first letter starting a word ("sparse autoencoders (SAEs)", "Max Suppression
(MaxSup)", "Large Language Models (LLMs)"). Only the BM25 query is expanded; the query is embedded once.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rag.text import STOPWORDS, find_numbers, is_acronym, query_names, singular, tokenize, words

_PAREN = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9\-]{1,14})\s*\)")
_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-']*")
_STOP_CHARS = re.compile(r"[.;:!?()\[\]]|,\s")


def _acronym_key(acronym: str) -> str:
    """Case-folded acronym without a plural ``s`` ("SAEs" -> "sae")."""
    return singular(acronym).lower()


def _match_long_form(acronym: str, words: list[str]) -> list[str] | None:
    """The shortest suffix of ``words`` whose letters contain the acronym's letters in order, the
    first one starting a word (Schwartz & Hearst 2003, simplified)."""
    letters = [c.lower() for c in singular(acronym) if c.isalnum()]
    if not letters:
        return None
    limit = min(len(letters) + 5, 2 * len(letters))
    for n in range(1, min(limit, len(words)) + 1):
        candidate = words[-n:]
        if not candidate[0][0].isalnum() or candidate[0][0].lower() != letters[0]:
            continue
        text = " ".join(candidate).lower()
        pos = 0
        ok = True
        for i, ch in enumerate(letters):
            if i == 0:
                pos = 1
                continue
            found = text.find(ch, pos)
            if found < 0:
                ok = False
                break
            pos = found + 1
        if ok and len(candidate) >= 1 and " ".join(candidate).lower() != acronym.lower():
            return candidate
    return None


def mine_acronyms(texts: Iterable[str]) -> dict[str, set[str]]:
    """``acronym key -> {expansion, ...}`` (both lower case) from ``long form (ACR)`` patterns."""
    pairs: dict[str, Counter[str]] = {}
    for text in texts:
        for match in _PAREN.finditer(text):
            acronym = match.group(1)
            if not is_acronym(acronym):
                continue
            before = text[max(0, match.start() - 200) : match.start()]
            stops = list(_STOP_CHARS.finditer(before))
            if stops:
                before = before[stops[-1].end() :]
            candidates = _WORDS.findall(before)
            long_form = _match_long_form(acronym, candidates)
            if long_form is None:
                continue
            expansion = " ".join(long_form).lower()
            if all(w in STOPWORDS for w in expansion.split()):
                continue
            pairs.setdefault(_acronym_key(acronym), Counter())[expansion] += 1
    return {key: set(counts) for key, counts in pairs.items()}


@dataclass(slots=True)
class AcronymTable:
    """Acronym <-> expansion pairs, matched on stemmed tokens in both directions."""

    pairs: dict[str, set[str]] = field(default_factory=dict)
    _expansions: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    _by_first: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[tuple[tuple[str, ...], str]] = set()
        for key, expansions in self.pairs.items():
            for expansion in expansions:
                tokens = tuple(tokenize(expansion))
                if len(tokens) >= 2:
                    seen.add((tokens, key))
        self._expansions = sorted(seen)
        self._by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for tokens, key in self._expansions:
            self._by_first.setdefault(tokens[0], []).append((tokens, key))

    @classmethod
    def mine(cls, texts: Iterable[str]) -> AcronymTable:
        return cls(mine_acronyms(texts))

    def defines(self, acronym: str) -> bool:
        """Whether some abstract defines ``acronym`` ("long form (ACR)")."""
        return _acronym_key(acronym) in self.pairs

    def expand(self, query: str) -> list[str]:
        """Extra BM25 terms for ``query``: expansions of the acronyms it uses, acronyms of the expansions
        it spells out (at most 3 expansions per acronym, in a stable order)."""
        extra: list[str] = []
        for word in words(query):
            key = _acronym_key(word)
            if key in self.pairs:
                for expansion in sorted(self.pairs[key])[:3]:
                    if expansion not in extra:
                        extra.append(expansion)
        tokens = tokenize(query)
        for i, token in enumerate(tokens):
            for expansion_tokens, key in self._by_first.get(token, ()):
                if tuple(tokens[i : i + len(expansion_tokens)]) == expansion_tokens and key not in extra:
                    extra.append(key)
        return extra


@dataclass(frozen=True, slots=True)
class Query:
    """A normalised query with what the stages need: BM25 tokens (expanded), names and numbers."""

    text: str
    tokens: tuple[str, ...]
    """Stemmed content tokens of the query itself."""
    bm25_tokens: tuple[str, ...]
    """``tokens`` plus the acronym expansions' tokens."""
    names: tuple[str, ...]
    """Acronym / coined-name tokens as written ("MaxSup", "SeerAttention-R", "LAWN")."""
    numbers: tuple[str, ...]
    bigrams: tuple[str, ...]
    idf: tuple[float, ...] = ()
    """Inverse document frequency of each of ``tokens`` in the index (empty: all weigh the same)."""
    oov: float = 0.0
    """Share of the query's idf mass in tokens that occur nowhere in the index."""


_LETTERS_DIGITS = re.compile(r"^([a-z]+)(\d+)$")


def _hyphenated(token: str, doc_freq: Callable[[str], tuple[int, int]]) -> str:
    """``token`` as the index mostly writes it when typed without the hyphen: "gpt2" -> "gpt-2", "llama3" ->
    "llama-3" (when more documents hold the hyphenated form than the typed one)."""
    match = _LETTERS_DIGITS.match(token)
    if not match:
        return token
    joined = f"{match.group(1)}-{match.group(2)}"
    return joined if doc_freq(joined)[0] > doc_freq(token)[0] else token


def parse_query(
    text: str, acronyms: AcronymTable | None = None, doc_freq: Callable[[str], tuple[int, int]] | None = None
) -> Query:
    """Tokens, expansion, names and numbers of an already normalised query; ``doc_freq(token)`` gives
    ``(documents containing it, documents)`` for idf weights."""
    tokens = tuple(tokenize(text))
    extra = acronyms.expand(text) if acronyms is not None else []
    if doc_freq is not None:  # "gpt2" typed, "GPT-2" written: its tokens too
        extra += [joined for t in tokens if (joined := _hyphenated(t, doc_freq)) != t]
    expansion_tokens = [t for phrase in extra for t in tokenize(phrase) if t not in tokens]
    names = tuple(dict.fromkeys(query_names(text)))
    numbers = tuple(find_numbers(text))
    bigrams = tuple(dict.fromkeys(f"{a} {b}" for a, b in itertools.pairwise(tokens)))
    idf: tuple[float, ...] = ()
    oov = 0.0
    if doc_freq is not None and tokens:
        counts = [doc_freq(t) for t in tokens]
        idf = tuple(math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for df, n in counts)
        total = sum(idf)
        oov = sum(w for w, (df, _) in zip(idf, counts, strict=True) if df == 0) / total if total else 0.0
    bm25_tokens = tokens + tuple(dict.fromkeys(expansion_tokens))
    return Query(text, tokens, bm25_tokens, names, numbers, bigrams, idf, oov)
