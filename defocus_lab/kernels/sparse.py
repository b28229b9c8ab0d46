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
def _spmv(indptr, indices, data, x, out):
    n = indptr.shape[0] - 1
    for i in prange(n):
        s = 0.0
        for t in range(indptr[i], indptr[i + 1]):
            s += data[t] * x[indices[t]]
        out[i] = s


@njit(parallel=True, cache=True, nogil=True)
def _residual(indptr, indices, data, x, b, out):
    n = indptr.shape[0] - 1
    for i in prange(n):
        s = b[i]
        for t in range(indptr[i], indptr[i + 1]):
            s -= data[t] * x[indices[t]]
        out[i] = s


def _chunks(n, k):
    b = np.linspace(0, n, k + 1).astype(np.int64)
    return b


@njit(parallel=True, cache=True, nogil=True)
def _matmat_count(bounds, ap, aj, bp, bj, ncols, counts):
    for c in prange(bounds.shape[0] - 1):
        mark = np.full(ncols, -1, np.int64)
        for i in range(bounds[c], bounds[c + 1]):
            k = 0
            for t in range(ap[i], ap[i + 1]):
                j = aj[t]
                for u in range(bp[j], bp[j + 1]):
                    col = bj[u]
                    if mark[col] != i:
                        mark[col] = i
                        k += 1
            counts[i] = k


@njit(parallel=True, cache=True, nogil=True)
def _matmat_fill(bounds, ap, aj, ax, bp, bj, bx, ncols, cp, cj, cx):
    for c in prange(bounds.shape[0] - 1):
        pos = np.full(ncols, -1, np.int64)
        for i in range(bounds[c], bounds[c + 1]):
            start = cp[i]
            k = start
            for t in range(ap[i], ap[i + 1]):
                j = aj[t]
                v = ax[t]
                for u in range(bp[j], bp[j + 1]):
                    col = bj[u]
                    if pos[col] < start:
                        pos[col] = k
                        cj[k] = col
                        cx[k] = v * bx[u]
                        k += 1
                    else:
                        cx[pos[col]] += v * bx[u]


def matmat(A, B) -> sp.csr_matrix:
    """C = A B for CSR matrices, rows split between threads (unsorted column indices)."""
    A = sp.csr_matrix(A)
    B = sp.csr_matrix(B)
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"shapes {A.shape} and {B.shape} do not multiply")
    n, m = A.shape[0], B.shape[1]
    bounds = _chunks(n, 4 * numba.get_num_threads())
    counts = np.empty(n, np.int64)
    _matmat_count(bounds, A.indptr, A.indices, B.indptr, B.indices, m, counts)
    cp = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=cp[1:])
    cj = np.empty(cp[-1], np.int64)
    cx = np.empty(cp[-1])
    _matmat_fill(bounds, A.indptr, A.indices, A.data, B.indptr, B.indices, B.data, m, cp, cj, cx)
    return sp.csr_matrix((cx, cj, cp), shape=(n, m))


def galerkin(A, P) -> sp.csr_matrix:
    """P^T A P (A symmetric, CSR), via A P and the CSR form of P^T, both in parallel."""
    AP = matmat(A, P)
    return matmat(sp.csr_matrix(P.T), AP)


def spmv(A: sp.csr_matrix, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """y = A x for a CSR matrix, rows split between threads."""
    out = np.empty(A.shape[0]) if out is None else out
    _spmv(A.indptr, A.indices, A.data, x, out)
    return out


def residual(A: sp.csr_matrix, x: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """b - A x for a CSR matrix, rows split between threads."""
    out = np.empty(A.shape[0]) if out is None else out
    _residual(A.indptr, A.indices, A.data, x, b, out)
    return out
