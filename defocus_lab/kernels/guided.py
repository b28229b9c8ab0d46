"""Guided filter (He, Sun & Tang 2013) with per-pixel weights, colour or grey guide.

For every window w_k (radius r, clipped at the border) fit q = a_k . I + b_k to p by weighted
least squares with ridge eps |a_k|^2:

    a_k = (Sigma_k + eps I)^-1 cov_k(I, p),   b_k = mean_k(p) - a_k . mean_k(I),

where the means and (co)variances are weighted by w over the window. The output is the mean of
a_k . I_i + b_k over the windows holding pixel i. With w = 1 this is He et al.'s guided filter;
with w = the indicator of defined pixels it is the edge-aware upsampling fit of Kriener et al.
2013 (Eqs. 7-8). Windows without any weight give a = 0, b = 0 and are left out of the mean.
"""
from __future__ import annotations

import threading

import numba
import numpy as np
from numba import njit, prange

from .._validate import as_image, as_map, check_int, check_positive
from ._sym3 import window_inverse
from .boxfilter import box_sum_into

BAND_PIXELS = 1 << 21  # pixels per band of rows: ~2 MP (19 float64 scratch planes: ~320 MB)


@njit(parallel=True, cache=True, nogil=True)
def _moment_sums(I, p, w, r, blocks, S):
    """S[c] = window sums (radius r, clipped) of the 14 moments
    [w, wI0, wI1, wI2, wp, wI0I0, wI0I1, wI0I2, wI1I1, wI1I2, wI2I2, wI0p, wI1p, wI2p],
    formed on the fly, in one pass: each of ``blocks`` bands of rows keeps the horizontal sums
    of its 2r + 1 current rows in a ring (in cache) and slides the vertical sum down the band,
    so that no (14, H, W) array of horizontal sums goes through memory.

    The ring of :func:`~defocus_lab.kernels.boxfilter.box_sum_into`, but not that function: it
    sums planes that exist, and here the 14 moments are products of (I, p, w) formed per row;
    making them planes first for it is the pass this kernel replaced."""
    _, H, W = I.shape
    R = 2 * r + 1
    for b in prange(blocks):
        y0 = b * H // blocks
        y1 = (b + 1) * H // blocks
        ring = np.empty((R, 14, W))
        acc = np.zeros((14, W))
        row = np.empty(14)
        for yy in range(max(0, y0 - r), min(H, y0 + r + 1)):
            _row_sums(I, p, w, r, yy, row, ring[yy % R])
            _accumulate(acc, ring[yy % R], 1.0)
        for y in range(y0, y1):
            for c in range(14):
                for x in range(W):
                    S[c, y, x] = acc[c, x]
            if y + 1 < y1:
                leave = y - r  # the row that leaves the window of y + 1 ...
                enter = y + 1 + r  # ... and the one that enters, in the same ring slot
                if leave >= 0:
                    _accumulate(acc, ring[leave % R], -1.0)
                if enter < H:
                    _row_sums(I, p, w, r, enter, row, ring[enter % R])
                    _accumulate(acc, ring[enter % R], 1.0)


@njit(cache=True, nogil=True)
def _accumulate(acc, rows, sign):
    C, W = acc.shape
    for c in range(C):
        for x in range(W):
            acc[c, x] += sign * rows[c, x]


@njit(cache=True, nogil=True)
def _row_sums(I, p, w, r, y, acc, out):
    """out[c, x] = sum of moment c over [x - r, x + r] of row y (clipped)."""
    W = I.shape[2]
    for c in range(14):
        acc[c] = 0.0
    for x in range(-r, W):
        xa = x + r
        if xa < W:
            _add_moments(acc, I, p, w, y, xa, 1.0)
        xr = x - r - 1
        if xr >= 0:
            _add_moments(acc, I, p, w, y, xr, -1.0)
        if x >= 0:
            for c in range(14):
                out[c, x] = acc[c]


