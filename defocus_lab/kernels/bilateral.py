"""Joint bilateral filtering of a sparse map, evaluated and averaged over mask pixels only.

    out(x) = sum_y Gs(|x - y|) Gr(|G(x) - G(y)|) v(y) / sum_y Gs Gr,   x, y in the mask,

the refinement of Zhuo & Sim 2011 (Eq. 9) with the guide G = the input image; with G = the sparse
values themselves it is the plain bilateral filter of the authors' code. Mask pixels are stored
per row (sorted columns), so each output visits only the mask pixels of its window.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def _sparse_bilateral(values, guide, rows_ptr, cols, ys, xs, sigma_s, sigma_r, radius, out):
    C, H, W = guide.shape
    n = ys.shape[0]
    inv_s = 0.5 / (sigma_s * sigma_s)
    inv_r = 0.5 / (sigma_r * sigma_r)
    r2max = radius * radius
    for t in prange(n):
        y = ys[t]
        x = xs[t]
        num = 0.0
        den = 0.0
        for yy in range(max(0, y - radius), min(H, y + radius + 1)):
            dy = yy - y
            lo = rows_ptr[yy]
            hi = rows_ptr[yy + 1]
            # first column >= x - radius (columns are sorted within the row)
            a = lo
            b = hi
            while a < b:
                m = (a + b) // 2
                if cols[m] < x - radius:
                    a = m + 1
                else:
                    b = m
            for u in range(a, hi):
                xx = cols[u]
                if xx > x + radius:
                    break
                dx = xx - x
                d2 = dy * dy + dx * dx
                if d2 > r2max:
                    continue
                g2 = 0.0
                for c in range(C):
                    dg = guide[c, y, x] - guide[c, yy, xx]
                    g2 += dg * dg
                w = np.exp(-d2 * inv_s - g2 * inv_r)
                num += w * values[yy, xx]
                den += w
        out[t] = num / den


def sparse_bilateral(values, mask, guide, *, sigma_s: float, sigma_r: float, truncate: float = 3.0):
    """Joint bilateral filter of ``values`` over the pixels of ``mask``.

    Parameters
    ----------
    values : ndarray (H, W)
        Sparse map (read only where ``mask``).
    mask : ndarray (H, W) bool
    guide : ndarray (H, W) or (H, W, C)
        Range guide: the image (Zhuo & Sim, Eq. 9) or the values themselves.
    sigma_s : float
        Spatial std in pixels; the window radius is ceil(truncate * sigma_s).
    sigma_r : float
        Range std in the guide's units.

    Returns
    -------
    ndarray (H, W): filtered values on the mask, 0 elsewhere.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    g = np.asarray(guide, dtype=np.float64)
    g = np.ascontiguousarray(g[None] if g.ndim == 2 else np.moveaxis(g, -1, 0))
    if values.shape != mask.shape or g.shape[1:] != values.shape:
        raise ValueError(f"values, mask and guide must share (H, W); got {values.shape}, {mask.shape}, {g.shape[1:]}")
    if not (sigma_s > 0 and sigma_r > 0):
        raise ValueError(f"sigma_s and sigma_r must be positive; got {sigma_s}, {sigma_r}")
    H, W = values.shape
    ys, xs = np.nonzero(mask)  # row-major: sorted by row, then column
    rows_ptr = np.zeros(H + 1, dtype=np.int64)
    np.cumsum(np.bincount(ys, minlength=H), out=rows_ptr[1:])
    radius = int(np.ceil(truncate * sigma_s))
    res = np.empty(ys.shape[0])
    _sparse_bilateral(values, g, rows_ptr, xs.astype(np.int64), ys.astype(np.int64), xs.astype(np.int64),
                      float(sigma_s), float(sigma_r), radius, res)
    out = np.zeros((H, W))
    out[ys, xs] = res
    return out
