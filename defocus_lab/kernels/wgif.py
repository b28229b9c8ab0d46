"""Weighted guided image filter (Li, Zheng, Zhu, Yao & Wu 2015, "WGIF"), grey guide.

The guided filter (He et al.) fits q = a_k G + b_k to p in every window w_k of radius r with a
ridge eps a_k^2. WGIF makes the ridge edge-aware: eps / Gamma(k), where

    Gamma(k) = (var3(k) + e) * mean over all pixels i of 1 / (var3(i) + e),

var3 the variance of G in the 3x3 window around k and e = (0.001 L)^2 (L the guide's range, 1
here). Gamma is large at edges (a small ridge: the fit follows G, the edge is kept) and small in
flat areas (a large ridge: smoothing). It is *not* the per-pixel data weights of
:func:`defocus_lab.kernels.guided.guided_filter`, which weigh the fit's residuals.

    a_k = cov_k(G, p) / (var_k(G) + eps / Gamma(k)),   b_k = mean_k(p) - a_k mean_k(G),
    q_i = mean over k in w_i of a_k  *  G_i  +  mean over k in w_i of b_k,

windows clipped at the border (their means over the pixels inside). Box sums are
:func:`defocus_lab.kernels.boxfilter.box_sum_into` (O(N) for any radius); the per-pixel steps
are numba kernels. The count of pixels in each clipped window is the product of its row and
column extents (no box sum), and a self-guided filter (``p`` is the guide, what Galetto & Deng's
guide smoothing runs 7 times) box-sums G and G^2 once instead of G, p, Gp and GG: 4 box-summed
planes per call instead of 7.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import as_map, check_int, check_positive
from .boxfilter import box_sum_into

EDGE_EPS = 1e-6  # (0.001 L)^2 with L = 1: Li et al.'s constant in Gamma


@njit(parallel=True, cache=True, nogil=True)
def _gamma(G, gamma):
    """gamma = var3 + e, the variance of G over the 3x3 window around each pixel (clipped at the
    border) read directly from its 9 (or fewer) neighbours, then scaled by mean(1 / gamma). A
    direct 3x3 loop: no planes of ones, G and G^2 to stack and box-sum, which Galetto & Deng's
    seven self-guided passes each did once (the refinement's time is in
    ``benchmarks/bench_galetto.py``'s Table 4)."""
    H, W = G.shape
    inv = np.zeros(H)
    for y in prange(H):
        y0, y1 = max(y - 1, 0), min(y + 2, H)
        s = 0.0
        for x in range(W):
            x0, x1 = max(x - 1, 0), min(x + 2, W)
            n = (y1 - y0) * (x1 - x0)
            a = 0.0
            b = 0.0
            for yy in range(y0, y1):
                for xx in range(x0, x1):
                    g = G[yy, xx]
                    a += g
                    b += g * g
            m = a / n
            v = max(b / n - m * m, 0.0) + EDGE_EPS
            gamma[y, x] = v
            s += 1.0 / v
        inv[y] = s
    scale = inv.sum() / (H * W)
    for y in prange(H):
        for x in range(W):
            gamma[y, x] *= scale


@njit(parallel=True, cache=True, nogil=True)
def _coefficients(N, SG, SP, SGP, SGG, gamma, eps, ab):
    """ab = [a, b] per window from the window's count N and its sums of G, p, Gp and GG."""
    H, W = N.shape
    for y in prange(H):
        for x in range(W):
            n = N[y, x]
            mg = SG[y, x] / n
            mp = SP[y, x] / n
            cov = SGP[y, x] / n - mg * mp
            var = max(SGG[y, x] / n - mg * mg, 0.0)
            a = cov / (var + eps / gamma[y, x])
            ab[0, y, x] = a
            ab[1, y, x] = mp - a * mg


@njit(parallel=True, cache=True, nogil=True)
def _apply(G, T, n, out):
    H, W = G.shape
    for y in prange(H):
        for x in range(W):
            out[y, x] = (T[0, y, x] * G[y, x] + T[1, y, x]) / n[y, x]


def edge_aware_weights(guide) -> np.ndarray:
    """Li et al.'s Gamma (module docstring) of a grey ``guide`` (H, W): float64 (H, W), mean of
    1 / Gamma equal to 1."""
    G = np.ascontiguousarray(guide, dtype=np.float64)
    gamma = np.empty_like(G)
    _gamma(G, gamma)
    return gamma


def weighted_guided_filter(guide, p, radius: int, eps: float, *, gamma=None) -> np.ndarray:
    """WGIF of ``p`` (H, W) guided by the grey ``guide`` (H, W, values about 0..1: Gamma's
    constant assumes that range; eps is in its squared units): windows of ``radius``, ridge
    ``eps / Gamma`` (module docstring). ``gamma``: Gamma when already computed for this guide
    (:func:`edge_aware_weights`), e.g. for several inputs under one guide. Returns float64 (H, W).

    Raises ValueError for a colour guide (convert it to grey first), mismatched shapes, or a
    radius or eps that is not positive."""
    G = np.asarray(guide, dtype=np.float64)
    if G.ndim != 2:
        raise ValueError(f"guide must be a grey (H, W) image; got shape {G.shape}: convert a colour guide to grey "
                         "first (e.g. defocus_lab.synth.patches.to_grey)")
    if not np.all(np.isfinite(G)):
        raise ValueError("guide has NaN or infinite values: fill or drop them first")
    G = np.ascontiguousarray(G)
    P = np.ascontiguousarray(as_map(p, G.shape, name="p"), dtype=np.float64)
    r = check_int(radius, "radius", minimum=1)
    eps = check_positive(eps, "eps")
    if gamma is None:
        gamma = edge_aware_weights(G)
    else:
        gamma = np.ascontiguousarray(as_map(gamma, G.shape, name="gamma"), dtype=np.float64)
    n = window_counts(G.shape, r)
    if P is G or np.array_equal(P, G):  # self-guided: p = G, so sum p = sum G and sum Gp = sum GG
        planes = np.stack([G, G * G])
        S2 = np.empty_like(planes)
        box_sum_into(planes, r, S2)
        S = (n, S2[0], S2[0], S2[1], S2[1])
    else:
        planes = np.stack([G, P, G * P, G * G])
        S4 = np.empty_like(planes)
        box_sum_into(planes, r, S4)
        S = (n, S4[0], S4[1], S4[2], S4[3])
    ab = np.empty((2,) + G.shape)
    _coefficients(*S, gamma, eps, ab)
    T = np.empty_like(ab)
    box_sum_into(ab, r, T)
    out = np.empty_like(G)
    _apply(G, T, n, out)
    return out


def window_counts(shape, radius: int) -> np.ndarray:
    """(H, W) float64: how many pixels the window of ``radius`` around each pixel holds once
    clipped at the border (the box sum of ones, as an outer product of two extents)."""
    H, W = shape
    ey = np.minimum(np.arange(H) + radius, H - 1) - np.maximum(np.arange(H) - radius, 0) + 1
    ex = np.minimum(np.arange(W) + radius, W - 1) - np.maximum(np.arange(W) - radius, 0) + 1
    return np.multiply.outer(ey.astype(np.float64), ex.astype(np.float64))
