"""A geometric multigrid V-cycle on the image grid, used as a CG preconditioner.

Levels halve the grid in both directions; prolongation is bilinear (``P``), restriction its
transpose, coarse operators are Galerkin products ``P^T A P`` (so every level stays symmetric
positive semi-definite), smoothing is Gauss-Seidel (forward before the coarse correction, backward
after, which keeps the V-cycle symmetric, as CG needs), and the coarsest level is factorised once.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit


def _interp_1d(n: int) -> sp.csr_matrix:
    nc = (n + 1) // 2
    rows, cols, vals = [], [], []
    for i in range(n):
        if i % 2 == 0:
            rows.append(i); cols.append(i // 2); vals.append(1.0)
        else:
            lo, hi = (i - 1) // 2, (i + 1) // 2
            if hi < nc:
                rows += [i, i]; cols += [lo, hi]; vals += [0.5, 0.5]
            else:
                rows.append(i); cols.append(lo); vals.append(1.0)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, nc))


def prolongation(shape) -> tuple[sp.csr_matrix, tuple[int, int]]:
    """Bilinear prolongation from the (ceil(H/2), ceil(W/2)) grid to the (H, W) grid."""
    H, W = shape
    P = sp.kron(_interp_1d(H), _interp_1d(W), format="csr")
    return P, ((H + 1) // 2, (W + 1) // 2)


@njit(cache=True, nogil=True)
def _gauss_seidel(indptr, indices, data, diag, x, b, forward):
    n = x.shape[0]
    if forward:
        start, stop, step = 0, n, 1
    else:
        start, stop, step = n - 1, -1, -1
    for i in range(start, stop, step):
        s = b[i]
        for t in range(indptr[i], indptr[i + 1]):
            s -= data[t] * x[indices[t]]
        x[i] += s / diag[i]


class MultigridPreconditioner:
    """V-cycle approximation of A^-1 for a symmetric positive definite grid operator A (CSR).

    Parameters
    ----------
    A : scipy.sparse matrix, (H W, H W)
    shape : (H, W)
    coarsest : int
        Stop coarsening when a level has at most this many unknowns; it is factorised exactly.
    sweeps : int
        Gauss-Seidel sweeps before and after each coarse correction.
    """

    def __init__(self, A, shape, *, coarsest: int = 4000, sweeps: int = 1, max_levels: int = 12):
        self.sweeps = int(sweeps)
        self.levels = []  # (A, P) pairs, fine to coarse
        A = sp.csr_matrix(A)
        while A.shape[0] > coarsest and len(self.levels) < max_levels and min(shape) > 2:
            P, cshape = prolongation(shape)
            self.levels.append((A, P, A.diagonal().copy()))
            A = (P.T @ A @ P).tocsr()
            shape = cshape
        self.coarse_shape = shape
        self.coarse = spla.splu(sp.csc_matrix(A))

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        if level == len(self.levels):
            return self.coarse.solve(b)
        A, P, d = self.levels[level]
        x = np.zeros_like(b)
        for _ in range(self.sweeps):
            _gauss_seidel(A.indptr, A.indices, A.data, d, x, b, True)
        r = b - A @ x
        x += P @ self._cycle(level + 1, P.T @ r)
        for _ in range(self.sweeps):
            _gauss_seidel(A.indptr, A.indices, A.data, d, x, b, False)
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self._cycle(0, np.ascontiguousarray(r, dtype=np.float64))
