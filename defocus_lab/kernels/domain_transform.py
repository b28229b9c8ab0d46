"""Domain-transform recursive filter (Gastal & Oliveira 2011) with a depth-edge penalty.

Along a row, the distance between neighbouring pixels x - 1 and x is the derivative of the
transform (Karaali, Harte & Jung 2022, Eqs. 2-3)

    ct'(x) = 1 + Psi(x) + sigma_s / sigma_r * sum_k |I_k(x) - I_k(x - 1)|,

with Psi = psi on depth edges and 0 elsewhere (psi = 0: Gastal & Oliveira's transform). One
iteration filters every row forwards and backwards with J[x] += a^ct'(x) (J[x - 1] - J[x]),
then every column alike; iteration i of N uses

    sigma_i = sigma_s * sqrt(3) * 2^(N - i) / sqrt(4^N - 1),   a = exp(-sqrt(2) / sigma_i),

so that the N passes together have spatial standard deviation sigma_s. The derivative at the
first pixel of a row (column) is 1 + Psi (no left neighbour), as in the authors' code.

Arrays are (C, H, W) float64 planes inside the kernels; rows are filtered in parallel, columns in
parallel blocks of contiguous columns walking down the rows (vectorised inner loop).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import check_int, check_positive

_COLUMN_BLOCK = 128  # columns per task of the vertical pass
_ROW_BLOCK = 4  # rows advancing together in the horizontal pass


@njit(parallel=True, cache=True, nogil=True)
def _transform_powers(J, ratio, penalty, loga, vx, vy):
    """vx = a^dx, vy = a^dy for the transform's derivatives
    dx[y, x] = 1 + penalty + ratio * sum_c |J[c, y, x] - J[c, y, x - 1]| (dx[:, 0] = 1 + penalty),
    dy likewise along columns (a = exp(loga))."""
    C, H, W = J.shape
    for y in prange(H):
        for x in range(W):
            vx[y, x] = 0.0
            vy[y, x] = 0.0
        for c in range(C):
            for x in range(1, W):
                vx[y, x] += abs(J[c, y, x] - J[c, y, x - 1])
            if y > 0:
                for x in range(W):
                    vy[y, x] += abs(J[c, y, x] - J[c, y - 1, x])
        for x in range(W):
            vx[y, x] = np.exp(loga * (1.0 + penalty[y, x] + ratio * vx[y, x]))
            vy[y, x] = np.exp(loga * (1.0 + penalty[y, x] + ratio * vy[y, x]))


@njit(parallel=True, cache=True, nogil=True)
def _rows(F, V, square):
    """Recursive filter along every row of every plane, forwards then backwards, in place.

    A task is a block of rows of all planes; the rows of a block advance together (independent
    recursions overlap in the pipeline). With ``square``, V is squared after its last use (in
    the last plane's backward pass): the next iteration's a^D, since each iteration halves sigma
    (a_{i+1} = a_i^2).
    """
    C, H, W = F.shape
    nr = _ROW_BLOCK
    for b in prange((H + nr - 1) // nr):
        y0 = b * nr
        y1 = min(H, y0 + nr)
        for c in range(C):
            for x in range(1, W):
                for y in range(y0, y1):
                    F[c, y, x] += V[y, x] * (F[c, y, x - 1] - F[c, y, x])
            last = square and c == C - 1
            for x in range(W - 2, -1, -1):
                for y in range(y0, y1):
                    v = V[y, x + 1]
                    F[c, y, x] += v * (F[c, y, x + 1] - F[c, y, x])
                    if last:
                        V[y, x + 1] = v * v
            if last:
                for y in range(y0, y1):
                    V[y, 0] *= V[y, 0]


@njit(parallel=True, cache=True, nogil=True)
def _columns(F, V, blk, square):
    """Recursive filter along every column, forwards then backwards, in place; a task is a block
    of contiguous columns of all planes (V squared after its last use, as in :func:`_rows`)."""
    C, H, W = F.shape
    for b in prange((W + blk - 1) // blk):
        x0 = b * blk
        x1 = min(W, x0 + blk)
        for c in range(C):
            for y in range(1, H):
                for x in range(x0, x1):
                    F[c, y, x] += V[y, x] * (F[c, y - 1, x] - F[c, y, x])
            last = square and c == C - 1
            for y in range(H - 2, -1, -1):
                for x in range(x0, x1):
                    F[c, y, x] += V[y + 1, x] * (F[c, y + 1, x] - F[c, y, x])
                if last:
                    for x in range(x0, x1):
                        V[y + 1, x] *= V[y + 1, x]
            if last:
                for x in range(x0, x1):
                    V[0, x] *= V[0, x]


def iteration_sigmas(sigma_s: float, iterations: int) -> np.ndarray:
    """Gastal & Oliveira's per-iteration standard deviations (their Eq. 14)."""
    n = iterations
    i = np.arange(1, n + 1)
    return sigma_s * np.sqrt(3.0) * 2.0 ** (n - i) / np.sqrt(4.0 ** n - 1.0)


def _planes(a, name, dtype=np.float64):
    a = np.asarray(a, dtype=dtype)
    if a.ndim == 2:
        return np.ascontiguousarray(a[None])
    if a.ndim == 3:
        return np.ascontiguousarray(a.transpose(2, 0, 1))
    raise ValueError(f"{name} must have shape (H, W) or (H, W, C); got {a.shape}")


def recursive_filter(src, guide=None, *, sigma_s: float, sigma_r: float, iterations: int = 3,
                     depth_edges=None, psi: float = 0.0, dtype=np.float64) -> np.ndarray:
    """Edge-aware recursive filtering of ``src`` along the domain transform of ``guide``.

    Parameters
    ----------
    src : ndarray (H, W) or (H, W, C)
        What is filtered (float; filtered in float64).
    guide : ndarray (H, W) or (H, W, C), optional
        The image whose edges stop the filter (default: ``src`` itself). Its values enter
        through ``sigma_r`` in their own units (images in [0, 1]: sigma_r in those units).
    sigma_s, sigma_r : float
        Spatial and range standard deviations of the filter.
    iterations : int
        Horizontal + vertical passes (Gastal & Oliveira: 3; Karaali 2022: 5).
    depth_edges : ndarray (H, W) bool or float, optional
        Where the penalty ``psi`` is added to the transform's derivative (a float map scales it).
    psi : float
        The depth-edge penalty of Karaali et al. Eq. 3 (0: the plain domain transform).
    dtype : numpy.float64 (default) or numpy.float32
        Working precision. float32 halves the memory traffic (what OpenCV uses; ~1e-7 relative
        error); the propagator keeps float64, whose normalising weights may become very small.

    Returns
    -------
    ndarray of ``src``'s shape, ``dtype`` (for (H, W, C) input a view of (C, H, W) planes: call
    ``numpy.ascontiguousarray`` if interleaved channels are needed).

    Examples
    --------
    >>> import numpy as np
    >>> step = np.r_[np.zeros(20), np.ones(20)][None].repeat(8, 0)
    >>> out = recursive_filter(step, sigma_s=10.0, sigma_r=0.1)
    >>> bool(abs(out[4, 19]) < 1e-3 and abs(out[4, 20] - 1) < 1e-3)  # the edge holds
    True
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype must be float64 or float32; got {dtype}")
    F = _planes(src, "src", dtype).copy()
    J = F if guide is None else _planes(guide, "guide", dtype)
    C, H, W = F.shape
    if J.shape[1:] != (H, W):
        raise ValueError(f"guide must have src's height and width {(H, W)}; got {J.shape[1:]}")
    sigma_s = check_positive(sigma_s, "sigma_s")
    sigma_r = check_positive(sigma_r, "sigma_r")
    iterations = check_int(iterations, "iterations", minimum=1)
    psi = float(psi)
    if not np.isfinite(psi) or psi < 0:
        raise ValueError(f"psi must be a finite number >= 0; got {psi}")
    penalty = np.zeros((H, W), dtype)
    if depth_edges is not None:
        d = np.asarray(depth_edges)
        if d.shape != (H, W):
            raise ValueError(f"depth_edges must have shape {(H, W)}; got {d.shape}")
        penalty = np.ascontiguousarray(psi * d.astype(dtype))
    # a^D for the first (widest) iteration; each later one halves sigma, i.e. squares a^D
    # (the passes square V after its last use: one exp per pixel in all).
    loga = -np.sqrt(2.0) / iteration_sigmas(sigma_s, iterations)[0]
    vx = np.empty((H, W), dtype)
    vy = np.empty((H, W), dtype)
    _transform_powers(J, dtype.type(sigma_s / sigma_r), penalty, dtype.type(loga), vx, vy)
    for i in range(iterations):
        more = i + 1 < iterations
        _rows(F, vx, more)
        _columns(F, vy, _COLUMN_BLOCK, more)
    # (H, W, C) input: a view of the planes (channels not interleaved in memory; copying back
    # would cost a tenth of the filter at 12 MP)
    return F[0] if np.asarray(src).ndim == 2 else F.transpose(1, 2, 0)
