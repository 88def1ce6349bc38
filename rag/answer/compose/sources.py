"""Which ranked papers an answer is given: the best ``k``, with the papers the question names or points at
brought up from further down the ranking.

"How does GRAM compare to Con-J?" ranks Con-J's paper first and GRAM's eighth: cut at five sources, the
comparison had one side and was refused. A paper the question compares by name, or a source of the last answer
that a follow-up points at ("which of them needs no training?"), takes the place of the lowest-ranked paper the
question does not ask about."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from rag.types import Retrieved


def with_wanted(ranked: Retrieved, wanted: Collection[int], k: int) -> Retrieved:
    """``ranked`` cut to its best ``k`` hits, where each wanted hit ranked below ``k`` (best first) takes the
    place of the lowest-ranked kept hit that is not wanted; the kept hits stay in rank order."""
    keep = list(range(min(k, len(ranked.hits))))
    for h in sorted(w for w in set(wanted) if k <= w < len(ranked.hits)):
        free = [i for i in keep if i not in wanted]
        if not free:
            break
        keep.remove(free[-1])
        keep.append(h)
    return replace(ranked, hits=tuple(ranked.hits[i] for i in sorted(keep)))