@njit(cache=True, nogil=True, inline="always")
def _add_moments(acc, I, p, w, y, x, sign):
    wv = sign * w[y, x]
    i0 = I[0, y, x]
    i1 = I[1, y, x]
    i2 = I[2, y, x]
    pv = p[y, x]
    acc[0] += wv
    acc[1] += wv * i0
    acc[2] += wv * i1
    acc[3] += wv * i2
    acc[4] += wv * pv
    acc[5] += wv * i0 * i0
    acc[6] += wv * i0 * i1
    acc[7] += wv * i0 * i2
    acc[8] += wv * i1 * i1
    acc[9] += wv * i1 * i2
    acc[10] += wv * i2 * i2
    acc[11] += wv * i0 * pv
    acc[12] += wv * i1 * pv
    acc[13] += wv * i2 * pv


@njit(parallel=True, cache=True, nogil=True)
def _fit(S, eps, min_weight, ab):
    """ab[0:3] = a_k, ab[3] = b_k, ab[4] = 1 where the window has weight (0 elsewhere)."""
    _, H, W = S.shape
    for y in prange(H):
        for x in range(W):
            sw = S[0, y, x]
            if sw <= min_weight:
                for c in range(5):
                    ab[c, y, x] = 0.0
                continue
            rs = 1.0 / sw
            mp = S[4, y, x] * rs
            m0, m1, m2, a00, a01, a02, a11, a12, a22 = window_inverse(
                S[1, y, x], S[2, y, x], S[3, y, x], S[5, y, x], S[6, y, x], S[7, y, x],
                S[8, y, x], S[9, y, x], S[10, y, x], sw, eps)
            v0 = S[11, y, x] * rs - m0 * mp
            v1 = S[12, y, x] * rs - m1 * mp
            v2 = S[13, y, x] * rs - m2 * mp
            k0 = a00 * v0 + a01 * v1 + a02 * v2
            k1 = a01 * v0 + a11 * v1 + a12 * v2
            k2 = a02 * v0 + a12 * v1 + a22 * v2
            ab[0, y, x] = k0
            ab[1, y, x] = k1
            ab[2, y, x] = k2
            ab[3, y, x] = mp - k0 * m0 - k1 * m1 - k2 * m2
            ab[4, y, x] = 1.0


@njit(parallel=True, cache=True, nogil=True)
def _apply(I, T, out):
    _, H, W = I.shape
    for y in prange(H):
        for x in range(W):
            n = T[4, y, x]
            if n > 0.0:
                out[y, x] = (I[0, y, x] * T[0, y, x] + I[1, y, x] * T[1, y, x] + I[2, y, x] * T[2, y, x]
                             + T[3, y, x]) / n
            else:
                out[y, x] = 0.0


def guide_planes(guide) -> np.ndarray:
    """The guide as three contiguous (H, W) float64 planes; a grey guide becomes (g, 0, 0),
    which leaves the grey filter exactly (the empty channels drop out of the fit)."""
    g = as_image(guide, name="guide", min_side=1, copy=False)  # only read: the planes are a copy
    if g.ndim == 2:
        return np.ascontiguousarray(np.stack([g, np.zeros_like(g), np.zeros_like(g)]))
    if g.ndim != 3 or g.shape[2] != 3:
        raise ValueError(f"guide must be (H, W) or (H, W, 3); got {np.shape(guide)}")
    return np.ascontiguousarray(np.moveaxis(g, -1, 0))


