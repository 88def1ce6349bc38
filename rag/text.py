"""Every text rule of the project, used alike by indexing, answering, the UI and the evals.

- **Sentences**: ``split_sentences`` gives the sentence spans of an abstract (stored sentence indexes and
  highlighted quotes depend on them); ``answer_sentences`` splits an answer with the same rules, each
  sentence keeping the citation markers that follow it.
- **Citation markers**: ``[n]``, ``[n, m]``, ``[n-m]``, ``[Source n]``, ``【n】``. Enumerations such as
  "(1)", "(2)" or "(i)" are text, never markers, and a bracket holding a 0 ("maps R to [0,1]") is not one
  either (sources are numbered from 1). Stripping a marker removes only the marker and the space before it.
- **Numbers** written with digits (``1,000`` -> ``1000``, ``42.5%`` -> ``42.5``), digits inside names
  (``QM9``, ``H100``) left out.
- **Normalisation**: for verbatim comparisons, for titles (ids, de-duplication), for queries.
- **Quotes with gaps**: ``"A … B"`` quotes A and B, in that order, from one source (``quote_parts``,
  ``parts_in_order``): the composer's sub-sentence quotes, checked alike by the citation checker and the evals.
- **Links**: ``find_urls`` (``http(s)://`` and ``www.`` addresses), for the papers' code links and the checker's
  rule that an answer links only to addresses its cited abstracts contain.
- **Words**: the BM25 tokeniser (stemmed, stopwords out) and the content words built on it.
- **Names**: acronyms and coined names, their plural, the question words, the "we" of an abstract.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from rag.types import Span

# ---------------------------------------------------------------------------------------------- sentences

ABBREVIATIONS = frozenset(
    "e.g i.e al cf vs fig figs eq eqs sec secs no nos approx resp dr prof mr ms st ca viz incl".split()  # noqa: SIM905
)
"""Words after which a period does not end a sentence. Not "etc": "A, B, etc. We show" ends one far more
often than "etc." sits before a capital mid-sentence. Single capital initials ("J. Smith") do not end one
either; a single lower-case letter ("for each x.") is a variable that can."""

# Candidate boundary: terminal punctuation (with closing quotes/brackets), whitespace, then a sentence start
# (capital, digit, opening quote/bracket). Decimals, versions, arXiv ids and URLs have no whitespace after
# their periods, so they never end a sentence.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|[。！？]+[」』”’）)]*\s*(?=\S)")
"""... or a full-width "。", "！" or "？" (Chinese, Japanese), which needs no space or capital after it."""
_LAST_WORD = re.compile(r"(\S+)$")


def _is_abbreviation(text_before: str) -> bool:
    match = _LAST_WORD.search(text_before)
    if not match:
        return False
    word = match.group(1).rstrip(".").lstrip("([\"'")
    return word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper())


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``: a period, "?" or "!" (with any closing quotes or brackets) ends a sentence
    when whitespace and a sentence start follow and the word before it is no abbreviation; "。", "！" and "？"
    end one wherever text follows."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _is_abbreviation(text[start : match.start()]):
            continue
        spans.append(Span(start, match.start() + len(match.group(0).rstrip())))
        start = match.end()
    if text[start:].strip():
        spans.append(Span(start, len(text.rstrip())))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (``split_sentences`` spans as strings)."""
    return [text[s.start : s.end] for s in split_sentences(text)]


# ---------------------------------------------------------------------------------------------- markers

_NUM = r"(?!0)\d{1,3}"
_LIST = rf"{_NUM}(?:\s*[-–—]\s*{_NUM})?(?:\s*[,;]\s*{_NUM}(?:\s*[-–—]\s*{_NUM})?)*"
MARKER = re.compile(
    rf"\[\s*(?:(?:sources?|refs?|papers?)\s*)?(?P<sq>{_LIST})\s*\]|【\s*(?P<cjk>{_LIST})\s*】", re.IGNORECASE
)
"""A citation marker: ``[1]``, ``[1, 2]``, ``[1-3]``, ``[Source 1]``, ``【1】``."""
WORD_JOINER = "\u2060"
"""Invisible, and not a space: put after the bracket of a marker-like ``[2]`` quoted from an abstract."""


