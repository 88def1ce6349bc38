"""Questions built to be slow (a tester's attack pass): each had held a core for seconds to minutes, and a long
regular-expression search holds the interpreter's lock, so the whole server stalled."""

from __future__ import annotations

import time

from rag.answer.compose.contrast import opposed
from rag.answer.compose.naming import MAX_NAMES
from rag.retrieve.initials import MAX_LOOKED_UP, Initials
from rag.text.names import compared_words


def test_only_a_question_s_first_names_are_paired_up() -> None:
    """``opposed`` searched every pair of names: 550 pasted acronyms were 300,000 searches (176 s for one request)."""
    names = [f"Name{i}" for i in range(MAX_NAMES + 5)]
    question = " ".join(names[:-2]) + f" {names[-2]} vs {names[-1]}, or {names[0]} vs {names[1]}?"
    assert opposed(question, names) == {names[0], names[1]}  # the pair past the first names is not looked at


def test_a_compared_word_is_matched_from_its_start_only() -> None:
    """Tried at every letter of a long run, the "X vs" pattern backtracked over the rest of the run each time: one
    request of a 10,000-letter word in its history took 64 s and stalled every other route. A loose bound, not a
    speed measure: the quadratic search took over 10 s for this input."""
    started = time.perf_counter()
    assert compared_words("compare " + "h" * 20_000) == {}
    assert time.perf_counter() - started < 3.0
    assert compared_words("xDIMAT vs TIES-Merging") == {0: "xDIMAT", 10: "TIES-Merging"}  # whole words, as before


def test_a_question_looks_up_at_most_two_unknown_acronyms_in_the_texts() -> None:
    """Each lookup reads every abstract: 265 random capitalised words had taken 6 s."""
    scans: list[int] = []

    def texts() -> list[str]:
        scans.append(1)
        return ["legal judgment prediction", "legal judgment prediction"]

    initials = Initials(texts, known=lambda word: False)
    spelled = initials.spell("ABC DEF LJP GHI JKL")
    assert len(scans) == MAX_LOOKED_UP and spelled == "ABC DEF LJP GHI JKL"  # LJP came third
    assert initials.spell("LJP") == "legal judgment prediction"
