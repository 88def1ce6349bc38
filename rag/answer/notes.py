"""Notes: sentences an answerer writes about its sources rather than quotes from them — that an abstract does
not state the asked detail, that the corpus has a paper on a topic ("Yes: <title>") or which paper it is ("Paper:
<title>"), that no retrieved paper is about a compared method, what a paper's record lists (its authors, year,
venue, link), that a list's next papers are weaker matches. The citation checker checks a note by the name it
gives (it must be the cited paper's), and a record note by its values (each must be the cited paper's own:
``record_matches``); the eval metrics do not count a note as a claim (``rag.evals.metrics.answer_units``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.index.vocabulary import common_words
from rag.text import normalize_title, short_title, strip_markers, tokenize
from rag.types import Paper

WEAKER_MATCHES = "Weaker matches (lower retrieval scores):"
"""The line of a list answer above the papers it lists as weaker matches (``rag.answer.compose.choose.listed``)."""
NOT_STATED = "does not state"
"""The phrase of a not-stated note (evals count an unanswerable item answered with it as flagged)."""
_TITLE_NOTE_WORDS = "Yes|Paper|Closest match"
"""What a note naming a paper by its title starts with ("Yes: <title>", "Paper: <title>", "Closest match: <title>")."""
_NOTE = re.compile(
    rf"^\s*(?:The (?P<subject>.{{1,160}}?) abstracts? (?:does|do) not state\b|"
    r'The abstract of "(?P<quoted>.{1,300}?)" does not state\b|'
    rf"(?:{_TITLE_NOTE_WORDS}): (?P<title>.+)$|"
    r"No retrieved (?:abstract (?:covers|mentions)|paper is about)\b|None of the retrieved abstracts\b|"
    r".{1,200}? (?:is|are) not stated in any retrieved abstract\b|The record of (?P<record>.{1,160}?) lists\b|"
    r"The .{1,300}? itself is not among the retrieved abstracts\b|"
    rf"{re.escape(WEAKER_MATCHES)}$)",
    re.IGNORECASE | re.DOTALL,
)


def not_stated_sentence(subject: str, detail: str) -> str:
    """"The <subject> abstract does not state <detail>." (``detail`` as it should read after "state"); a subject
    that is a long title, or one holding a sentence's end ("Do I Know This Entity? Knowledge Awareness ..."), is
    quoted: 'The abstract of "<title>" does not state <detail>.', one sentence (``rag.text.answer_sentences``)."""
    if len(subject.split()) > _SHORT_NAME_WORDS or re.search(r"[.?!]\s", subject):
        return f'The abstract of "{subject}" {NOT_STATED} {detail}.'
    return f"The {subject} abstract {NOT_STATED} {detail}."


_SHORT_NAME_WORDS = 4
"""A subject of at most this many words reads as a name before "abstract" ("The From Softmax to Sparsemax abstract")."""


def unowned_sentence(paper: str) -> str:
    """"The ResNet paper itself is not among the retrieved abstracts, so what it says is not stated; ..." for a
    paper the question names that no retrieved paper is (``rag.answer.compose.absent.unowned_paper``)."""
    return f"The {paper} itself is not among the retrieved abstracts, so what it says is not stated; the closest " \
           "evidence follows."


def unmentioned_sentence(names: list[str]) -> str:
    """"X is not stated in any retrieved abstract." for names the question gives that no retrieved paper has."""
    verb = "is" if len(names) == 1 else "are"
    return f"{' and '.join(names)} {verb} not stated in any retrieved abstract; the closest evidence follows."


SURE_EXISTS = 0.8
"""The abstention model's confidence above which "Is there a paper on X?" is answered "Yes: <title>". Every
answerable existence question of the fitting sets scores at least 0.83; off-topic ones a reviewer typed ("... on
reinforcement learning for robot locomotion?", "... graph neural networks for molecules?") passed the abstention
threshold at 0.55-0.74 and were told "Yes" with a paper on neither."""


def existence_sentence(question: str, title: str, confidence: float) -> str:
    """"Yes: <title>" when the corpus surely has a paper on the asked topic (``SURE_EXISTS``) or the title holds
    every word of the topic ("is there a paper about mamba?": "An Empirical Study of Mamba-based Language Models"),
    else "Closest match: <title>", which claims no more than that it is the nearest paper."""
    topic = set(tokenize(question)) - _EXISTENCE_WORDS
    typed = {w.strip(_PUNCT) for w in question.split()}
    words = [w.strip(_PUNCT) for w in title.split()]  # "chess" is not CHESS; "CHESS" and "DIMAT" are
    kept = " ".join(w for w in words if w in typed or not _acronym_of_a_word(w))
    sure = confidence >= SURE_EXISTS or bool(topic and topic <= set(tokenize(kept)))
    return f"{'Yes' if sure else 'Closest match'}: {' '.join(title.split())}"


def which_paper_sentence(title: str, confidence: float, score: float, sure_score: float, owned: bool = False) -> str:
    """"Paper: <title>" for "Which paper ...?" when the abstention model is sure (``SURE_EXISTS``) and the paper is
    a sure match (its reranker ``score`` at least ``sure_score``, the score from which a list names a paper among
    its sure matches), or the paper ``owned`` the name asked about (its title's or its abstract's own coinage), else
    "Closest match: <title>". A title holding the question's topic words proves that such a paper exists, not that
    it is the one asked for, so that does not count here."""
    sure = owned or (confidence >= SURE_EXISTS and score >= sure_score)
    return f"{'Paper' if sure else 'Closest match'}: {' '.join(title.split())}"


_PUNCT = ":,.;!?()"


def _acronym_of_a_word(word: str) -> bool:
    """A title word in capitals that spells an ordinary word ("CHESS", "LISTEN"): the paper's name, not its topic."""
    return len(word) > 1 and word.isupper() and word.lower() in common_words()


_EXISTENCE_WORDS = frozenset(tokenize("is are was there any a an the paper papers work works study studies research "
                                      "on about that which does do corpus have has contain include anyone"))


def no_paper_sentence(names: list[str]) -> str:
    """"No retrieved paper is about X." for compared names no retrieved paper is about; "" for no names."""
    return f"No retrieved paper is about {', '.join(names)}." if names else ""


_TITLE_NOTE = re.compile(rf"^\s*(?:{_TITLE_NOTE_WORDS}): ", re.IGNORECASE)


def is_title_note(line: str, titles: Sequence[str]) -> bool:
    """Whether ``line`` is a note naming one of ``titles`` whole ("Paper: Do I Know This Entity? Knowledge ...
    [1]"): one sentence, whatever "?" or "." its title holds."""
    found = _TITLE_NOTE.match(line)
    named = " ".join(strip_markers(line[found.end() :]).split()) if found else ""
    return bool(named) and any(named == " ".join(t.split()) for t in titles)


def is_note(sentence: str) -> bool:
    """Whether ``sentence`` (markers allowed) is a note about the sources, not a claim taken from them."""
    return _NOTE.match(strip_markers(sentence)) is not None


def is_record(sentence: str) -> bool:
    """Whether ``sentence`` is a record note ("The record of X lists authors: ...") or an unrecorded one ("The X
    abstract does not state its authors, and its record gives none.")."""
    match = _NOTE.match(strip_markers(sentence))
    return bool(match and (match.group("record") or _unrecorded(sentence)))


def _unrecorded(sentence: str) -> bool:
    """Whether ``sentence`` ends as an unrecorded note does ("..., and its record gives none.")."""
    return strip_markers(sentence).rstrip(" .").endswith(_NONE)


def note_names(sentence: str) -> str:
    """The paper a note names ("SkillNet" in "The SkillNet abstract does not state ...", the title after
    "Yes: "); "" for a note that names none."""
    match = _NOTE.match(strip_markers(sentence))
    if not match:
        return ""
    named = match.group("subject") or match.group("quoted") or match.group("title") or match.group("record")
    return (named or "").strip().rstrip(".")


def names_paper(name: str, title: str, abstract: str) -> bool:
    """Whether ``name`` (from a note) is the paper ``title``/``abstract``: the title itself, or every content
    word of ``name`` in the title or abstract."""
    if normalize_title(name) and normalize_title(name) == normalize_title(title):
        return True
    words = set(tokenize(name))
    return bool(words) and words <= set(tokenize(f"{title} {abstract}"))


RECORD_FIELDS = ("authors", "year", "venue", "link")
"""What a paper's record (its metadata, not its abstract) can answer, in the order a record note lists them."""
MAX_AUTHORS = 10
"""A record note names this many authors, then says how many more there are."""


def record_values(paper: Paper) -> dict[str, str]:
    """The ``RECORD_FIELDS`` the paper's record has, as a record note writes them."""
    authors = list(paper.authors[:MAX_AUTHORS])
    if len(paper.authors) > MAX_AUTHORS:
        authors.append(f"and {len(paper.authors) - MAX_AUTHORS} more")
    year = paper.year or (int(paper.date[:4]) if paper.date and paper.date[:4].isdigit() else None)
    values = {"authors": ", ".join(authors), "year": str(year or ""), "venue": paper.venue or "",
              "link": paper.url or ""}  # fmt: skip
    return {k: " ".join(v.split()) for k, v in values.items() if v.strip()}


def record_sentence(name: str, paper: Paper, fields: Sequence[str]) -> str:
    """"The record of <name> lists authors: A, B; year: 2016." for the ``fields`` the paper's record has; "" for
    none of them."""
    values = record_values(paper)
    listed = [f"{f}: {values[f]}" for f in RECORD_FIELDS if f in fields and f in values]
    return f"The record of {name} lists {'; '.join(listed)}." if listed else ""


def record_matches(sentence: str, paper: Paper) -> bool:
    """Whether a record note (``record_sentence``) names the cited paper (its title or short name) and gives
    exactly its own values; or, for an unrecorded note (``unrecorded_sentence``), whether the paper's record
    lacks every field the note says it lacks."""
    match = _NOTE.match(strip_markers(sentence))
    subject = match.group("subject") or match.group("quoted") if match else None
    if subject and _unrecorded(sentence):
        fields = [f for f in RECORD_FIELDS if _ASKED[f] in sentence]
        said = " ".join(strip_markers(sentence).split())
        lacking = fields and not set(fields) & set(record_values(paper))
        return bool(lacking) and said == unrecorded_sentence(subject, fields)
    name = match.group("record") if match else None
    own = {normalize_title(paper.title), normalize_title(short_title(paper.title))}
    if not name or normalize_title(name) not in own:
        return False
    fields = [f for f in RECORD_FIELDS if re.search(rf"(?:lists |; ){f}: ", sentence)]
    expected = record_sentence(name, paper, fields)
    return bool(expected) and " ".join(strip_markers(sentence).split()) == expected


def unrecorded_sentence(subject: str, fields: Sequence[str]) -> str:
    """"The <subject> abstract does not state its authors or its publication year, and its record gives none."
    (a not-stated note: the fields asked for that the paper's record lacks)."""
    asked = [_ASKED[f] for f in RECORD_FIELDS if f in fields]
    what = ", ".join(asked[:-1]) + f" or {asked[-1]}" if len(asked) > 1 else asked[0]
    return f"{not_stated_sentence(subject, what)[:-1]}, {_NONE}."


_NONE = "and its record gives none"
_ASKED = {"authors": "its authors", "year": "its publication year", "venue": "where it was published",
          "link": "a link to it"}  # fmt: skip