def defuse_markers(text: str) -> str:
    """``text`` (quoted from an abstract) with each marker-like ``[2, 3]`` made inert: a ``WORD_JOINER`` after its
    opening bracket, so it looks the same but is not read as a citation of the answer's sources.
    ``normalize_verbatim`` drops the joiner again, so the quote still checks as verbatim."""
    return MARKER.sub(lambda m: m.group(0)[0] + WORD_JOINER + m.group(0)[1:], text)


_SPACED_MARKER = re.compile(rf"[ \t]*(?:{MARKER.pattern})", re.IGNORECASE)
_CODE = re.compile(r"^[ \t]*```.*?(?:^[ \t]*```|\Z)|(?<!`)`(?!`)[^`\n]+(?<!`)`(?!`)", re.DOTALL | re.MULTILINE)
"""Markdown code: a fenced block (its fence at the start of a line) or a span between single backticks. Not
LaTeX's ``quotes'', whose doubled backticks open no span."""
_LEADING_MARKERS = re.compile(rf"(?:\s*(?:{MARKER.pattern}))+", re.IGNORECASE)
_NEXT_SENTENCE = re.compile(r"\s+(?:…|[\"'“‘(]?[A-Z0-9])")


@dataclass(frozen=True, slots=True)
class Marker:
    """One citation marker in a text: where it is and the source numbers it names."""

    start: int
    end: int
    numbers: tuple[int, ...]


