"""Acronyms the corpus never writes, read by their initials: "LJP papers" finds "legal judgment prediction" and
"ECtHR" finds "European Court of Human Rights" when no abstract writes the acronym or defines it ("long form
(ACR)", which ``rag.retrieve.query.AcronymTable`` mines).

The phrase is the one the most papers write whose words start with the acronym's capitals in order (short function
words between them allowed, the words giving the initials no stopwords and not themselves abbreviations), written
by at least two papers and by 1.5 times as many as the next such phrase. It replaces the acronym in the question
before every stage (``RetrievalChain.prepare``), as a typo's correction does. The texts are scanned for an acronym
the first time one is asked (a regular expression over every title and abstract), then remembered until the index
changes."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable

from rag.text import STOPWORDS

MIN_PAPERS = 2
"""Papers that must write a phrase for it to stand for an acronym."""
MAX_LOOKED_UP = 2
"""Acronyms of one question looked up in the texts (each scan reads every abstract): a pasted list of 265 random
capitalised words had taken 6 s."""
MAX_SCANNED = 20_000
"""Papers read for one acronym: a phrase many papers write is in the first 20,000 too, and a lookup stays near a
second (1.5 s for 9,500 texts of 3,600 characters) on a 100,000-paper index."""
MAX_REMEMBERED = 4096
"""Acronyms remembered (with their phrase or none) before the memory is cleared."""
MARGIN = 1.5
"""How many times as many papers as the next phrase with the same initials the chosen phrase needs."""
_ACRONYM = re.compile(r"^(?=(?:[^A-Z]*[A-Z]){3,6}[^A-Z]*$)[A-Z][A-Za-z]{2,7}$")
"""A typed acronym: three to six capitals, letters only ("LJP", "ECtHR", "LLMs"). Two letters are too few: in the
bundled corpus "MT" would be "models trained", "KD" "KL divergence"."""
_ABBREVIATED = re.compile(r"\b[A-Z]{2,}")
_WORD = re.compile(r"(?<![\w-])[A-Za-z]+(?![\w-])")
_GLUE = r"(?:[\s-]+(?:of|for|and|the|in|on|to|with|a|an|from|by)){0,2}[\s-]+"


def _pattern(acronym: str) -> re.Pattern[str]:
    capitals = [c.lower() for c in acronym.rstrip("s") if c.isupper()]
    return re.compile(r"\b" + _GLUE.join(rf"{c}[a-z]+" for c in capitals) + r"\b", re.IGNORECASE)


def spelled_phrase(acronym: str, texts: Iterable[str], min_papers: int = MIN_PAPERS) -> str:
    """The phrase ``texts`` (one per paper) most often write for ``acronym`` (lower case), "" when none is clear."""
    pattern, capitals = _pattern(acronym), len([c for c in acronym.rstrip("s") if c.isupper()])
    counts: Counter[str] = Counter()
    for text in texts:
        found = [m.group(0) for m in pattern.finditer(text) if not _ABBREVIATED.search(m.group(0))]
        phrases = (" ".join(p.lower().replace("-", " ").split()) for p in found)  # "KL divergence" is no KD
        counts.update({p for p in phrases if len([w for w in p.split() if w not in STOPWORDS]) == capitals})
    ranked = counts.most_common(2)  # "state of the art methods" is no SAM: "methods" is a stopword
    if not ranked or ranked[0][1] < min_papers or (len(ranked) == 2 and ranked[0][1] < MARGIN * ranked[1][1]):
        return ""
    return ranked[0][0]


class Initials:
    """The phrases of the acronyms a query types that the corpus never writes, found once each."""

    def __init__(self, texts: Callable[[], Iterable[str]], known: Callable[[str], bool]) -> None:
        self._texts, self._known = texts, known
        self._found: dict[str, str] = {}

    def spell(self, query: str) -> str:
        """``query`` with each acronym the corpus never writes nor defines (``known``) replaced by its phrase, when
        one is clear ("LJP papers" -> "legal judgment prediction papers"); every other word as typed. At most
        ``MAX_LOOKED_UP`` acronyms not yet remembered are looked up per question."""
        looked: list[str] = []

        def phrase(match: re.Match[str]) -> str:
            word = match.group(0)
            if not _ACRONYM.match(word) or self._known(word):
                return word
            if word not in self._found:
                if len(looked) >= MAX_LOOKED_UP:
                    return word
                looked.append(word)
                if len(self._found) >= MAX_REMEMBERED:  # a long-running server asked ever new acronyms
                    self._found.clear()
                self._found[word] = spelled_phrase(word, itertools.islice(self._texts(), MAX_SCANNED))
            return self._found[word] or word

        return _WORD.sub(phrase, query)
