"""Blur from the ratio of two gradient magnitudes at edge pixels (Zhuo & Sim 2011, Eq. 7).

For a step edge blurred by a Gaussian of std sigma, a gradient operator that itself smooths with
a Gaussian of std s gives the peak magnitude A / sqrt(2 pi (sigma^2 + s^2)). The ratio of the
magnitudes at two smoothing scales s1 < s2 is therefore R = sqrt((sigma^2 + s2^2) / (sigma^2 + s1^2))
and

    sigma^2 = (s2^2 - R^2 s1^2) / (R^2 - 1).

The paper's form is s1 = 0, s2 = sigma0 (input vs input re-blurred by sigma0):
sigma = sigma0 / sqrt(R^2 - 1). The authors' MATLAB code uses two derivative-of-Gaussian scales.

Discrete gradient operators smooth a little themselves and sampling matters for sharp edges, so
the closed form is biased below sigma ~ 1. Given a calibration table (the ratio the discrete
operators actually give on sampled edges of known sigma, ``R_tab`` ascending with ``S_tab``), the
kernel inverts by interpolation in the table instead.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import as_map, as_mask, check_positive


@njit(parallel=True, cache=True, nogil=True)
def _blur_from_ratio(g1, g2, edges, s1, s2, r_min, r_max, max_blur, R_tab, S_tab, values, valid):
    H, W = g1.shape
    nt = R_tab.shape[0]
    for y in prange(H):
        for x in range(W):
            values[y, x] = 0.0
            valid[y, x] = False
            if not edges[y, x] or g2[y, x] <= 0.0:
                continue
            R = g1[y, x] / g2[y, x]
            if R <= r_min or R > r_max:
                continue
            if nt > 0:
                if R < R_tab[0]:
                    continue
                if R >= R_tab[nt - 1]:  # as sharp as a sampled perfect step, or sharper (noise)
                    values[y, x] = min(S_tab[nt - 1], max_blur)
                    valid[y, x] = True
                    continue
                a = 0
                b = nt - 1
                while b - a > 1:
                    m = (a + b) // 2
                    if R_tab[m] <= R:
                        a = m
                    else:
                        b = m
                t = (R - R_tab[a]) / (R_tab[b] - R_tab[a])
                s = S_tab[a] + t * (S_tab[b] - S_tab[a])
            else:
                R2 = R * R
                s = (s2 * s2 - R2 * s1 * s1) / (R2 - 1.0)
                if s < 0.0:
                    s = 0.0
                s = np.sqrt(s)
            if s > max_blur:
                s = max_blur
            values[y, x] = s
            valid[y, x] = True


def blur_from_ratio(g1, g2, edges, *, s1: float, s2: float, r_min: float = 1.0,
                    r_max: float | None = None, max_blur: float = np.inf, table=None):
    """Blur sigma at edge pixels from two gradient magnitudes.

    Parameters
    ----------
    g1, g2 : ndarray (H, W)
        Gradient magnitudes at smoothing scales ``s1`` < ``s2`` (g1 >= g2 at a step edge).
    edges : ndarray (H, W) of bool
        Where to estimate.
    s1, s2 : float
        The two scales (the paper: s1 = 0, s2 = sigma0).
    r_min, r_max : float
        Ratios outside (r_min, r_max] are rejected (noise, or no valid solution). ``r_max``
        defaults to s2 / s1 (the ratio of a perfectly sharp edge), unbounded when s1 = 0.
    max_blur : float
        Estimates above are clipped to it.
    table : (R_tab, S_tab), optional
        Calibration: ratios (ascending) and the sigmas that give them. Ratios below the table
        (blur beyond its range) are rejected; ratios above it (up to ``r_max``) read as the
        table's sharpest entry. None: the closed form.

    Returns
    -------
    values : ndarray (H, W) float64, sigma in pixels (0 where not valid)
    valid : ndarray (H, W) bool

    Examples
    --------
    >>> import numpy as np
    >>> g1 = np.full((2, 2), 1 / np.sqrt(2.0)); g2 = np.full((2, 2), 1 / np.sqrt(3.0))
    >>> v, ok = blur_from_ratio(g1, g2, np.ones((2, 2), bool), s1=1.0, s2=np.sqrt(2.0))
    >>> round(float(v[0, 0]), 6)
    1.0
    """
    shape = np.shape(g1)
    if len(shape) != 2:
        raise ValueError(f"g1 must be an (H, W) map; got shape {shape}")
    g1 = as_map(g1, shape, name="g1")
    g2 = as_map(g2, shape, name="g2")
    edges = as_mask(edges, shape, name="edges")
    s1 = check_positive(s1, "s1", allow_zero=True)
    s2 = check_positive(s2, "s2")
    if not s1 < s2:
        raise ValueError(f"need 0 <= s1 < s2; got s1={s1}, s2={s2}")
    if r_max is None:
        r_max = s2 / s1 if s1 > 0 else np.inf
    if table is None:
        R_tab = S_tab = np.empty(0)
    else:
        R_tab = np.ascontiguousarray(table[0], dtype=np.float64)
        S_tab = np.ascontiguousarray(table[1], dtype=np.float64)
        if R_tab.shape != S_tab.shape or R_tab.ndim != 1 or np.any(np.diff(R_tab) <= 0):
            raise ValueError("table must be two 1-D arrays of one length with R_tab strictly ascending")
    values = np.empty(g1.shape)
    valid = np.empty(g1.shape, dtype=np.bool_)
    _blur_from_ratio(g1, g2, edges, float(s1), float(s2), float(r_min), float(r_max), float(max_blur),
                     R_tab, S_tab, values, valid)
    return values, valid