def _expand(numbers: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", numbers.strip()):
        bounds = re.split(r"\s*[-–—]\s*", part)
        if len(bounds) == 2:
            lo, hi = int(bounds[0]), int(bounds[1])
            out.extend(range(lo, hi + 1) if lo <= hi and hi - lo <= 20 else (lo, hi))
        elif part:
            out.append(int(part))
    return tuple(dict.fromkeys(out))


def _citations(pattern: re.Pattern[str], text: str, start: int = 0, end: int | None = None) -> list[re.Match[str]]:
    """Matches of a marker ``pattern`` in ``text[start:end]`` outside Markdown code: ``x[1]`` in a code span or
    block is indexing, not a citation."""
    found = list(pattern.finditer(text, start, len(text) if end is None else end))
    if not found or "`" not in text:
        return found
    code = [m.span() for m in _CODE.finditer(text)]
    return [m for m in found if not any(a <= m.end() - 1 and m.start() < b for a, b in code)]


def parse_markers(text: str) -> list[Marker]:
    """Every citation marker of ``text``, in order; a range names every number in it (``[2-4]``: 2, 3, 4)."""
    return [
        Marker(m.start(), m.end(), _expand(m.group("sq") or m.group("cjk") or "")) for m in _citations(MARKER, text)
    ]


def markers_in(text: str) -> list[int]:
    """The source numbers of every marker in ``text``, in order, repeats kept."""
    return [n for marker in parse_markers(text) for n in marker.numbers]


def strip_markers(text: str) -> str:
    """``text`` without its citation markers. Only a marker and the spaces right before it go: the rest of
    the text stays character for character (outer whitespace trimmed)."""
    out, last = [], 0
    for m in _citations(_SPACED_MARKER, text):
        out.append(text[last : m.start()])
        last = m.end()
    return ("".join(out) + text[last:]).strip()


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, lines (list items) first, each keeping the markers that follow it:
    ``"A claim. [1] Next"`` gives ``"A claim. [1]"`` and ``"Next"``, and ``"claim [1] Next claim"`` (no
    period after the marker) two sentences as well. Each sentence is a substring of its line, but for a line
    holding only markers, which joins the sentence before it. A quote that starts mid-sentence, after a
    marker and a gap ("claim [1] … rest of a sentence [2]"), is a sentence of its own too."""
    out: list[str] = []
    for line in text.splitlines():
        bounds: list[list[int]] = []
        for span in split_sentences(line):
            start = span.start
            lead = _LEADING_MARKERS.match(line, start, span.end)
            if lead and bounds:  # "A claim. [1] Next": the markers belong to the sentence before
                bounds[-1][1] = lead.end()
                start = lead.end()
            for end in _marker_ends(line, start, span.end):
                bounds.append([start, end])
                start = end
        for start, end in bounds:
            piece = line[start:end].strip()
            if piece and out and not strip_markers(piece):  # only markers: they belong to the sentence before
                out[-1] = f"{out[-1]} {piece}"
            elif piece:
                out.append(piece)
    return out


def _marker_ends(line: str, start: int, end: int) -> list[int]:
    """Ends of the pieces of ``line[start:end]``: after every marker that a new sentence follows, and at ``end``."""
    ends = [m.end() for m in _citations(MARKER, line, start, end) if _NEXT_SENTENCE.match(line, m.end(), end)]
    return [*ends, end]


_BULLET = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+")
_LABEL_END = re.compile(r"[*_]*(?:\s*[:—–]|\s+-(?=\s))\s*|[*_]*\s*$")


def strip_bullet(line: str) -> str:
    """``line`` without a leading list bullet ("- ", "* ", "• ", "1. ", "2) ")."""
    bullet = _BULLET.match(line)
    return line[bullet.end() :] if bullet else line


def short_title(title: str) -> str:
    """A paper's short name: the part of its title before ":" when that is a name of at most four words
    ("SeerAttention-R: Sparse ..." -> "SeerAttention-R"), else the whole title (whitespace collapsed)."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 4 else " ".join(title.split())


def list_label(line: str, titles: Collection[str]) -> str:
    """The label of a line that names one of ``titles`` before its text, as answers list and compare papers: an
    optional bullet, the title or its ``short_title`` (any case, whitespace collapsed, maybe in ``**``/``_``
    emphasis), then ":" or a dash (or the end of the line). "" when the line starts with no such label. Titles
    may hold "?" or "."."""
    start = len(line) - len(strip_bullet(line))
    start += len(line[start:]) - len(line[start:].lstrip("*_"))
    body = line[start:].lower()
    names = {*titles, *(short_title(t) for t in titles)}
    for title in sorted(names, key=len, reverse=True):
        clean = " ".join(title.split()).lower()
        end = _LABEL_END.match(line, start + len(clean)) if clean and body.startswith(clean) else None
        if end:
            return line[: end.end()]
    return ""


# ---------------------------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3}(?!\d))*(?:\.\d+)*")
_DIGIT = re.compile(r"\d")


def has_digit(text: str) -> bool:
    """Whether any digit occurs (``QM9`` counts): the composer's cue that a span may state a quantity."""
    return _DIGIT.search(text) is not None


def find_numbers(text: str) -> list[str]:
    """Numbers written with digits, in order of first use, citation markers ignored: ``1,000`` -> ``1000``,
    ``42.5%`` -> ``42.5``, ``9x`` -> ``9``; digits inside words (``QM9``, ``H100``, ``v1.2``) do not count."""
    return list(dict.fromkeys(n.replace(",", "") for n in _NUMBER.findall(strip_markers(text))))


def numbers_in(text: str) -> set[str]:
    """The set of ``find_numbers``."""
    return set(find_numbers(text))


# ---------------------------------------------------------------------------------------------- normalisation

_DASHES = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
                         "‘": "'", "’": "'", "“": '"', "”": '"'})


def normalize_verbatim(text: str) -> str:
    """Lower-case text with whitespace collapsed and ``WORD_JOINER``s dropped: the form for verbatim
    comparisons of quotes."""
    return " ".join(text.replace(WORD_JOINER, "").lower().split())


def normalize_title(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form (``a-z0-9`` words, one space apart): paper ids and
    de-duplication of titles, title matching, and the evals' exact tier."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", folded))


_HTML = re.compile(r"<\s*(?:!doctype|html|head|body)\b", re.IGNORECASE)


def is_html(text: str) -> bool:
    """Whether ``text`` is (part of) a web page: a server's or a proxy's error page instead of what was asked."""
    return _HTML.search(text) is not None


_TERMINAL_ESCAPE = re.compile(
    r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[\]P^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+].|[@-Z\\a-z])|\x9b[0-9;?]*[ -/]*[@-~]"
)
"""A terminal escape sequence (colour ``ESC[31m``, a title ``ESC]0;…BEL``): pasted from a terminal, not text."""


