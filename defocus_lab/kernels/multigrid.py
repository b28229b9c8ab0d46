"""Multigrid kernels: the hybrid Gauss-Seidel smoother and the aggregate QR of smoothed
aggregation (:mod:`defocus_lab.propagate.multigrid` builds the hierarchies from them).

Each has a thin public wrapper that checks its arguments and allocates what the kernel writes;
``tests/naive.py`` holds their plain NumPy references.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from .._validate import check_int, check_positive

# Row blocks of the hybrid Gauss-Seidel smoother: a constant, not the thread count, so that the
# preconditioner (and every CG iterate) is the same on every machine.
SMOOTHER_BLOCKS = 8


@njit(parallel=True, cache=True, nogil=True)
def _gauss_seidel(indptr, indices, data, diag, x, b, forward, bounds, inner, x_old):
    """Hybrid Gauss-Seidel: rows split into contiguous blocks, one per thread; inside a block
    fresh values are used, across blocks the values from the start of the sweep (``x_old``).
    Deterministic, and the backward sweep is the transpose of the forward one, so a V-cycle with
    forward pre- and backward post-smoothing stays symmetric.

    ``inner[c]`` = (first, last + 1) of the rows of block c whose columns all lie inside the
    block: those run without the inside/outside test (most rows: the bandwidth is ~2 image rows).
    """
    n = x.shape[0]
    for i in range(n):
        x_old[i] = x[i]
    for c in prange(bounds.shape[0] - 1):
        lo = bounds[c]
        hi = bounds[c + 1]
        a = inner[c, 0]
        z = inner[c, 1]
        if forward:
            for i in range(lo, a):
                _gs_row_mixed(indptr, indices, data, diag, x, b, x_old, lo, hi, i)
            for i in range(a, z):
                _gs_row(indptr, indices, data, diag, x, b, i)
            for i in range(max(a, z), hi):
                _gs_row_mixed(indptr, indices, data, diag, x, b, x_old, lo, hi, i)
        else:
            for i in range(hi - 1, max(a, z) - 1, -1):
                _gs_row_mixed(indptr, indices, data, diag, x, b, x_old, lo, hi, i)
            for i in range(z - 1, a - 1, -1):
                _gs_row(indptr, indices, data, diag, x, b, i)
            for i in range(a - 1, lo - 1, -1):
                _gs_row_mixed(indptr, indices, data, diag, x, b, x_old, lo, hi, i)


@njit(cache=True, nogil=True, inline="always")
def _gs_row(indptr, indices, data, diag, x, b, i):
    s = b[i]
    for t in range(indptr[i], indptr[i + 1]):
        s -= data[t] * x[indices[t]]
    x[i] += s / diag[i]


@njit(cache=True, nogil=True, inline="always")
def _gs_row_mixed(indptr, indices, data, diag, x, b, x_old, lo, hi, i):
    s = b[i]
    for t in range(indptr[i], indptr[i + 1]):
        j = indices[t]
        if lo <= j < hi:
            s -= data[t] * x[j]
        else:
            s -= data[t] * x_old[j]
    x[i] += s / diag[i]


def inner_rows(A, bounds) -> np.ndarray:
    """(blocks, 2): per block of rows ``bounds[c]:bounds[c + 1]``, the row range whose columns
    all fall inside the block (the smoother runs those without the inside/outside test)."""
    full = np.flatnonzero(np.diff(A.indptr))  # rows with entries
    bw = 0
    if full.size:
        starts = A.indptr[full]
        first = np.minimum.reduceat(A.indices, starts)  # columns need not be sorted
        last = np.maximum.reduceat(A.indices, starts)
        bw = int(max((full - first).max(), (last - full).max()))
    lo, hi = bounds[:-1], bounds[1:]
    a = np.minimum(lo + bw, hi)
    z = np.maximum(hi - bw, a)
    return np.ascontiguousarray(np.stack([a, z], axis=1).astype(np.int64))


def gauss_seidel(A, diag, x, b, *, forward: bool = True, bounds=None, inner=None, work=None) -> np.ndarray:
    """One hybrid Gauss-Seidel sweep on A x = b, in place on ``x`` (returned).

    The rows are cut into contiguous blocks (``bounds``, default 8 blocks: a constant, so that
    the result is the same on every machine); inside a block fresh values are used, across blocks
    the values from the start of the sweep. ``forward=False`` runs the rows backwards: the
    transpose of the forward sweep, so that a V-cycle with forward pre- and backward
    post-smoothing is symmetric, as conjugate gradients need.

    Parameters
    ----------
    A : scipy.sparse CSR matrix (n, n), float64
    diag : ndarray (n,)
        The diagonal of ``A`` (nonzero).
    x, b : ndarray (n,) float64
        ``x`` is updated in place (it must be C-contiguous float64).
    bounds : int array (blocks + 1,), optional
    inner, work : optional
        :func:`inner_rows` of ``A`` and ``bounds``, and an (n,) scratch array, when the caller keeps them.
    """
    if not (sp.issparse(A) and A.format == "csr") or A.shape[0] != A.shape[1] or A.dtype != np.float64:
        raise ValueError(f"A must be a square float64 CSR matrix; got {type(A).__name__} {A.shape} {A.dtype}")
    n = A.shape[0]
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64 and x.shape == (n,) and x.flags.c_contiguous):
        raise ValueError(f"x must be a C-contiguous float64 array of shape ({n},) (it is updated in place)")
    b = np.ascontiguousarray(b, dtype=np.float64)
    diag = np.ascontiguousarray(diag, dtype=np.float64)
    if b.shape != (n,) or diag.shape != (n,):
        raise ValueError(f"b and diag must have shape ({n},); got {b.shape} and {diag.shape}")
    if not np.all(diag != 0):
        raise ValueError("diag has zeros: Gauss-Seidel divides by the diagonal")
    if bounds is None:
        bounds = np.linspace(0, n, SMOOTHER_BLOCKS + 1).astype(np.int64)
    bounds = np.ascontiguousarray(bounds, dtype=np.int64)
    if bounds[0] != 0 or bounds[-1] != n or np.any(np.diff(bounds) < 0):
        raise ValueError(f"bounds must rise from 0 to {n}")
    if inner is None:
        inner = inner_rows(A, bounds)
    if work is None:
        work = np.empty(n)
    _gauss_seidel(A.indptr, A.indices, A.data, diag, x, b, bool(forward), bounds, inner, work)
    return x


@njit(cache=True, nogil=True)
def _aggregate_qr(order, starts, B, rel_tol, q_rows, q_cols, q_vals, Bc):
    """Orthonormalise the near-null vectors on every aggregate (modified Gram-Schmidt, twice).

    ``order`` lists the dofs aggregate by aggregate (aggregate a owns order[starts[a]:starts[a+1]]).
    Writes the tentative prolongator's entries (row dof, coarse column, value) and the coarse
    near-null vectors ``Bc`` (one row per kept column: its coefficients R). Columns whose
    remainder falls below ``rel_tol`` times their norm are dropped (e.g. a colour that is constant
    over the aggregate). Returns (number of entries, number of coarse dofs).
    """
    nagg = starts.shape[0] - 1
    k = B.shape[1]
    mmax = 0
    for a in range(nagg):
        mmax = max(mmax, starts[a + 1] - starts[a])
    # scalar loops only: array expressions would pull in numba's broadcasting and its
    # error-message formatting, which tripled this kernel's compile time
    Q = np.empty((mmax, k))
    R = np.empty((k, k))
    v = np.empty(mmax)
    t = 0
    nc = 0
    for a in range(nagg):
        lo = starts[a]
        m = starts[a + 1] - lo
        for i in range(k):
            for j in range(k):
                R[i, j] = 0.0
        kept = 0
        for j in range(k):
            n0 = 0.0
            for i in range(m):
                v[i] = B[order[lo + i], j]
                n0 += v[i] * v[i]
            for _ in range(2):
                for c in range(kept):
                    d = 0.0
                    for i in range(m):
                        d += Q[i, c] * v[i]
                    R[c, j] += d
                    for i in range(m):
                        v[i] -= d * Q[i, c]
            n1 = 0.0
            for i in range(m):
                n1 += v[i] * v[i]
            n0 = np.sqrt(n0)
            n1 = np.sqrt(n1)
            if n0 > 0.0 and n1 > rel_tol * n0 and kept < m:
                for i in range(m):
                    Q[i, kept] = v[i] / n1
                R[kept, j] = n1
                kept += 1
        for c in range(kept):
            for i in range(m):
                q_rows[t] = order[lo + i]
                q_cols[t] = nc + c
                q_vals[t] = Q[i, c]
                t += 1
            for j in range(k):
                Bc[nc + c, j] = R[c, j]
        nc += kept
    return t, nc


def aggregate_qr(order, starts, B, rel_tol: float = 1e-4):
    """The tentative prolongator of smoothed aggregation, aggregate by aggregate.

    Parameters
    ----------
    order : int array (n,)
        The dofs listed aggregate by aggregate.
    starts : int array (aggregates + 1,)
        Aggregate a owns ``order[starts[a]:starts[a + 1]]``.
    B : ndarray (n, k)
        The near-null vectors (for the matting Laplacian 1, R, G, B).
    rel_tol : float
        A column whose remainder after orthogonalisation falls below this fraction of its norm
        is dropped (a colour constant over the aggregate).

    Returns
    -------
    rows, cols, vals : arrays (entries,)
        The prolongator's entries (fine dof, coarse dof, value).
    Bc : ndarray (coarse dofs, k)
        The coarse near-null vectors.
    """
    order = np.ascontiguousarray(order, dtype=np.int64)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    B = np.ascontiguousarray(B, dtype=np.float64)
    rel_tol = check_positive(rel_tol, "rel_tol")
    if B.ndim != 2 or order.shape != (B.shape[0],):
        raise ValueError(f"B must be (n, k) and order (n,); got {B.shape} and {order.shape}")
    if starts[0] != 0 or starts[-1] != len(order) or np.any(np.diff(starts) < 0):
        raise ValueError(f"starts must rise from 0 to {len(order)}")
    n, k = B.shape
    check_int(k, "the number of near-null vectors", minimum=1)
    nmax = n * k
    rows = np.empty(nmax, np.int64)
    cols = np.empty(nmax, np.int64)
    vals = np.empty(nmax)
    Bc = np.empty((min(n, (len(starts) - 1) * k), k))
    t, nc = _aggregate_qr(order, starts, B, rel_tol, rows, cols, vals, Bc)
    return rows[:t], cols[:t], vals[:t], Bc[:nc]
