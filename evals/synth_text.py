"""Corpus analysis for ``evals/synth.py``: stemmed n-gram document frequencies and postings (terms never
cross punctuation), keyphrases only one abstract has, terms several share, coined names, title topics."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache, cached_property

import Stemmer

from rag.text import STOPWORDS, is_acronym, sentences
from rag.types import Paper

Term = tuple[str, ...]
WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
CLAUSE = re.compile(r"https?://\S+|\S*/\S*|[^\w\s'-]|(?<![A-Za-z0-9])['-]|['-](?![A-Za-z0-9])")
"""Where a term stops: links, paths, punctuation, quotes and dashes that are not inside a word."""
GENERIC = frozenset(
    """results result experiments experiment performance model models task tasks data also however significantly
    state-of-the-art existing different various key novel framework frameworks demonstrate effective effectiveness
    extensive propose present introduce first well large small high low better best many several one two three
    can may our this study studies work recent recently further benchmark benchmarks code available github across
    even still often way ways provide provides improve improves improved learning training trained able without
    within given including problem problems settings setting success important challenging crucial significant
    promising superior strong remarkable impressive potential wide broad approaches paper art analysis""".split()  # noqa: SIM905
)
VERBISH = frozenset(
    """achieve achieves achieved achieving obtain obtains reach reaches brings bring improving outperforms
    outperforming reduces reducing consumes consisting consisted contains estimate recalling delivering validated
    selected demonstrates shows show boost boosts gains yields yield enables allows leads surpasses compared
    compare identifies shrinks makes make remains remain requires require becomes become suggests suggest
    using uses use explores explore called named termed known""".split()  # noqa: SIM905
)
STOP = STOPWORDS | {"et", "al", "e.g", "i.e", "etc", "via", "also", "thus", "while", "whereas", "among", "e", "g"}
ING_NOUNS = frozenset(
    """learning training tuning fine-tuning reasoning embedding embeddings modeling modelling encoding clustering
    sampling pruning matching pretraining pre-training understanding forgetting planning ranking labeling
    labelling""".split()  # noqa: SIM905
)
_STEMMER = Stemmer.Stemmer("english")


@cache
def stem(word: str) -> str:
    """The Snowball stem of a lower-cased word (the BM25 tokeniser's stemmer); stopwords kept as they are."""
    lower = word.lower()
    return lower if lower in STOP else str(_STEMMER.stemWord(lower))


def clauses(text: str) -> list[list[str]]:
    """The words of each punctuation-free stretch of ``text`` (terms never span a comma or a link)."""
    return [ws for part in CLAUSE.split(text) if (ws := WORD.findall(part))]


def is_content(word: str) -> bool:
    low = word.lower()
    return low not in STOP and low not in VERBISH and not low.endswith("ly") and not low.isdigit() and len(low) > 1


@cache
def display(word: str) -> str:
    """A word as shown in generated text: names as written, other words lower case."""
    return word if is_acronym(word) else word.lower()


def is_name(word: str) -> bool:
    """A coined name ("LoRA", "P2Seg", "SeerAttention-R"), not a capitalised compound ("Image-Language")."""
    return is_acronym(word) and not re.fullmatch(r"[A-Z][a-z]+(?:-[A-Za-z][a-z]+)+", word)


def reads_as_phrase(run: list[str]) -> bool:
    """Heuristic noun phrase: not opening on a generic word, not ending on a participle ("-ing"/"-ed" that is
    not a common noun such as "learning")."""
    first, last = run[0].lower(), run[-1].lower()
    return first not in GENERIC and (last in ING_NOUNS or not re.search(r"(?:ing|ed)$", last))


class Text:
    """The corpus, analysed once: every lookup the question kinds need (papers in id order)."""

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = sorted(papers, key=lambda p: p.id)
        self.clauses = {p.id: clauses(p.title) + clauses(p.abstract) for p in self.papers}
        self.grams: dict[str, Counter[Term]] = {}
        self.postings: dict[Term, list[str]] = {}
        self.stemmed = {pid: [[stem(w) for w in ws] for ws in parts] for pid, parts in self.clauses.items()}
        self._written: Counter[tuple[Term, str]] = Counter()
        for pid, parts in self.clauses.items():
            grams: Counter[Term] = Counter()
            for ws, stems in zip(parts, self.stemmed[pid], strict=True):
                shown = [display(w) for w in ws]
                for n in (1, 2, 3):
                    for i in range(len(ws) - n + 1):
                        term = tuple(stems[i : i + n])
                        grams[term] += 1
                        self._written[term, " ".join(shown[i : i + n])] += 1
            self.grams[pid] = grams
            for term in grams:
                self.postings.setdefault(term, []).append(pid)
        self.by_id = {p.id: p for p in self.papers}
        self.df: Counter[Term] = Counter({term: len(pids) for term, pids in self.postings.items()})
        self.title_grams = {g for p in self.papers for ws in clauses(p.title) for g in _grams(ws)}
        self.tokens: dict[str, set[str]] = {}
        for pid, parts in self.clauses.items():
            for word in {w for ws in parts for w in ws}:
                self.tokens.setdefault(word, set()).add(pid)

    @cache  # noqa: B019 - one Text per run, papers are few
    def sentences(self, paper: Paper) -> list[str]:
        found = [s for s in sentences(paper.abstract) if 6 <= len(s.split()) <= 60]
        return found or [paper.abstract[:300]]

    def is_specific(self, paper: Paper, sentence: str) -> bool:
        """A sentence that points at its paper: two or more words at most five abstracts use, no links."""
        if re.search(r"https?:|github|code (?:is|are|will be) (?:publicly )?available", sentence, re.I):
            return False
        rare = {stem(w) for w in WORD.findall(sentence) if w.lower() not in STOP and self.df[(stem(w),)] <= 5}
        return len(rare) >= 2 and len(sentence.split()) >= 8

    @cache  # noqa: B019
    def unique_phrases(self, paper: Paper) -> list[str]:
        """Keyphrases (2-3 content words within a clause) no other paper contains, rarest first."""
        scored: dict[str, float] = {}
        for ws, stems in zip(self.clauses[paper.id], self.stemmed[paper.id], strict=True):
            for n in (2, 3):
                for i in range(len(ws) - n + 1):
                    term = tuple(stems[i : i + n])
                    run = ws[i : i + n]
                    if self.df[term] == 1 and all(map(is_content, run)) and reads_as_phrase(run):
                        scored[" ".join(map(display, run))] = sum(1.0 / self.df[(s,)] for s in term)
        ranked = sorted(scored, key=lambda t: (-scored[t], t))
        picked: list[str] = []
        for text in ranked:  # no two picks sharing a word
            if not set(text.split()) & {w for p in picked for w in p.split()}:
                picked.append(text)
        return picked[:8]

    def shared_terms(self, low: int, high: int) -> list[Term]:
        """Terms in ``low``..``high`` papers: 2-3 content words (or one coined name) that read as a topic
        (in some title, or repeated within one abstract)."""
        terms: list[Term] = []
        for term, df in self.df.items():
            if not low <= df <= high:
                continue
            if len(term) == 1:
                if any(is_name(w) and len(w) >= 3 for w in self.surfaces[term]):
                    terms.append(term)
                continue
            words = self.surface(term).split()
            topical = term in self.title_grams or any(self.grams[p.id][term] > 1 for p in self.containing(term))
            if topical and all(map(is_content, words)) and not any(w in GENERIC for w in words):
                terms.append(term)
        return sorted(terms)

    def containing(self, term: Term) -> list[Paper]:
        return [self.by_id[pid] for pid in self.postings.get(term, ())]

    @cached_property
    def surfaces(self) -> dict[Term, Counter[str]]:
        """Every way the corpus writes each term, with counts."""
        out: dict[Term, Counter[str]] = {}
        for (term, written), count in self._written.items():
            out.setdefault(term, Counter())[written] = count
        return out

    def surface(self, term: Term) -> str:
        """The most common way the corpus writes a term (lower case unless it is a name)."""
        return sorted(self.surfaces[term].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]

    @cache  # noqa: B019
    def name(self, paper: Paper) -> str | None:
        """The paper's coined name ("NNN", "SeerAttention-R"), if no other paper's text uses it."""
        head = paper.title.split(":")[0].strip()
        candidates = [head] if ":" in paper.title and len(head.split()) == 1 else []
        candidates += [w for w in WORD.findall(paper.title) if is_name(w)]
        for name in candidates:
            if (is_name(name) or any(c.isdigit() for c in name)) and len(self.tokens.get(name, ())) == 1:
                return name
        return None

    def topic(self, paper: Paper) -> str:
        """The title's subject, to follow "a paper on": the longer side of a colon, lower-cased, <= 12 words."""
        parts = [p.strip() for p in paper.title.split(":", 1)]
        title = max(parts, key=lambda p: sum(map(is_content, WORD.findall(p))))
        title = re.sub(r"^(?:A|An|The|On|Towards?)\s+", "", re.split(r"[?!]", title)[0].strip())
        words = title.split()[:12]
        while len(words) > 2 and words[-1].lower() in STOP:
            words.pop()
        return " ".join(map(display, words))

def _grams(words: list[str]) -> set[Term]:
    stems = [stem(w) for w in words]
    return {tuple(stems[i : i + n]) for n in (1, 2, 3) for i in range(len(stems) - n + 1)}