def drop_escapes(text: str) -> str:
    """``text`` without terminal escape sequences: ``"\x1b[31mred"`` is ``"red"``, not ``"[31mred"``."""
    return _TERMINAL_ESCAPE.sub("", text) if "\x1b" in text else text


def printable(text: str) -> str:
    """``text`` with terminal escape sequences (``drop_escapes``) and invisible breaks (a zero-width space copied
    inside "sparse\u200bmax") dropped, joiners kept, every other character that is not printable a space,
    whitespace collapsed."""
    kept = (ch if ch.isprintable() or ch in _JOINERS else "" if ch in _INVISIBLE_BREAKS else " "
            for ch in drop_escapes(text))  # fmt: skip
    return " ".join(_LATIN_JOINER.sub("", "".join(kept)).split())


_INVISIBLE_BREAKS = frozenset("\u200b\u2060\ufeff\u00ad")
"""Zero-width space, word joiner, byte-order mark, soft hyphen: copied from PDFs and web pages inside words."""
_JOINERS = frozenset("\u200c\u200d")
"""Zero-width non-joiner and joiner: spelling in Persian and other scripts, and inside emoji."""
_LATIN_JOINER = re.compile(r"(?<=[A-Za-z0-9])[\u200c\u200d]+(?=[A-Za-z0-9])")
"""A joiner between Latin letters or digits joins nothing ("sparse\u200dmax" is "sparsemax")."""


def normalize_query(text: str) -> str:
    """NFKC, unified dashes and quotes, control characters dropped, whitespace collapsed, "whats" and "what's" read as
    "what is" (as words the corpus lacks they lowered the abstention model's confidence in a question)."""
    return _WHATS.sub(r"\1 is", printable(unicodedata.normalize("NFKC", text).translate(_DASHES)))


