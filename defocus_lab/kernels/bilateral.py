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

For photos the same filter is evaluated on a *bilateral grid* (Paris & Durand 2006; Chen, Paris &
Durand 2007) in time linear in the number of mask pixels, whatever ``sigma_s``: each mask pixel
splats (value, 1) multilinearly into a coarse grid over (y, x, guide channels) with a step of
``grid_step`` sigmas, the grid is blurred by a separable Gaussian, and each mask pixel reads its
numerator and denominator back multilinearly. The two multilinear passes widen the kernel by
the variance of two tents (step^2 / 6 each), which the grid's Gaussian subtracts, so the
effective kernel has the exact filter's variance in every dimension. With Zhuo & Sim's sigma_s
of 10 % of the larger side the grid has about (1 / (0.1 grid_step))^2 spatial cells at any image
size, so the work is the splat and the slice, 2^(2 + C) corners per mask pixel. What it gives up:
the Gaussian is no longer cut at ``truncate`` sigmas (it runs to 4 grid sigmas) and the kernel's
shape is Gaussian only up to the tents' higher moments; ``benchmarks/bench_photo_size.py`` and
``tests/test_kernels.py`` measure the difference from the exact filter on the papers' photos.
``method="auto"`` keeps the exact kernel while it costs less than :data:`EXACT_MAX_PAIRS` pairs
(under a second: the small images of the notebooks and the papers' tables), and uses the grid
above.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .._validate import TooLarge, check_positive
from .boxfilter import box_sum

PAIRS_PER_SECOND = 2.5e7  # measured on 2 cores, 3.4 MP photo (benchmarks/design-notes.md)
MAX_PAIRS = 5e9  # ~3-4 minutes on 2 cores; above, sparse_bilateral raises (set it higher to run anyway)
CHUNK_PAIRS = 1e7  # pairs per kernel call (~0.4 s on 2 cores): Ctrl-C lands between calls
PROGRESS_PAIRS = 2e8  # a progress bar above this many pairs (a few seconds; progress=None)
EXACT_MAX_PAIRS = 2e7  # method="auto": the exact kernel up to this many pairs (< 1 s), the grid above
GRID_MAX_CELLS = 2e7  # the grid's memory bound (2 planes of float64: 320 MB)
METHODS = ("auto", "exact", "grid")


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


@njit(cache=True, inline="always")
def _locate(guide, y, x, scale, offset, last, base, frac):
    """The grid cell of mask pixel (y, x) and its place in it: ``base[d]`` (clamped to
    0..last[d], so that rounding at the grid's edges never reaches outside) and ``frac[d]`` in
    [0, 1], along d = 0: y, 1: x, 2+: the channels of the (H, W, C) guide."""
    for d in range(scale.shape[0]):
        if d == 0:
            u = y * scale[0] - offset[0]
        elif d == 1:
            u = x * scale[1] - offset[1]
        else:
            u = guide[y, x, d - 2] * scale[d] - offset[d]
        b = min(max(int(np.floor(u)), 0), last[d])
        base[d] = b
        frac[d] = min(max(u - b, 0.0), 1.0)


@njit(cache=True, inline="always")
def _corner(corner, base, frac, strides):
    """(flat index, multilinear weight) of one of the 2^D corners of the cell."""
    idx = 0
    w = 1.0
    for d in range(base.shape[0]):
        if (corner >> d) & 1:
            idx += (base[d] + 1) * strides[d]
            w *= frac[d]
        else:
            idx += base[d] * strides[d]
            w *= 1.0 - frac[d]
    return idx, w


@njit(parallel=True, cache=True, nogil=True)
def _grid_splat(values, guide, ys, xs, scale, offset, last, strides, grids):
    """Add (value, 1) of each mask pixel to the 2^D corners of its grid cell, multilinear weights.
    ``grids``: (P, cells, 2) float64, zeros, each flat in C order with ``strides`` (in cells).
    The corners of neighbouring pixels collide, so each of the P parts of the pixels splats
    into its own grid (the grid is small: ~1e6 cells); the caller sums them."""
    P = grids.shape[0]
    n = ys.shape[0]
    D = scale.shape[0]
    for part in prange(P):
        grid = grids[part]
        base = np.empty(D, dtype=np.int64)
        frac = np.empty(D)
        for t in range(part * n // P, (part + 1) * n // P):
            _locate(guide, ys[t], xs[t], scale, offset, last, base, frac)
            v = values[ys[t], xs[t]]
            for corner in range(1 << D):
                idx, w = _corner(corner, base, frac, strides)
                grid[idx, 0] += w * v
                grid[idx, 1] += w


@njit(parallel=True, cache=True, nogil=True)
def _grid_slice(guide, ys, xs, scale, offset, last, strides, grid, out):
    """out[t] = numerator / denominator read multilinearly at mask pixel t's grid position."""
    D = scale.shape[0]
    for t in prange(ys.shape[0]):
        base = np.empty(D, dtype=np.int64)
        frac = np.empty(D)
        _locate(guide, ys[t], xs[t], scale, offset, last, base, frac)
        num = 0.0
        den = 0.0
        for corner in range(1 << D):
            idx, w = _corner(corner, base, frac, strides)
            num += w * grid[idx, 0]
            den += w * grid[idx, 1]
        out[t] = num / den


def grid_layout(ys, xs, guide, *, sigma_s: float, sigma_r: float, grid_step: float = 0.5):
    """The bilateral grid's geometry for these mask pixels: ``(scale, offset, shape)``, with
    grid coordinate ``u_d = p_d * scale[d] - offset[d]`` (p: y, x, then the guide channels at the
    pixel; ``guide`` is (H, W, C)), a step of ``grid_step`` sigmas, the smallest coordinate at 0
    and one cell to spare for the upper corner."""
    C = guide.shape[2]
    lo = [float(ys.min()), float(xs.min())]
    hi = [float(ys.max()), float(xs.max())]
    for c in range(C):
        g = guide[ys, xs, c]
        lo.append(float(g.min()))
        hi.append(float(g.max()))
    scale = np.array([1.0 / (grid_step * sigma_s)] * 2 + [1.0 / (grid_step * sigma_r)] * C)
    offset = np.array(lo) * scale
    shape = tuple(int(np.floor((h - l) * k)) + 2 for l, h, k in zip(lo, hi, scale))
    return scale, offset, shape


def grid_cells(ys, xs, guide, *, sigma_s: float, sigma_r: float, grid_step: float = 0.5) -> int:
    """The number of cells of :func:`grid_layout` (the grid's memory is 16 bytes a cell)."""
    return _cells(grid_layout(ys, xs, guide, sigma_s=sigma_s, sigma_r=sigma_r, grid_step=grid_step)[2])


def _cells(shape) -> int:
    return int(np.prod(shape, dtype=np.float64))


def _c_strides(shape) -> np.ndarray:
    """Strides, in cells, of a C-ordered grid of ``shape``."""
    return np.array([int(np.prod(shape[d + 1:])) for d in range(len(shape))], dtype=np.int64)


def _bilateral_grid(values, guide, ys, xs, layout, grid_step):
    """The filtered values at the mask pixels (ys, xs) by the bilateral grid of ``layout``
    (:func:`grid_layout`; module docstring)."""
    from scipy.ndimage import gaussian_filter1d
    scale, offset, shape = layout
    cells = int(np.prod(shape))
    parts = max(1, min(numba.get_num_threads(), len(ys) // 50_000, int(GRID_MAX_CELLS // cells)))
    grids = np.zeros((parts, cells, 2))
    strides = _c_strides(shape)
    last = np.array(shape, dtype=np.int64) - 2  # the last cell with an upper corner
    _grid_splat(values, guide, ys, xs, scale, offset, last, strides, grids)
    grid = (grids[0] if parts == 1 else grids.sum(axis=0)).reshape(shape + (2,))
    # one grid sigma is 1 / grid_step cells; the splat's and the slice's tents add 1/6 cell^2 each
    blur = np.sqrt(1.0 / grid_step ** 2 - 1.0 / 3.0)
    for axis in range(len(shape)):
        grid = gaussian_filter1d(grid, blur, axis=axis, mode="constant", truncate=4.0)
    out = np.empty(ys.shape[0])
    _grid_slice(guide, ys, xs, scale, offset, last, strides, np.ascontiguousarray(grid).reshape(-1, 2), out)
    return out


def sparse_bilateral(values, mask, guide, *, sigma_s: float, sigma_r: float, truncate: float = 3.0,
                     method: str = "auto", grid_step: float = 0.5, progress=None):
    """Joint bilateral filter of ``values`` over the pixels of ``mask``.

    Parameters
    ----------
    values : ndarray (H, W)
        Sparse map (read only where ``mask``).
    mask : ndarray (H, W) bool
        Where ``values`` are defined: the filter averages over these pixels only.
    guide : ndarray (H, W) or (H, W, C)
        Range guide: the image (Zhuo & Sim, Eq. 9) or the values themselves.
    sigma_s : float
        Spatial std in pixels; the window radius is ceil(truncate * sigma_s).
    sigma_r : float
        Range std in the guide's units.
    truncate : float
        Window radius in units of ``sigma_s`` (the exact kernel).
    method : {"auto", "exact", "grid"}
        "exact": every (output, mask pixel) pair of the windows (the reference; quadratic in the
        image size with a sigma_s proportional to it). "grid": the bilateral grid, linear in the
        mask pixels (module docstring). "auto" (default): "exact" up to
        :data:`EXACT_MAX_PAIRS` pairs, else "grid" (unless the grid would hold more than
        :data:`GRID_MAX_CELLS` cells, a sigma_s or sigma_r tiny against the image's extent, where
        the exact kernel is cheap anyway).
    grid_step : float
        The grid's cell, in sigmas (0 < grid_step <= 1; 0.5 by default: 1 / grid_step^D times
        the memory for a closer Gaussian).
    progress : bool or None
        A tqdm bar over the pairs of the exact kernel; None: shown above :data:`PROGRESS_PAIRS`
        pairs. (The grid takes well under a second per million mask pixels.)

    Returns
    -------
    ndarray (H, W): filtered values on the mask, 0 elsewhere.

    Raises
    ------
    ValueError
        Bad input, or more than :data:`MAX_PAIRS` pairs of work (module docstring): the message
        gives the count and the options that bring it under the limit.

    Examples
    --------
    Values on both sides of a step are averaged with their own side only:

    >>> import numpy as np
    >>> guide = np.zeros((8, 8)); guide[:, 4:] = 1.0
    >>> values = np.where(guide > 0, 3.0, 1.0) + np.tile([0.2, -0.2], (8, 4))
    >>> out = sparse_bilateral(values, np.ones((8, 8), bool), guide, sigma_s=2.0, sigma_r=0.1)
    >>> bool(np.all(np.abs(out[:, :4] - 1.0) < 0.2) and np.all(np.abs(out[:, 4:] - 3.0) < 0.2))
    True
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    g = np.asarray(guide, dtype=np.float64)
    g = np.ascontiguousarray(g[..., None] if g.ndim == 2 else g)  # (H, W, C): the grid reads it so
    if values.ndim != 2 or values.shape != mask.shape or g.ndim != 3 or g.shape[:2] != values.shape:
        raise ValueError(f"values, mask and guide must share (H, W); got {values.shape}, {mask.shape}, "
                         f"{np.shape(guide)[:2]}")
    sigma_s = check_positive(sigma_s, "sigma_s")
    sigma_r = check_positive(sigma_r, "sigma_r")
    truncate = check_positive(truncate, "truncate")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    grid_step = check_positive(grid_step, "grid_step")
    if grid_step > 1:
        raise ValueError(f"grid_step must be in (0, 1] (the grid's cell in sigmas); got {grid_step}")
    H, W = values.shape
    ys, xs = np.nonzero(mask)  # row-major: sorted by row, then column
    out = np.zeros((H, W))
    if len(ys) == 0:
        return out
    radius = int(min(np.ceil(truncate * sigma_s), max(H, W)))
    per_pixel = total = None
    if method != "grid":  # the exact kernel's work (for "auto", to choose)
        per_pixel = bilateral_pairs(mask, radius, ys, xs)
        total = float(per_pixel.sum())
    if method != "exact":
        layout = grid_layout(ys, xs, g, sigma_s=sigma_s, sigma_r=sigma_r, grid_step=grid_step)
        cells = _cells(layout[2])
        if method == "grid" and cells > GRID_MAX_CELLS:
            raise TooLarge(f"the bilateral grid would hold {cells:.3g} cells ({16 * cells / 2**30:.1f} GB; the "
                           f"limit is {GRID_MAX_CELLS:.0e}): sigma_s {sigma_s:.4g} px and sigma_r {sigma_r:.4g} are "
                           f"small against the image and its range. Use method='exact' (cheap for small "
                           f"sigmas), or a larger grid_step")
        if method == "grid" or (total > min(EXACT_MAX_PAIRS, MAX_PAIRS) and cells <= GRID_MAX_CELLS):
            ys64, xs64 = ys.astype(np.int64), xs.astype(np.int64)
            out[ys, xs] = _bilateral_grid(values, g, ys64, xs64, layout, grid_step)
            return out
    if total > MAX_PAIRS:
        fit = _radius_that_fits(mask, ys, xs, radius)
        raise TooLarge(
            f"the sparse bilateral filter would visit {total:.2g} pixel pairs (~{total / PAIRS_PER_SECOND / 60:.0f} "
            f"min on 2 cores; the limit is {MAX_PAIRS:.0e}): {len(ys)} edge pixels with windows of radius "
            f"{radius} px (sigma_s {sigma_s:.4g} x truncate {truncate:g}). Lower sigma_s to at most "
            f"~{fit / truncate:.3g} px, or use the bilateral grid (method='grid'; zhuo2011: "
            f"bilateral_method='grid'), or turn the refinement off (bilateral=None), or estimate on a "
            f"smaller copy of the image (or raise defocus_lab.kernels.bilateral.MAX_PAIRS to wait)")
    g = np.ascontiguousarray(np.moveaxis(g, -1, 0))  # the exact kernel reads (C, H, W)
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
