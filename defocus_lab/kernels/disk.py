"""Layered disk blur by row steps: the lens renderer's convolutions without FFTs.

Along a row, a disk kernel is constant over its full pixels and changes only at its rim, so
each kernel row is a handful of *steps* (:func:`kernel_steps`: the nonzero differences
between neighbouring weights, two per row plus about two per partial pixel). Convolving a
layer with it is then a scatter: every pixel of the layer adds its value times each step into
a difference array of every output row its kernel reaches, and one prefix sum per row turns
the steps into the blurred row. The work is O(radius) per pixel *of the layer* (not of the
image), and a pixel belongs to at most two of the renderer's layers, so the whole layered
blur costs about ``2 x (steps of the kernel) x (channels + 1)`` additions per pixel, against
one full-image FFT per layer (a 12 MP photo's magnification has 17 or more layers of disk
radius 2 to 10 px). The result is the convolution with the kernel itself: any kernel, no
approximation of its shape.

Borders are mirrored as ``np.pad(..., mode="reflect")`` does (edge pixel not repeated, period
2 (n - 1) along an axis of n pixels), so the result equals the FFT path's convolution of the
padded layer.

Kernels here take the layer as *members*: for every image row, the columns and shares of the
pixels that belong to the layer (a CSR of the layer, built for every layer at once by
:func:`layer_members`), and the colour plane they are read from.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


def kernel_steps(kernel: np.ndarray):
    """The rows of a square, odd-sized ``kernel`` (2n + 1, 2n + 1) as steps: ``starts``
    (2n + 2,), ``offsets`` and ``deltas`` with row r's steps at ``starts[r]:starts[r + 1]``
    (column offset from the centre, weight difference: a prefix sum of a row's steps along the
    columns gives the row back), and each row's ``reach`` (its farthest nonzero column from the
    centre; -1 for an empty row)."""
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 2 != 1:
        raise ValueError(f"kernel must be square with an odd side; got shape {k.shape}")
    n = k.shape[0] // 2
    padded = np.zeros((k.shape[0], k.shape[1] + 2))
    padded[:, 1:-1] = k
    diff = np.diff(padded, axis=1)  # diff[r, i]: the step at column offset i - n
    starts = np.zeros(k.shape[0] + 1, np.int64)
    starts[1:] = np.cumsum(np.count_nonzero(diff, axis=1))
    rows, idx = np.nonzero(diff)
    reach = np.full(k.shape[0], -1, np.int64)
    for r in range(k.shape[0]):
        nz = np.flatnonzero(k[r])
        if nz.size:
            reach[r] = int(np.max(np.abs(nz - n)))
    return starts, (idx - n).astype(np.int64), diff[rows, idx], reach


@njit(cache=True, inline="always")
def _reflect(i, n):
    """Index i of an axis of n >= 2 pixels extended by mirroring without repeating the edge."""
    period = 2 * (n - 1)
    i = i % period
    if i < 0:
        i += period
    return period - i if i >= n else i


@njit(cache=True, inline="always")
def _level(r, levels):
    """(k, frac): radius r between levels[k] and levels[k + 1] at fraction frac (levels
    ascending from 0; r beyond the last level: the last, frac 0)."""
    last = levels.shape[0] - 1
    if r >= levels[last]:
        return last, 0.0
    lo, hi = 0, last  # levels[lo] <= r < levels[hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if levels[mid] <= r:
            lo = mid
        else:
            hi = mid
    return lo, (r - levels[lo]) / (levels[lo + 1] - levels[lo])


@njit(parallel=True, cache=True, nogil=True)
def _count_levels(rad, levels, keys, counts, key_sum, share_sum):
    """counts[k, y]: pixels of row y in level k; key_sum / share_sum per row and level (the
    level's mean compositing key). A pixel sits in level k with share 1 - frac and in level
    k + 1 with share frac when frac > 0 (:func:`_level`)."""
    H, W = rad.shape
    for y in prange(H):
        for x in range(W):
            lo, frac = _level(max(rad[y, x], 0.0), levels)
            counts[lo, y] += 1
            key_sum[lo, y] += keys[y, x] * (1.0 - frac)
            share_sum[lo, y] += 1.0 - frac
            if frac > 0:
                counts[lo + 1, y] += 1
                key_sum[lo + 1, y] += keys[y, x] * frac
                share_sum[lo + 1, y] += frac


@njit(parallel=True, cache=True, nogil=True)
def _fill_levels(rad, levels, rowptr, cols, shares):
    H, W = rad.shape
    for y in prange(H):
        cur = rowptr[:, y].copy()
        for x in range(W):
            lo, frac = _level(max(rad[y, x], 0.0), levels)
            q = cur[lo]
            cols[q] = x
            shares[q] = 1.0 - frac
            cur[lo] += 1
            if frac > 0:
                q = cur[lo + 1]
                cols[q] = x
                shares[q] = frac
                cur[lo + 1] += 1


def layer_members(radius_map: np.ndarray, levels, keys: np.ndarray):
    """Every layer's pixels at once: ``rowptr`` (nlev, H + 1), ``cols`` (int32) and ``shares``
    (float32) with the members of level k in row y at ``rowptr[k, y]:rowptr[k, y + 1]`` (columns
    ascending), and each level's mean of ``keys`` weighted by the shares (NaN for an empty
    level). ``levels``: the layers' radii, ascending from 0; a pixel of radius r between two of
    them is shared between those two linearly (the renderer's layers; r beyond the last level
    goes to it whole)."""
    levels = np.ascontiguousarray(levels, dtype=np.float64)
    if levels.ndim != 1 or levels.size < 1 or levels[0] != 0 or np.any(np.diff(levels) <= 0):
        raise ValueError("levels must be a 1-D ascending array of radii starting at 0")
    nlev = levels.size
    rad = np.ascontiguousarray(radius_map, dtype=np.float64)
    keys = np.ascontiguousarray(keys, dtype=np.float64)
    H = rad.shape[0]
    counts = np.zeros((nlev, H), np.int64)
    key_sum = np.zeros((nlev, H))
    share_sum = np.zeros((nlev, H))
    _count_levels(rad, levels, keys, counts, key_sum, share_sum)
    rowptr = np.zeros((nlev, H + 1), np.int64)
    rowptr[:, 1:] = np.cumsum(counts, axis=1)
    totals = rowptr[:, -1].copy()
    rowptr += np.concatenate([[0], np.cumsum(totals)[:-1]])[:, None]
    cols = np.empty(int(totals.sum()), np.int32)
    shares = np.empty(int(totals.sum()), np.float32)
    _fill_levels(rad, levels, rowptr, cols, shares)
    s = share_sum.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_key = np.where(s > 0, key_sum.sum(axis=1) / np.where(s > 0, s, 1.0), np.nan)
    return rowptr, cols, shares, mean_key


ROWS_PER_TASK = 8  # output rows per parallel task of _disk_layer (its difference row is reused)


@njit(parallel=True, cache=True, nogil=True)
def _disk_layer(src, rowptr, cols, shares, starts, offsets, deltas, reach, acc, cov, over):
    """Convolve the layer (members ``rowptr`` (H + 1), ``cols``, ``shares`` of the colour plane
    ``src`` (H, W, C)) with the kernel given as row steps (:func:`kernel_steps`),
    premultiplied, and composite it: with ``over`` the layer goes over (acc, cov) (Porter-Duff,
    its coverage clipped to [0, 1]); without, (acc, cov) receive the layer itself (colour,
    clipped coverage).

    Parallel over blocks of output rows; each block reuses one difference row, and a row's
    prefix sum and compositing run only between the first and last column it touched (the layer
    is zero elsewhere: ``over`` leaves acc as it is there)."""
    H, W, C = src.shape
    K = reach.shape[0]
    n = K // 2
    period = 2 * (W - 1)
    nblocks = (H + ROWS_PER_TASK - 1) // ROWS_PER_TASK
    for blk in prange(nblocks):
        d = np.zeros((W + 1, C + 1))
        run = np.zeros(C + 1)
        val = np.zeros(C + 1)
        for yo in range(blk * ROWS_PER_TASK, min(H, (blk + 1) * ROWS_PER_TASK)):
            first, last = W + 1, -1  # the touched range of d
            for r in range(K):
                ext = reach[r]
                if ext < 0:
                    continue
                ys = _reflect(yo + n - r, H)  # row r of the kernel is offset r - n: a convolution
                for q in range(rowptr[ys], rowptr[ys + 1]):
                    x = cols[q]
                    v = np.float64(shares[q])
                    for p in range(C):
                        val[p] = v * src[ys, x, p]
                    val[C] = v
                    # the pixel and its mirror images that reach [0, W)
                    interior = x - ext > 0 and x + ext < W - 1
                    m_lo, m_hi = 0, 0
                    if not interior:
                        m_lo = (-ext - x) // period - 1
                        m_hi = (W - 1 + ext - x) // period + 1
                    for m in range(m_lo, m_hi + 1):
                        for mirror in range(2):
                            if mirror == 0:
                                xi = x + m * period
                            else:
                                if interior or x == 0 or x == W - 1:
                                    continue  # no mirror reaches, or the edge pixel's mirror is itself
                                xi = -x + m * period
                            if xi + ext < 0 or xi - ext > W - 1:
                                continue
                            first = min(first, max(xi - ext, 0))
                            last = max(last, min(xi + ext + 1, W))
                            inside = xi - ext >= 0 and xi + ext + 1 <= W
                            if C == 3:  # colour: the four planes' steps written out (1.3x faster)
                                v0, v1, v2, v3 = val[0], val[1], val[2], val[3]
                                for s in range(starts[r], starts[r + 1]):
                                    i = xi + offsets[s]
                                    if not inside:
                                        i = min(max(i, 0), W)
                                    g = deltas[s]
                                    d[i, 0] += g * v0
                                    d[i, 1] += g * v1
                                    d[i, 2] += g * v2
                                    d[i, 3] += g * v3
                            else:
                                for s in range(starts[r], starts[r + 1]):
                                    i = min(max(xi + offsets[s], 0), W)
                                    g = deltas[s]
                                    for p in range(C + 1):
                                        d[i, p] += g * val[p]
            if not over:
                for x in range(W):
                    for p in range(C):
                        acc[yo, x, p] = 0.0
                    cov[yo, x] = 0.0
            if last < 0:
                continue
            run[:] = 0.0
            for x in range(first, last):
                for p in range(C + 1):
                    run[p] += d[x, p]
                    d[x, p] = 0.0
                al = min(max(run[C], 0.0), 1.0)
                if over:
                    for p in range(C):
                        acc[yo, x, p] = run[p] + (1.0 - al) * acc[yo, x, p]
                    cov[yo, x] = al + (1.0 - al) * cov[yo, x]
                else:
                    for p in range(C):
                        acc[yo, x, p] = run[p]
                    cov[yo, x] = al
            for p in range(C + 1):
                d[last, p] = 0.0  # the closing steps past the last column


def disk_layer(src, rowptr, cols, shares, kernel, acc, cov, *, over: bool = True) -> None:
    """Convolve one layer with ``kernel`` (square, odd side; the renderer's
    :func:`defocus_lab.render.disk_kernel`) and composite it into ``acc`` (H, W, C) and ``cov``
    (H, W), in place (``_disk_layer``). ``src`` (H, W, C) float32, H, W >= 2; ``rowptr``
    (H + 1,) int64, ``cols`` int32, ``shares`` float32 (:func:`layer_members`)."""
    if src.shape[0] < 2 or src.shape[1] < 2:
        raise ValueError(f"disk_layer needs at least 2x2 pixels; got {src.shape[:2]}")
    _disk_layer(src, rowptr, cols, shares, *kernel_steps(kernel), acc, cov, bool(over))


@njit(parallel=True, cache=True, nogil=True)
def _block_layer(src, rowptr, cols, shares, f, out):
    """out (h, w, C + 1): the layer's premultiplied (colour * share, share) averaged over f x f
    blocks (a partial block at the far edges: over its pixels)."""
    H, W, C = src.shape
    h, w = out.shape[0], out.shape[1]
    for i in prange(h):
        for y in range(i * f, min(i * f + f, H)):
            for q in range(rowptr[y], rowptr[y + 1]):
                x = cols[q]
                v = np.float64(shares[q])
                j = x // f
                for p in range(C):
                    out[i, j, p] += v * src[y, x, p]
                out[i, j, C] += v
        ny = min(i * f + f, H) - i * f
        for j in range(w):
            inv = 1.0 / (ny * (min(j * f + f, W) - j * f))
            for p in range(C + 1):
                out[i, j, p] *= inv


@njit(parallel=True, cache=True, nogil=True)
def _dense_members(blocks, counts, rowptr, colour, cols, shares):
    """The blocks with a share > 0 as members (:func:`block_layer`), in two passes: while
    ``rowptr`` is all zero, count them per row into ``counts``; then fill ``colour``, ``cols``
    and ``shares``."""
    h, w, P = blocks.shape
    C = P - 1
    for i in prange(h):
        if rowptr[h] == 0:
            k = 0
            for j in range(w):
                if blocks[i, j, C] > 0:
                    k += 1
            counts[i] = k
            continue
        q = rowptr[i]
        for j in range(w):
            s = blocks[i, j, C]
            if s > 0:
                for p in range(C):
                    colour[i, j, p] = blocks[i, j, p] / s
                cols[q] = j
                shares[q] = s
                q += 1


def block_layer(src, rowptr, cols, shares, f: int):
    """The layer on a copy f times smaller, as members again: (colour (h, w, C) float32, rowptr,
    cols, shares) with the block's mean share as the share and its mean premultiplied colour
    divided by it as the colour, so that colour * share is the block's mean."""
    H, W, C = src.shape
    h, w = -(-H // f), -(-W // f)
    blocks = np.zeros((h, w, C + 1))
    _block_layer(src, rowptr, cols, shares, int(f), blocks)
    counts = np.zeros(h, np.int64)
    rows = np.zeros(h + 1, np.int64)
    colour = np.zeros((h, w, C), np.float32)
    _dense_members(blocks, counts, rows, colour, np.zeros(0, np.int32), np.zeros(0, np.float32))
    rows[1:] = np.cumsum(counts)
    bcols, bshares = np.empty(rows[-1], np.int32), np.empty(rows[-1], np.float32)
    if rows[-1]:
        _dense_members(blocks, counts, rows, colour, bcols, bshares)
    return colour, rows, bcols, bshares


@njit(parallel=True, cache=True, nogil=True)
def _upsample(a, r, out):
    """out (H, W, C): ``a`` (h, w, C) r times finer by bilinear interpolation between pixel
    centres (coarse pixel i covers fine pixels r i .. r i + r - 1), edge values beyond the
    outer centres."""
    h, w, C = a.shape
    H, W = out.shape[0], out.shape[1]
    for y in prange(H):
        cy = (y + 0.5) / r - 0.5
        i0 = min(max(int(np.floor(cy)), 0), h - 1)
        i1 = min(i0 + 1, h - 1)
        ty = min(max(cy - i0, 0.0), 1.0)
        for x in range(W):
            cx = (x + 0.5) / r - 0.5
            j0 = min(max(int(np.floor(cx)), 0), w - 1)
            j1 = min(j0 + 1, w - 1)
            tx = min(max(cx - j0, 0.0), 1.0)
            for p in range(C):
                top = a[i0, j0, p] + tx * (a[i0, j1, p] - a[i0, j0, p])
                bot = a[i1, j0, p] + tx * (a[i1, j1, p] - a[i1, j0, p])
                out[y, x, p] = top + ty * (bot - top)


def upsample(a: np.ndarray, r: int, shape) -> np.ndarray:
    """(H, W, ...) float64: ``a`` (h, w, ...) brought r times finer to ``shape`` (``_upsample``)."""
    a3 = np.ascontiguousarray(a, dtype=np.float64).reshape(a.shape[:2] + (-1,))
    out = np.empty(tuple(shape[:2]) + (a3.shape[2],))
    _upsample(a3, int(r), out)
    return out.reshape(tuple(shape[:2]) + a.shape[2:])


@njit(parallel=True, cache=True, nogil=True)
def _srgb_to_linear(img, out):
    H, W, C = img.shape
    for y in prange(H):
        for x in range(W):
            for p in range(C):
                v = img[y, x, p]
                out[y, x, p] = v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


@njit(parallel=True, cache=True, nogil=True)
def _resolve(acc, cov, linear, out):
    """out = acc / cov (colour where coverage fills hidden background), to sRGB when ``linear``,
    clipped to [0, 1]."""
    H, W, C = acc.shape
    for y in prange(H):
        for x in range(W):
            inv = 1.0 / max(cov[y, x], 1e-12)
            for p in range(C):
                v = min(max(acc[y, x, p] * inv, 0.0), 1.0)
                if linear:
                    v = 12.92 * v if v <= 0.0031308 else 1.055 * v ** (1.0 / 2.4) - 0.055
                out[y, x, p] = v


def srgb_to_linear(img: np.ndarray) -> np.ndarray:
    """(H, W, C) sRGB in [0, 1] decoded to linear light, float32 (the renderer's colour plane)."""
    out = np.empty(img.shape, np.float32)
    _srgb_to_linear(np.ascontiguousarray(img), out)
    return out


def resolve(acc: np.ndarray, cov: np.ndarray, linear: bool) -> np.ndarray:
    """The rendered image: ``acc / cov``, encoded to sRGB when ``linear``, in [0, 1], float64."""
    out = np.empty(acc.shape, np.float64)
    _resolve(np.ascontiguousarray(acc), np.ascontiguousarray(cov), bool(linear), out)
    return out
