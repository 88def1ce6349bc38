"""What stands between an LLM's text and the user: sources fenced as data, stricter support, withholding.

* ``fence_source`` wraps a source in ``<source n="…">`` tags and defuses look-alike tags inside it, so
  instructions written in an abstract stay data (the prompts say so too).
* ``strict_check`` tightens ``check_answer``'s verdicts: a sentence must be backed by its cited *abstract*,
  not by the title's words (a line that only restates a title is unsupported), and a link no cited
  abstract contains makes it unsupported, as does one that reads as an instruction or is backed only by
  a source's instruction-like sentences ("ignore previous instructions ...").
* ``withhold_reason`` names why an answer must not be shown as the LLM's (no valid citation, most sentences
  unsupported, a title-only or repeated line, facts mixed with the abstention sentence, a foreign link);
  the answerer then raises ``WithheldAnswer`` and the pipeline gives the extractive answer with that notice.
* ``SentenceGate`` releases streamed text only sentence by sentence, once each passes those checks, so
  rejected text never reaches the screen, not even while streaming.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rag.answer.base import canonical_sentence, mentions_abstention
from rag.answer.citations import Checked, check_answer
from rag.errors import LLMError
from rag.index.embeddings import Embedder
from rag.text import (
    answer_sentences,
    content_words,
    find_urls,
    markers_in,
    sentences,
)
from rag.types import Citation, Paper, SentenceCheck, Verdict

TITLE_ONLY = "only restates the cited paper's title"
INSTRUCTION = "repeats instructions written inside a source"
FOREIGN_LINK = "links to an address no cited abstract contains"
MIN_ABSTRACT_SHARE = 0.5
"""Share of a sentence's own content words (title words left out) that its cited abstracts must contain."""
SUPPORTED_SHARE = 0.75
"""Below this share a sentence is at most weakly supported."""
_INSTRUCTION = re.compile(
    r"(?i)\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|rules|sources?|prompts?|above)\b"
    r"|\byou are now\b|\b(?:system|assistant)\s*:|\b(?:reply|respond|answer|output)\s+(?:only\s+)?with\b"
    r"|\bnew instructions\b"
)
_TAG = re.compile(r"(?i)<\s*(/?)\s*(sources?)\b")
_RANK: dict[Verdict, int] = {"unsupported": 0, "weak": 1, "supported": 2}