_WHATS = re.compile(r"\b(what)(?:'s|s)\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- links

URL_CHARS = r"[^\s<>()\[\]{}\"'（）。，、「」【】]+"
"""What a web address in text is made of: up to a space, a bracket, a quote or a full-width punctuation mark."""
_URL = re.compile(rf"(?i)(?P<prefix>https?://|www\.){URL_CHARS}")
_URL_TAIL = ".,;:!?)]}"


def find_urls(text: str, *, schemed: bool = False) -> tuple[str, ...]:
    """The web addresses in ``text`` in order, each once and verbatim, trailing punctuation removed; a bare
    prefix ("https://") is not one. ``schemed``: only those starting with ``http://`` or ``https://``."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url, prefix = match.group(0).rstrip(_URL_TAIL), match.group("prefix")
        if len(url) > len(prefix) and not (schemed and prefix.lower() == "www."):
            found.append(url)
    return tuple(dict.fromkeys(found))


def without_urls(text: str) -> str:
    """``text`` with its web addresses replaced by a space (their words are no words of the prose)."""
    return _URL.sub(" ", text) if "://" in text or "www." in text.lower() else text


# ---------------------------------------------------------------------------------------------- quote gaps

GAP = " … "
"""What joins the verbatim parts of one quote where words were left out: ``"A … B"``."""
_GAP = re.compile(r"\s*(?:…|\.\.\.)\s*")
MIN_PART_WORDS = 2
"""A part of a gapped quote must hold this many words: "A … not … B" cannot stitch a claim from single words."""


def quote_parts(quote: str) -> list[str]:
    """The verbatim parts of a quote: split at "…" (or "..."), each stripped of spaces and of the ",;:" that
    ended the clause, empty parts dropped. A quote without a gap is one part."""
    parts = (p.strip().rstrip(",;:").strip() for p in _GAP.split(quote))
    return [p for p in parts if p]


def parts_in_order(parts: Sequence[str], source: str) -> bool:
    """Whether every part occurs in ``source``, each after the one before (no overlap), all in one text.
    Parts and source are compared as given: normalise both the same way first (a part's trailing spaces
    may be the next part's leading ones, so word-padded parts work). With two or more parts, each must
    hold ``MIN_PART_WORDS`` words."""
    if not parts or (len(parts) > 1 and any(len(p.split()) < MIN_PART_WORDS for p in parts)):
        return False
    position = 0
    for part in parts:
        found = source.find(part, position)
        if found < 0:
            return False
        position = found + len(part.rstrip())
    return True


# ---------------------------------------------------------------------------------------------- words

WORD = re.compile(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*")
"""A word as written: letters and digits, hyphenated and dotted terms whole ("GPT-4o", "v1.2")."""
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves paper papers propose proposed
    approach method methods using use used based show shows new work""".split()  # noqa: SIM905
)
"""English function words plus words every abstract uses ("propose", "method", "paper")."""


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """The ``WORD``s of ``text``, in order."""
    return WORD.findall(text)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: lower-case ``words`` (and the parts of hyphenated/dotted ones), stopwords out, stemmed.
    Stored keyword indexes were built with it: changing it needs a re-ingest. Cached: every query tokenises
    the same candidate abstracts and sentences again (reranker features, sentence scores, the checker)."""
    return list(_tokens(text))


@lru_cache(maxsize=1 << 16)
def _tokens(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in words(text.lower()):
        out.append(word)
        if "-" in word or "." in word:
            out.extend(p for p in re.split(r"[-.]", word) if p)
    return tuple(_stemmer().stemWords([w for w in out if w not in STOPWORDS]))


def content_words(text: str) -> set[str]:
    """Stemmed content words (``tokenize``), tokens holding digits left out (numbers are compared apart)."""
    return {t for t in tokenize(text) if not any(ch.isdigit() for ch in t)}


def key_terms(text: str, skip: Collection[str] = ()) -> list[str]:
    """The ``words`` of ``text`` that carry content (some token survives ``tokenize``; not in ``skip``, lower
    case), as written, in order, each once (case-insensitive)."""
    keep: dict[str, str] = {}
    for word in words(text):
        low = word.lower()
        if low not in keep and low not in skip and tokenize(low):
            keep[low] = word
    return list(keep.values())


# ---------------------------------------------------------------------------------------------- names

QUESTION_WORDS = frozenset(
    ["what", "which", "how", "who", "whom", "why", "when", "where", "whose", "does", "did", "do", "is", "are",
     "was", "were", "can", "could", "and", "ok", "okay"]
)
"""Words that open or join questions and never name their topic (left out of carried and topic words)."""
_SENTENCE_OPENERS = QUESTION_WORDS | frozenset("in on for or the a an".split())  # noqa: SIM905
_WE = re.compile(r"\b(?:we|our)\b", re.IGNORECASE)


def says_we(text: str) -> bool:
    """Whether ``text`` speaks as the authors ("we", "our"): abstracts state what they did that way."""
    return _WE.search(text) is not None


def singular(name: str) -> str:
    """An acronym without its plural "s" ("SAEs" -> "SAE", "LLMs" -> "LLM"); other words unchanged."""
    return name[:-1] if name.endswith("s") and len(name) > 2 and name[-2].isupper() else name


def is_acronym(token: str) -> bool:
    """Looks like an acronym / coined name: two or more capitals, or a capital after the first letter."""
    core = singular(token)
    letters = [c for c in core if c.isalpha()]
    if len(letters) < 2 or not core[0].isalpha():
        return False
    upper = sum(c.isupper() for c in letters)
    return upper >= 2 and (upper >= len(letters) / 2 or any(c.isupper() for c in core[1:]))


def _has_inner_digit(word: str) -> bool:
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word) and len(word) > 2


def query_names(text: str) -> list[str]:
    """Name-like words of a query, as the reranker's exact-match features read them (its weights were fitted on
    this rule): acronyms and coined names ("LoRA", "SeerAttention-R"), words with digits ("Corr2Cause", "8x7B",
    "4-bit"), and capitalised words that do not open a sentence or a quote ("Chinchilla", "Mamba")."""
    names = []
    for match in WORD.finditer(text):
        word = match.group(0)
        before = text[: match.start()].rstrip()
        if word.lower().endswith("'s"):
            word = word[:-2]
        sentence_start = not before or before[-1] in ".?!:;\"'("
        capitalised = word[0].isupper() and word[1:].islower() and len(word) >= 3 and not sentence_start
        if _shouted(word):
            continue
        if is_acronym(word) or _has_inner_digit(word) or (capitalised and word.lower() not in STOPWORDS):
            names.append(word)
    return names


def named_entities(text: str) -> list[str]:
    """The things a question or answer names, as the composer reads them (comparisons, coverage, follow-ups):
    ``SeerAttention-R``, ``QM9``, ``CFG``, ``MaxSup`` (a capital, or a digit after a first letter), or a
    capitalised word after the first that is no question word or article ("Mamba", "Mixture"). Broader than
    ``query_names`` at a sentence's or quote's start, narrower on words that start with a digit ("4-bit")."""
    out: list[str] = []
    for i, word in enumerate(words(text)):
        if _shouted(word):
            continue
        coined = any(ch.isupper() for ch in word[1:]) or (any(ch.isdigit() for ch in word) and word[0].isalpha())
        capital = word[0].isupper() and i > 0 and word.lower() not in _SENTENCE_OPENERS and len(word) > 2
        if (coined or capital) and word not in out:
            out.append(word)
    return out


_VERSUS = r"(?:vs\.?|versus|v\.)"
_SIDE = rf"(?P<{{}}>{WORD.pattern})"
_COMPARED = re.compile(
    "|".join([
        rf"{_SIDE.format('before')}(?=\s+{_VERSUS}\s)", rf"(?<![\w-]){_VERSUS}\s+{_SIDE.format('after')}",
        rf"\bcompar(?:e|ing)\s+{_SIDE.format('first')}\s+(?:and|with|to|against)\s+{_SIDE.format('second')}",
        rf"\b(?:how|in what ways?) (?:do|does|did|would) {_SIDE.format('one')} and {_SIDE.format('two')}\s+"
        r"(?:differ|compare|contrast)",
        rf"\bdifferences? between {_SIDE.format('left')} and {_SIDE.format('right')}",
    ]),
    re.IGNORECASE,
)  # fmt: skip
_SIDES = ("before", "after", "first", "second", "one", "two", "left", "right")


def names_word(text: str, name: str) -> bool:
    """Whether ``text`` holds ``name`` as a whole word, any case, plural, prefix ("λ-ECLIPSE") or version suffix
    ("SeerAttention-R", "FlashAttention-3") included: "DIN" is in "DIN now serves ads" and "LoRA" in "Mixture of
    LoRAs", but "DIN" is not in "Decoupled Embeddings" nor "LoRA" in "LoRA-BAM", another method's name."""
    return re.search(rf"(?<!\w){re.escape(name)}(?:e?s)?{_VERSION}(?![\w-])", text, re.IGNORECASE) is not None


_VERSION = r"(?:-(?:v?\d+(?:\.\d+)*|[a-z]))?"
"""A version after a name's hyphen: "-3", "-v2", "-R"."""


def compared_words(text: str) -> dict[int, str]:
    """The words ``text`` sets side by side as names, by where they start: next to "vs", "versus" or "v." ("opera
    vs vcd"), the two after "compare" ("compare bert and roberta"), in "how do X and Y differ" and "the
    difference between X and Y"."""
    return {m.start(g): m.group(g) for m in _COMPARED.finditer(text) for g in _SIDES if m.group(g)}


_SHOUTED = STOPWORDS | {"vs", "versus", "v"}


def _shouted(word: str) -> bool:
    """A connective typed in capitals ("DIMAT VS TIES-MERGING", "X AND Y"): no name."""
    return word.isupper() and word.lower() in _SHOUTED