def guided_filter(guide, p, radius: int, eps: float, *, weights=None, planes=None) -> np.ndarray:
    """Guided filter of ``p`` by ``guide`` (He et al.), optionally weighted per pixel.

    Parameters
    ----------
    guide : ndarray (H, W) or (H, W, 3)
        The guide image: uint8, uint16 or float in [0, 1] (as every image of the package).
    p : ndarray (H, W)
        The signal to filter (finite: one NaN would spread over every window that holds it).
    radius : int
        Window radius r (windows (2r+1)^2, clipped at the border).
    eps : float
        Ridge on a_k (He et al.'s epsilon; in the guide's squared units).
    weights : ndarray (H, W), optional
        Per-pixel weights of the fit (e.g. 1 where ``p`` is defined, 0 elsewhere); default 1.
    planes : ndarray (3, H, W), optional
        ``guide`` already as :func:`guide_planes` returns it, for callers that filter many
        signals with one guide (then ``guide`` is only checked for its shape).

    Returns
    -------
    ndarray (H, W) float64. Pixels none of whose windows holds any weight get 0.

    References
    ----------
    K. He, J. Sun, X. Tang, "Guided image filtering", IEEE TPAMI 35(6), 2013,
    doi:10.1109/TPAMI.2012.213. M. Kriener, T. Binder, M. Wille, "Accelerating defocus blur
    magnification", Proc. SPIE 8667, 2013, doi:10.1117/12.2004118 (Eqs. 7-8).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.zeros((16, 16)); g[:, 8:] = 1.0
    >>> q = guided_filter(g, 2.0 * g + 1.0, 2, 1e-6)
    >>> bool(np.allclose(q, 2.0 * g + 1.0, atol=1e-4))
    True
    """
    I = guide_planes(guide) if planes is None else planes
    H, W = I.shape[1:]
    if np.shape(guide)[:2] != (H, W):
        raise ValueError(f"planes {I.shape} do not belong to a guide of shape {np.shape(guide)}")
    p = as_map(p, (H, W), name="p")
    if weights is None:
        w = np.ones((H, W))
    else:
        w = as_map(weights, (H, W), name="weights")
        if w.min() < 0:
            raise ValueError("weights must be non-negative (0: the pixel takes no part in the fit)")
    r = check_int(radius, "radius", minimum=0)
    eps = check_positive(eps, "eps")
    # Large images go in bands of rows with a halo of 2r rows (the output at a pixel reads the
    # input within 2r), which is exact and holds the scratch memory to 19 planes of one band.
    band = max(BAND_PIXELS // W, 4 * r + 1)
    if band >= H:
        return _guided_rows(I, p, w, r, float(eps))
    out = np.empty((H, W))
    for y0 in range(0, H, band):
        y1 = min(H, y0 + band)
        a0, a1 = max(0, y0 - 2 * r), min(H, y1 + 2 * r)
        q = _guided_rows(I[:, a0:a1], p[a0:a1], w[a0:a1], r, float(eps))
        out[y0:y1] = q[y0 - a0:y1 - a0]
    return out


_scratch = threading.local()
SCRATCH_KEEP_PIXELS = 1 << 20  # scratch kept for reuse: at most this many band pixels in all (152 MB)


def _buffers(H, W):
    """Scratch arrays (5, H, W) and (14, H, W). Fresh memory costs page faults on first touch
    (a large share of the filter's time: benchmarks/design-notes.md), so the pairs of the last sizes used are kept per thread, up to
    ``SCRATCH_KEEP_PIXELS`` pixels in all, and reused by the next call of the same size (a
    notebook slider; the octaves of one upsampling); larger bands allocate and free as usual."""
    kept = getattr(_scratch, "kept", None)
    if kept is None:
        kept = _scratch.kept = {}
    pair = kept.pop((H, W), None)
    if pair is None:
        pair = (np.empty((5, H, W)), np.empty((14, H, W)))
    if H * W <= SCRATCH_KEEP_PIXELS:
        kept[(H, W)] = pair  # most recent last
        while sum(h * w for h, w in kept) > SCRATCH_KEEP_PIXELS:
            kept.pop(next(iter(kept)))
    return pair


def _guided_rows(I, p, w, r, eps):
    _, H, W = I.shape
    I = np.ascontiguousarray(I)
    p = np.ascontiguousarray(p)
    w = np.ascontiguousarray(w)
    # S: the 14 moment sums, then the box sums of the fit; tmp: the 5 fitted planes
    tmp, S = _buffers(H, W)
    _moment_sums(I, p, w, r, min(H, 2 * numba.get_num_threads()), S)
    ab = tmp
    _fit(S, eps, 1e-12, ab)
    T = S[:5]
    box_sum_into(ab, r, T)
    out = np.empty((H, W))
    _apply(I, T, out)
    return out
