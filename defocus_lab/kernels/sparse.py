"""Row-parallel sparse kernels for the multigrid: CSR products and the Galerkin product P^T A P.

scipy's sparse products run on one core and build P^T A as an intermediate; these split the
rows between threads (each thread owns its output rows and its scratch arrays) and form
P^T (A P) row by row from the columns of P (its CSC form), two passes each (count, then fill).
"""
from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def _product(indptr, indices, data, x, b, out):
    """out = A x, or b - A x when b is not empty (one kernel for both: one compilation less)."""
    n = indptr.shape[0] - 1
    minus = b.shape[0] > 0
    for i in prange(n):
        s = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            s += data[t] * x[indices[t]]
        out[i] = b[i] - s if minus else s


_NO_B = np.empty(0)


def _chunks(n, k):
    b = np.linspace(0, n, k + 1).astype(np.int64)
    return b


@njit(parallel=True, cache=True, nogil=True)
def _matmat(bounds, ap, aj, ax, bp, bj, bx, ncols, fill, cp, cj, cx, counts):
    """C = A B in two calls: ``fill`` False writes the non-zeros of each row of C to ``counts``;
    ``fill`` True writes C's columns ``cj`` and values ``cx`` to the rows starting at ``cp``.

    ``pos[col]`` is where column col went in the current chunk; entries before the row's start
    belong to earlier rows, so one array serves every row without being reset."""
    for c in prange(bounds.shape[0] - 1):
        pos = np.empty(ncols, np.int64)
        for j in range(ncols):
            pos[j] = -1
        k = 0
        for i in range(bounds[c], bounds[c + 1]):
            if fill:
                k = cp[i]
            start = k
            for t in range(ap[i], ap[i + 1]):
                j = aj[t]
                v = ax[t]
                for u in range(bp[j], bp[j + 1]):
                    col = bj[u]
                    if pos[col] < start:
                        pos[col] = k
                        if fill:
                            cj[k] = col
                            cx[k] = v * bx[u]
                        k += 1
                    elif fill:
                        cx[pos[col]] += v * bx[u]
            counts[i] = k - start


def matmat(A, B) -> sp.csr_matrix:
    """C = A B for CSR matrices, rows split between threads (unsorted column indices)."""
    A = sp.csr_matrix(A)
    B = sp.csr_matrix(B)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"shapes {A.shape} and {B.shape} do not multiply")
    n, m = A.shape[0], B.shape[1]
    bounds = _chunks(n, 4 * numba.get_num_threads())
    counts = np.empty(n, np.int64)
    cp = np.zeros(n + 1, np.int64)
    # column indices in int32 (scipy's own choice for them: an int64 array would be copied)
    idx = np.int32 if m < 2 ** 31 else np.int64
    _matmat(bounds, A.indptr, A.indices, A.data, B.indptr, B.indices, B.data, m, False, cp,
            np.empty(0, idx), np.empty(0), counts)
    np.cumsum(counts, out=cp[1:])
    cj = np.empty(cp[-1], idx)
    cx = np.empty(cp[-1])
    _matmat(bounds, A.indptr, A.indices, A.data, B.indptr, B.indices, B.data, m, True, cp, cj, cx, counts)
    return sp.csr_matrix((cx, cj, cp), shape=(n, m))


def galerkin(A, P, PT=None) -> sp.csr_matrix:
    """P^T A P (A symmetric, CSR), via A P and the CSR form of P^T (``PT`` when the caller
    keeps it), both in parallel."""
    AP = matmat(A, P)
    return matmat(sp.csr_matrix(P.T) if PT is None else PT, AP)


def spmv(A: sp.csr_matrix, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """y = A x for a CSR matrix, rows split between threads."""
    out = np.empty(A.shape[0]) if out is None else out
    _product(A.indptr, A.indices, A.data, x, _NO_B, out)
    return out


def residual(A: sp.csr_matrix, x: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """b - A x for a CSR matrix, rows split between threads."""
    out = np.empty(A.shape[0]) if out is None else out
    _product(A.indptr, A.indices, A.data, x, b, out)
    return out
