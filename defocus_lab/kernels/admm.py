"""The per-pixel steps of the deblurring u-step's ADMM (apps/deblur.py), each one fused pass.

In scaled form, with the split v = k * u (data) and z = W u (prior), one iteration after the
Fourier solve for u needs, per pixel,

    v <- (m^2 g + rho (Ku + p)) / (m^2 + rho),   p <- p + Ku - v,   and   v - p for the next solve;
    z <- S_t(Wu + q) (soft threshold on the penalised planes), q <- q + Wu - z,   and   z - q.

Only p, q and the differences v - p, z - q are kept: v and z themselves are never needed again.
Numpy would make a temporary per operation (about ten passes over the 9 framelet planes); one
numba pass each is about five times faster at 0.5 MP (benchmarks/bench_deblur.py).
"""
from __future__ import annotations

from numba import njit, prange


@njit(cache=True, inline="always")
def _shrunk(a, t, penalised):
    """(q, z - q) after z = soft(a, t) (or z = a where not ``penalised``), a = W u + q_old."""
    z = a
    if penalised:
        if a > t:
            z = a - t
        elif a < -t:
            z = a + t
        else:
            z = 0.0
    qn = a - z
    return qn, z - qn


@njit(parallel=True, cache=True, nogil=True)
def data_update(Ku, g, m2, rho, p, e):
    """v = (m2 g + rho (Ku + p)) / (m2 + rho); p += Ku - v; e = v - p (all (H, W), in place)."""
    H, W = Ku.shape
    for y in prange(H):
        for x in range(W):
            pk = p[y, x] + Ku[y, x]
            v = (m2[y, x] * g[y, x] + rho * pk) / (m2[y, x] + rho)
            pn = pk - v
            p[y, x] = pn
            e[y, x] = v - pn


@njit(parallel=True, cache=True, nogil=True)
def prior_update(Wu, t, first, q, d):
    """For plane n >= ``first`` z = soft(Wu + q, t), below it z = Wu + q (not penalised);
    q += Wu - z; d = z - q (all (n, H, W), in place)."""
    N, H, W = Wu.shape
    for task in prange(N * H):
        n = task // H
        y = task - n * H
        for x in range(W):
            q[n, y, x], d[n, y, x] = _shrunk(Wu[n, y, x] + q[n, y, x], t, n >= first)


@njit(parallel=True, cache=True, nogil=True)
def framelet_prior_update(t, taps, thr, q, d):
    """:func:`prior_update` for the 9 framelet planes (the low-pass, plane 0, not penalised) with
    W u formed on the fly from ``t`` (3, H, W), the horizontal pass of u
    (kernels.framelet._rows): the vertical 3-tap filters of kernels.framelet._columns. The 9
    planes of W u are never stored, which halves the memory traffic of the prior's half of an
    iteration."""
    _, H, W = t.shape
    for y in prange(H):
        yu = y - 1 if y > 0 else H - 1
        yd = y + 1 if y < H - 1 else 0
        for i in range(3):
            a0, a1, a2 = taps[i, 0], taps[i, 1], taps[i, 2]
            for j in range(3):
                n = 3 * i + j
                for x in range(W):
                    wu = a0 * t[j, yd, x] + a1 * t[j, y, x] + a2 * t[j, yu, x]
                    q[n, y, x], d[n, y, x] = _shrunk(wu + q[n, y, x], thr, n > 0)
