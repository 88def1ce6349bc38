"""Array helpers of first-stage retrieval: per-paper maxima over grouped rows, a deterministic top-n, and
the one-thread BLAS limit that every request shares.

Matrix-vector products over a few thousand rows run 10x faster on one BLAS thread than on a
multi-threaded OpenBLAS when the other core is busy; the web app runs many requests at once, so the limit
is set once for the process rather than per request (``SingleThreadBlas``).
"""

from __future__ import annotations

import threading
from types import TracebackType

import numpy as np


class PaperGroups:
    """Rows (chunks or sentences) grouped by paper code, for per-paper maxima."""

    def __init__(self, codes: np.ndarray, n_papers: int) -> None:
        self.codes = codes
        self.order = np.argsort(codes, kind="stable")
        sorted_codes = codes[self.order]
        self.identity = bool(np.array_equal(self.order, np.arange(len(codes))))
        self.present, self.starts = np.unique(sorted_codes, return_index=True)
        self.n_papers = n_papers

    def max(self, values: np.ndarray) -> np.ndarray:
        """Per-paper maximum of ``values`` (one per row); ``-inf`` for papers without rows."""
        out = np.full(self.n_papers, -np.inf, dtype=np.float32)
        if len(self.present):
            ordered = values if self.identity else values[self.order]
            out[self.present] = np.maximum.reduceat(ordered, self.starts)
        return out

    def max_at(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-paper maximum of ``values`` given for ``rows`` only (every other row counts as ``-inf``): the
        same as ``max`` of the full-length array, at the cost of the given rows."""
        out = np.full(self.n_papers, -np.inf, dtype=np.float32)
        np.maximum.at(out, self.codes[rows], np.asarray(values, dtype=np.float32))
        return out


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest finite scores, best first, ties broken by index (deterministic)."""
    finite = np.isfinite(scores)
    if not finite.any():
        return np.zeros(0, dtype=np.int64)
    n = min(n, int(finite.sum()))
    if n < len(scores):
        part = np.argpartition(-scores, n - 1)[:n]
        threshold = scores[part].min()
        part = np.flatnonzero(scores >= threshold)
    else:
        part = np.flatnonzero(finite)
    order = np.lexsort((part, -scores[part]))
    return np.asarray(part[order][:n])


class SingleThreadBlas:
    """``with limit:`` runs the block with numpy's BLAS on one thread.

    OpenBLAS's thread count is process-wide, and ``threadpoolctl`` lets only one Python thread at a time
    change it, so a limit per request cannot work while requests overlap: the first request out would
    restore the old count under the others, and a limit asked for by another thread is ignored. The limit
    is therefore set once, on first use, and kept for the life of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applied = False

    def __enter__(self) -> SingleThreadBlas:
        if not self._applied:
            with self._lock:
                if not self._applied:
                    _limit_blas_threads(1)
                    self._applied = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def _limit_blas_threads(n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency; without it, no limit
        return
    threadpool_limits(limits=n, user_api="blas")  # applied now; never restored (see SingleThreadBlas)
