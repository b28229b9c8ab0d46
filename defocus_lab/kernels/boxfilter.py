"""Box sums over (2r+1) x (2r+1) windows clipped at the image border, O(N) for any radius."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_MIN_BLOCK = 256  # fewest columns per task in the vertical pass (half rows, or whole short rows)


def _box_sum(src, r, out, tmp):
    """Sum of ``src[c]`` over the window of radius ``r`` around each pixel, in-bounds part only.

    ``src``, ``out`` and ``tmp`` are (C, H, W) float64; ``tmp`` may not alias ``src`` or ``out``.
    Horizontal running sums (:func:`_hpass`) are parallel over (channel, row); the vertical pass
    (:func:`_vpass`) is parallel over (channel, half row) and walks down the rows (4x faster than
    64-column blocks with a separate accumulator: 4.3 against 18 ms for 14 channels of 800x536).
    """
    _hpass(src, r, tmp)
    _vpass(tmp, r, out)


@njit(parallel=True, cache=True, nogil=True)
def _hpass(src, r, tmp):
    """tmp = running sums of src along x over [x - r, x + r] (clipped)."""
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


@njit(parallel=True, cache=True, nogil=True)
def _vpass(tmp, r, out):
    """out = running sums of tmp along y over [y - r, y + r] (clipped)."""
    C, H, W = tmp.shape
    # whole rows (or halves of them) per task, each output row from the one above
    # plus the entering and minus the leaving row: long contiguous runs that vectorise
    blk = max(_MIN_BLOCK, (W + 1) // 2)
    nb = (W + blk - 1) // blk
    for idx in prange(C * nb):
        c = idx // nb
        x0 = (idx - c * nb) * blk
        x1 = min(W, x0 + blk)
        for x in range(x0, x1):
            out[c, 0, x] = 0.0
        for y in range(min(r, H - 1) + 1):
            for x in range(x0, x1):
                out[c, 0, x] += tmp[c, y, x]
        for y in range(1, H):
            ya = y + r
            yr = y - r - 1
            if ya < H and yr >= 0:
                for x in range(x0, x1):
                    out[c, y, x] = out[c, y - 1, x] + tmp[c, ya, x] - tmp[c, yr, x]
            elif ya < H:
                for x in range(x0, x1):
                    out[c, y, x] = out[c, y - 1, x] + tmp[c, ya, x]
            elif yr >= 0:
                for x in range(x0, x1):
                    out[c, y, x] = out[c, y - 1, x] - tmp[c, yr, x]
            else:
                for x in range(x0, x1):
                    out[c, y, x] = out[c, y - 1, x]


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
