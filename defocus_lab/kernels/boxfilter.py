"""Box sums over (2r+1) x (2r+1) windows clipped at the image border, O(N) for any radius."""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .._validate import check_int


def box_sum_into(src, r, out):
    """Sum of ``src[c]`` over the window of radius ``r`` around each pixel, in-bounds part only,
    written into ``out``: the unchecked form of :func:`box_sum` for the kernels that keep their
    buffers (the matting product, the window statistics, the guided filter's last step).

    ``src`` and ``out`` are C-contiguous (C, H, W) float64 and may not alias. Each channel is
    cut into bands of rows, two per thread (:func:`_box_bands`)."""
    _box_bands(src, r, max(1, min(src.shape[1], 2 * numba.get_num_threads())), out)


@njit(parallel=True, cache=True, nogil=True)
def _box_bands(src, r, blocks, out):
    """One pass per (channel, band of rows): the horizontal running sums of the 2r + 1 rows in
    the window are kept in a ring (in cache) and their vertical sum slides down the band, so no
    plane of horizontal sums goes through memory (faster than a horizontal pass over the whole
    image followed by a vertical one: ``benchmarks/design-notes.md``)."""
    C, H, W = src.shape
    R = 2 * r + 1
    for task in prange(C * blocks):
        c = task // blocks
        b = task - c * blocks
        y0 = b * H // blocks
        y1 = (b + 1) * H // blocks
        ring = np.empty((R, W))
        acc = np.zeros(W)
        for yy in range(max(0, y0 - r), min(H, y0 + r + 1)):
            _row_sums(src, c, yy, r, ring[yy % R])
            _add_row(acc, ring[yy % R], 1.0)
        for y in range(y0, y1):
            for x in range(W):
                out[c, y, x] = acc[x]
            if y + 1 < y1:
                leave = y - r  # leaves the window of y + 1 ...
                enter = y + 1 + r  # ... as this one enters, into the same ring slot
                if leave >= 0:
                    _add_row(acc, ring[leave % R], -1.0)
                if enter < H:
                    _row_sums(src, c, enter, r, ring[enter % R])
                    _add_row(acc, ring[enter % R], 1.0)


@njit(cache=True, nogil=True)
def _add_row(acc, row, sign):
    for x in range(acc.shape[0]):
        acc[x] += sign * row[x]


@njit(cache=True, nogil=True)
def _row_sums(src, c, y, r, out):
    """out[x] = sum of src[c, y] over [x - r, x + r] (clipped)."""
    W = src.shape[2]
    s = 0.0
    for x in range(min(r, W - 1) + 1):
        s += src[c, y, x]
    out[0] = s
    for x in range(1, W):
        xa = x + r
        if xa < W:
            s += src[c, y, xa]
        xr = x - r - 1
        if xr >= 0:
            s -= src[c, y, xr]
        out[x] = s


def box_sum(image, radius: int) -> np.ndarray:
    """Sum over the (2r+1)^2 window around each pixel, counting only pixels inside the image.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (C, H, W)
        Real-valued array; computed in float64.
    radius : int
        Window radius r >= 0.

    Returns
    -------
    ndarray, float64, same shape as ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> box_sum(np.ones((3, 4)), 1)[0]
    array([4., 6., 6., 4.])
    """
    a = np.asarray(image)
    if a.ndim not in (2, 3) or a.dtype.kind not in "fiub":
        raise ValueError(f"box_sum takes a real (H, W) or (C, H, W) array; got {a.dtype} {a.shape}")
    radius = check_int(radius, "radius", minimum=0)
    a3 = np.ascontiguousarray(a.reshape((1,) + a.shape) if a.ndim == 2 else a, dtype=np.float64)
    out = np.empty_like(a3)
    box_sum_into(a3, radius, out)
    return out[0] if a.ndim == 2 else out


def box_mean(image, radius: int) -> np.ndarray:
    """Mean over the in-bounds part of the (2r+1)^2 window around each pixel.

    Parameters
    ----------
    image : ndarray (..., H, W)
        Any leading axes are filtered independently.
    radius : int
        The window radius r (0: the image itself).

    Returns
    -------
    ndarray (..., H, W) float64
        Near the borders the mean is over the pixels of the window that lie inside the image, so
        a constant image stays constant.

    Examples
    --------
    >>> import numpy as np
    >>> box_mean(np.array([[0.0, 3.0, 6.0]]), 1).tolist()
    [[1.5, 3.0, 4.5]]
    """
    a = np.asarray(image)
    count = box_sum(np.ones(a.shape[-2:]), radius)
    return box_sum(a, radius) / count