class WithheldAnswer(LLMError):
    """The LLM's answer failed the checks; the message names why. The pipeline falls back to the extractive
    answer and shows the message as a one-line notice."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the LLM's answer was withheld because {reason}")


def fence_source(n: int, heading: str, body: str) -> str:
    """One numbered source as a fenced block. ``<source>``/``<sources>`` tags written inside the heading or
    body lose their angle bracket, so a source cannot close its fence and speak as the prompt."""
    def defuse(text: str) -> str:
        return _TAG.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text)

    return f'<source n="{n}">\n[{n}] {defuse(heading)}\n{defuse(body)}\n</source>'


def _urls(text: str) -> set[str]:
    return {u.lower() for u in find_urls(text)}


def looks_like_instruction(text: str) -> bool:
    """Whether ``text`` reads as an instruction to the model ("ignore previous instructions", "reply only
    with", "you are now", "system:")."""
    return bool(_INSTRUCTION.search(text))


def _data_only(abstract: str) -> str:
    """The abstract without its sentences that read as instructions (they back nothing)."""
    return " ".join(s for s in sentences(abstract) if not looks_like_instruction(s))


def _strict(check: SentenceCheck, cited: Sequence[Paper]) -> SentenceCheck:
    if not cited:
        return check
    if looks_like_instruction(check.text):
        return SentenceCheck(check.text, check.markers, "unsupported", 0.0, INSTRUCTION)
    abstracts = " ".join(_data_only(p.abstract) for p in cited)
    links = _urls(check.text) - _urls(abstracts)
    if links:
        return SentenceCheck(check.text, check.markers, "unsupported", 0.0, f"{FOREIGN_LINK}: {sorted(links)[0]}")
    if check.verdict == "unsupported":
        return check
    own = content_words(check.text) - content_words(" ".join(p.title for p in cited))
    if not own:
        return SentenceCheck(check.text, check.markers, "unsupported", 0.0, TITLE_ONLY)
    share = len(own & content_words(abstracts)) / len(own)
    if share < MIN_ABSTRACT_SHARE:
        reason = f"only {share:.0%} of its own words (title words aside) are in the cited abstract"
        if check.reason.startswith("verbatim quote"):  # quoted from a sentence that reads as an instruction
            reason = INSTRUCTION
        return SentenceCheck(check.text, check.markers, "unsupported", min(check.support, 0.44), reason)
    if check.verdict == "supported" and share < SUPPORTED_SHARE and not check.reason.startswith("verbatim quote"):
        reason = f"{check.reason}; {share:.0%} of its own words are in the cited abstract"
        return SentenceCheck(check.text, check.markers, "weak", min(check.support, 0.61), reason)
    return check


def strict_check(checked: Checked) -> Checked:
    """``checked`` with every sentence held to its cited abstracts (see the module doc), and each citation's
    verdict capped by the best verdict of the sentences citing it."""
    papers = {c.marker: c.paper for c in checked.citations}
    checks = tuple(_strict(c, [papers[m] for m in c.markers if m in papers]) for c in checked.checks)
    citations = []
    for citation in checked.citations:
        verdicts = [c.verdict for c in checks if citation.marker in c.markers]
        verdict = min([citation.verdict, max(verdicts, key=_RANK.__getitem__)], key=_RANK.__getitem__) \
            if verdicts else citation.verdict
        support = citation.support if verdict == citation.verdict else min(citation.support, 0.44)
        citations.append(Citation(citation.marker, citation.paper, citation.quote, citation.sentence_indices,
                                  verdict, support))
    return Checked(checked.text, tuple(citations), checks, checked.removed_markers)


def repeated_line(checks: Sequence[SentenceCheck]) -> str | None:
    """The first sentence that occurs twice (ignoring case, markers and spacing), if any."""
    counts = Counter(canonical_sentence(c.text) for c in checks if len(canonical_sentence(c.text)) >= 12)
    return next((text for text, n in counts.items() if n > 1), None)


def withhold_reason(text: str, checked: Checked) -> str | None:
    """Why an LLM answer (its raw ``text`` and its ``strict_check``-ed form) must not be shown, or None."""
    if not checked.citations:
        if checked.removed_markers:
            listed = ", ".join(f"[{n}]" for n in checked.removed_markers)
            return f"it cites only sources it was not given ({listed})"
        return "it cites no source"
    if mentions_abstention(text):
        return "it mixes statements with the abstention sentence"
    if repeated_line(checked.checks):
        return "it repeats the same sentence"
    reasons = [c.reason for c in checked.checks]
    if any(r.startswith(INSTRUCTION) for r in reasons):
        return "it repeats instructions written inside a source"
    if any(r.startswith(TITLE_ONLY) for r in reasons):
        return "a line only restates a paper title"
    if any(r.startswith(FOREIGN_LINK) for r in reasons):
        return "it links to an address that no cited abstract contains"
    unsupported = sum(c.verdict == "unsupported" for c in checked.checks)
    if 2 * unsupported > len(checked.checks):
        return f"most of its sentences ({unsupported} of {len(checked.checks)}) are not backed by the cited abstracts"
    return None


def _locate(text: str, piece: str, start: int) -> int | None:
    """Where ``piece`` (an ``answer_sentences`` sentence) ends in ``text`` after ``start``. Its words are found
    with any whitespace between them: a line of markers joins the sentence before it with a space
    (``"Claim.\n[1]"`` gives ``"Claim. [1]"``)."""
    at = text.find(piece, start)
    if at >= 0:
        return at + len(piece)
    match = re.compile(r"\s+".join(re.escape(word) for word in piece.split())).search(text, start)
    return match.end() if match else None


class SentenceGate:
    """Streamed text in, checked text out: a sentence with citation markers (together with the unmarked
    sentences before it, which inherit its markers) is released once it is complete and every sentence of
    it passes ``strict_check`` and is not a repeat. Everything else is held back for the final check."""

    def __init__(self, sources: Sequence[Paper], embedder: Embedder | None) -> None:
        self.sources = list(sources)
        self.embedder = embedder
        self.buffer = ""
        self.done = 0
        self.seen: set[str] = set()

    def feed(self, delta: str) -> str:
        """The text that may be shown now (possibly "")."""
        self.buffer += delta
        return self._release(final=False)

    def skip(self, upto: int) -> None:
        """Never release the buffer's first ``upto`` characters (a reply's thinking, found once it ended)."""
        self.done = max(self.done, upto)

    def finish(self, upto: int | None = None) -> str:
        """The rest that may be shown once the stream has ended; with ``upto``, only of the buffer's first
        ``upto`` characters (a reply cut at max_tokens loses its unfinished last sentence)."""
        if upto is not None:
            self.buffer = self.buffer[:upto]
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        pieces = answer_sentences(self.buffer[self.done :])
        complete = pieces if final else pieces[:-1]
        out: list[str] = []
        position = self.done
        for piece in complete:
            found = _locate(self.buffer, piece, position)
            if found is None:  # cannot happen (pieces are the buffer's words); hold the rest back rather than guess
                break
            position = found
            if not markers_in(piece):
                continue
            group = self.buffer[self.done : position]
            self.done = position
            if self._passes(group):
                out.append(group)
        return "".join(out)

    def _passes(self, group: str) -> bool:
        if mentions_abstention(group):
            return False
        checked = strict_check(check_answer(group, self.sources, self.embedder))
        lines = {canonical_sentence(c.text) for c in checked.checks}
        ok = bool(checked.citations) and bool(checked.checks) and not (lines & self.seen) and all(
            c.verdict != "unsupported" for c in checked.checks
        )
        self.seen |= lines
        return ok
