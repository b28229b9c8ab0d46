"""Joint bilateral filtering of a sparse map, evaluated and averaged over mask pixels only.

    out(x) = sum_y Gs(|x - y|) Gr(|G(x) - G(y)|) v(y) / sum_y Gs Gr,   x, y in the mask,

the refinement of Zhuo & Sim 2011 (Eq. 9) with the guide G = the input image; with G = the sparse
values themselves it is the plain bilateral filter of the authors' code. Mask pixels are stored
per row (sorted columns), so each output visits only the mask pixels of its window.

The work is the number of (output, mask pixel) pairs inside the square windows, counted exactly
before starting by a box sum of the mask. It grows with the square of ``sigma_s``: Zhuo & Sim's
sigma_s of 10 % of the larger side makes it quadratic in the image size. Above
:data:`MAX_PAIRS` the wrapper refuses with the options that fit instead of running for hours;
below, it runs the kernel in chunks of about :data:`CHUNK_PAIRS` pairs, so that Ctrl-C stops it
between chunks and a progress bar can follow it.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._validate import TooLarge, check_positive
from .boxfilter import box_sum

PAIRS_PER_SECOND = 2.5e7  # measured on 2 cores, 3.4 MP photo (benchmarks/design-notes.md)
MAX_PAIRS = 5e9  # ~3-4 minutes on 2 cores; above, sparse_bilateral raises (set it higher to run anyway)
CHUNK_PAIRS = 1e7  # pairs per kernel call (~0.4 s on 2 cores): Ctrl-C lands between calls
PROGRESS_PAIRS = 2e8  # a progress bar above this many pairs (a few seconds; progress=None)


@njit(parallel=True, cache=True, nogil=True)
def _sparse_bilateral(values, guide, rows_ptr, cols, ys, xs, sigma_s, sigma_r, radius, out):
    """out[t] = the filtered value at mask pixel (ys[t], xs[t]); ``rows_ptr``/``cols``: the mask
    pixels per row, columns sorted (CSR of the mask)."""
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


def sparse_bilateral(values, mask, guide, *, sigma_s: float, sigma_r: float, truncate: float = 3.0,
                     progress=None):
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
    truncate : float
        Window radius in units of ``sigma_s``.
    progress : bool or None
        A tqdm bar over the pairs; None: shown above :data:`PROGRESS_PAIRS` pairs.

    Returns
    -------
    ndarray (H, W): filtered values on the mask, 0 elsewhere.

    Raises
    ------
    ValueError
        Bad input, or more than :data:`MAX_PAIRS` pairs of work (module docstring): the message
        gives the count and the options that bring it under the limit.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    g = np.asarray(guide, dtype=np.float64)
    g = np.ascontiguousarray(g[None] if g.ndim == 2 else np.moveaxis(g, -1, 0))
    if values.ndim != 2 or values.shape != mask.shape or g.shape[1:] != values.shape:
        raise ValueError(f"values, mask and guide must share (H, W); got {values.shape}, {mask.shape}, {g.shape[1:]}")
    sigma_s = check_positive(sigma_s, "sigma_s")
    sigma_r = check_positive(sigma_r, "sigma_r")
    truncate = check_positive(truncate, "truncate")
    H, W = values.shape
    ys, xs = np.nonzero(mask)  # row-major: sorted by row, then column
    radius = int(min(np.ceil(truncate * sigma_s), max(H, W)))
    per_pixel = bilateral_pairs(mask, radius, ys, xs)
    total = float(per_pixel.sum())
    if total > MAX_PAIRS:
        fit = _radius_that_fits(mask, ys, xs, radius)
        raise TooLarge(
            f"the sparse bilateral filter would visit {total:.2g} pixel pairs (~{total / PAIRS_PER_SECOND / 60:.0f} "
            f"min on 2 cores; the limit is {MAX_PAIRS:.0e}): {len(ys)} edge pixels with windows of radius "
            f"{radius} px (sigma_s {sigma_s:.4g} x truncate {truncate:g}). Lower sigma_s to at most "
            f"~{fit / truncate:.3g} px, or turn the refinement off (bilateral=None), or estimate on a "
            f"smaller copy of the image (or raise defocus_lab.kernels.bilateral.MAX_PAIRS to wait)")
    rows_ptr = np.zeros(H + 1, dtype=np.int64)
    np.cumsum(np.bincount(ys, minlength=H), out=rows_ptr[1:])
    ys64, xs64 = ys.astype(np.int64), xs.astype(np.int64)
    res = np.empty(ys.shape[0])
    # chunk boundaries: about CHUNK_PAIRS pairs each
    cum = np.cumsum(per_pixel)
    cuts = np.searchsorted(cum, np.arange(CHUNK_PAIRS, total, CHUNK_PAIRS))
    bounds = np.unique(np.concatenate([[0], cuts, [len(ys)]]))
    bar = None
    if progress or (progress is None and total > PROGRESS_PAIRS):
        from tqdm.auto import tqdm
        bar = tqdm(total=len(ys), desc="bilateral refinement", unit="px")
    try:
        for a, b in zip(bounds[:-1], bounds[1:]):
            _sparse_bilateral(values, g, rows_ptr, xs64, ys64[a:b], xs64[a:b], sigma_s, sigma_r, radius,
                              res[a:b])
            if bar is not None:
                bar.update(int(b - a))
    finally:
        if bar is not None:
            bar.close()
    out = np.zeros((H, W))
    out[ys, xs] = res
    return out


def bilateral_pairs(mask, radius: int, ys=None, xs=None) -> np.ndarray:
    """The work of :func:`sparse_bilateral` per mask pixel: the mask pixels in its square window
    of ``radius`` (an exact box sum of the mask, O(H W))."""
    if ys is None:
        ys, xs = np.nonzero(mask)
    return box_sum(mask.astype(np.float64), int(radius))[ys, xs]


def _radius_that_fits(mask, ys, xs, radius):
    """The largest window radius (halving from ``radius``) whose pairs stay under MAX_PAIRS."""
    r = radius
    while r > 1 and float(bilateral_pairs(mask, r, ys, xs).sum()) > MAX_PAIRS:
        r //= 2
    return r
