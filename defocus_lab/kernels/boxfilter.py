"""Box sums over (2r+1) x (2r+1) windows clipped at the image border, O(N) for any radius."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_BLOCK = 64  # columns per task in the vertical pass: contiguous rows, one thread per block


@njit(parallel=True, cache=True, nogil=True)
def _box_sum(src, r, out, tmp):
    """Sum of ``src[c]`` over the window of radius ``r`` around each pixel, in-bounds part only.

    ``src``, ``out`` and ``tmp`` are (C, H, W) float64; ``out`` may not alias ``src``.
    Horizontal running sums are parallel over (channel, row); the vertical pass is parallel
    over (channel, column block) and walks down the rows with a running sum per column.
    """
    C, H, W = src.shape
    for idx in prange(C * H):
        c = idx // H
        y = idx - c * H
        s = 0.0
        for x in range(min(r, W - 1) + 1):
            s += src[c, y, x]
        tmp[c, y, 0] = s
        for x in range(1, W):
            xa = x + r
            if xa < W:
                s += src[c, y, xa]
            xr = x - r - 1
            if xr >= 0:
                s -= src[c, y, xr]
            tmp[c, y, x] = s
    nb = (W + _BLOCK - 1) // _BLOCK
    for idx in prange(C * nb):
        c = idx // nb
        x0 = (idx - c * nb) * _BLOCK
        x1 = min(W, x0 + _BLOCK)
        acc = np.zeros(x1 - x0)
        for y in range(min(r, H - 1) + 1):
            for x in range(x0, x1):
                acc[x - x0] += tmp[c, y, x]
        for x in range(x0, x1):
            out[c, 0, x] = acc[x - x0]
        for y in range(1, H):
            ya = y + r
            yr = y - r - 1
            if ya < H:
                for x in range(x0, x1):
                    acc[x - x0] += tmp[c, ya, x]
            if yr >= 0:
                for x in range(x0, x1):
                    acc[x - x0] -= tmp[c, yr, x]
            for x in range(x0, x1):
                out[c, y, x] = acc[x - x0]


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
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative integer; got {radius!r}")
    a3 = np.ascontiguousarray(a.reshape((1,) + a.shape) if a.ndim == 2 else a, dtype=np.float64)
    out = np.empty_like(a3)
    _box_sum(a3, int(radius), out, np.empty_like(a3))
    return out[0] if a.ndim == 2 else out


def box_mean(image, radius: int) -> np.ndarray:
    """Mean over the in-bounds part of the (2r+1)^2 window around each pixel."""
    a = np.asarray(image)
    count = box_sum(np.ones(a.shape[-2:]), radius)
    return box_sum(a, radius) / count
