"""The sign-bit shortlist: exact where it must be, and a shortlist that keeps the nearest vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.retrieve.signs import SignShortlist


def _unit(rows: int, dim: int = 384, seed: int = 0, shared: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((rows, dim)).astype(np.float32) + shared  # shared: a common direction, as MiniLM's
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_distances_count_differing_signs_around_the_mean() -> None:
    matrix = _unit(300, dim=100, seed=1, shared=0.5)  # 100 dims: the last word is only partly used
    shortlist = SignShortlist(matrix)
    q = _unit(1, dim=100, seed=2)[0]
    expected = ((matrix > matrix.mean(axis=0)) != (q > 0)).sum(axis=1)
    assert shortlist.distances(q).tolist() == expected.tolist()


def test_small_matrices_are_scanned_whole_and_exactly() -> None:
    matrix = _unit(50)
    q = _unit(1, seed=3)[0]
    rows, sims = SignShortlist(matrix).nearest(q, 50)
    assert rows.tolist() == list(range(50))
    np.testing.assert_allclose(sims, matrix @ q, rtol=1e-6)


def test_shortlist_keeps_the_nearest_rows_with_exact_cosines() -> None:
    matrix = _unit(20_000, seed=4, shared=0.3)
    shortlist = SignShortlist(matrix)
    rng = np.random.default_rng(5)
    kept = []
    for _ in range(20):  # queries near a stored row, as a question near its sentence
        source = int(rng.integers(len(matrix)))
        q = matrix[source] + 0.5 * _unit(1, seed=int(rng.integers(1 << 30)))[0]
        q /= np.linalg.norm(q)
        rows, sims = shortlist.nearest(q, 2_000)
        assert 2_000 <= len(rows) < 3_000 and np.all(np.diff(rows) > 0)  # sorted, about k (ties at the cut)
        np.testing.assert_allclose(sims, matrix[rows] @ q, rtol=1e-6)
        assert source in rows
        exact_top = np.argsort(-(matrix @ q))[:5]
        kept.append(np.isin(exact_top, rows).mean())
    # isotropic random vectors are the hard case (real sentence vectors cluster): a random 10% would keep 0.1
    assert np.mean(kept) >= 0.9


def test_result_does_not_depend_on_row_order(tmp_path: Path) -> None:
    matrix = _unit(5_000, seed=6, shared=0.3)
    q = _unit(1, seed=7)[0]
    perm = np.random.default_rng(8).permutation(len(matrix))
    rows, _ = SignShortlist(matrix).nearest(q, 500)
    shuffled, _ = SignShortlist(matrix[perm]).nearest(q, 500)
    assert set(perm[shuffled].tolist()) == set(rows.tolist())  # ties at the cut kept whole, not by position
    np.save(tmp_path / "m.npy", matrix)  # a memory-mapped matrix, as the index snapshot's
    mapped, _ = SignShortlist(np.load(tmp_path / "m.npy", mmap_mode="r")).nearest(q, 500)
    assert mapped.tolist() == rows.tolist()
