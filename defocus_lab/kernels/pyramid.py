"""Halving an image or a map (Kriener et al. 2013's decimation): the pyramid of the accelerated
matting propagation and of the photo-size copies (Karaali 2022's networks at photo size).

Bicubic (Keys, a = -0.5) decimation by 2 with the kernel stretched to the coarse spacing, as
MATLAB's ``imresize(..., 0.5, 'bicubic')`` antialiases, but centred on the even fine pixels:
coarse pixel i sits on fine pixel 2 i, where ``propagate.matting.guided_upsample`` puts it back
(Kriener et al.'s (up 2)), so after k halvings coarse pixel i sits on fine pixel 2^k i.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

# Taps at fine offsets -3..3: cubic(d / 2) / 2 = [-1, 0, 9, 16, 9, 0, -1] / 32.
_DECIMATE = np.array([-1.0, 0.0, 9.0, 16.0, 9.0, 0.0, -1.0]) / 32.0


def decimate2(a: np.ndarray) -> np.ndarray:
    """Bicubic downsampling by 2 of the first two axes: (H, W, ...) -> (ceil(H/2), ceil(W/2), ...),
    coarse pixel i on fine pixel 2 i, borders mirrored (scipy.ndimage's "reflect")."""
    a = np.asarray(a, dtype=np.float64)
    a = ndimage.correlate1d(a, _DECIMATE, axis=0, mode="reflect")[::2]
    return np.ascontiguousarray(ndimage.correlate1d(a, _DECIMATE, axis=1, mode="reflect")[:, ::2])


def half_size(image: np.ndarray) -> np.ndarray:
    """The image at half size (ceil(H/2), ceil(W/2)) by :func:`decimate2`, clipped to [0, 1]."""
    return np.clip(decimate2(image), 0.0, 1.0)


def shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """``image`` halved ``log2(factor)`` times by :func:`half_size` (``factor`` a power of two)."""
    while factor > 1:
        image = half_size(image)
        factor //= 2
    return image


def photo_factor(shape, max_pixels, minimum: int = 1, photo_above=None) -> int:
    """The smallest power of two f >= ``minimum`` with ceil(H / f) * ceil(W / f) <= ``max_pixels``:
    the factor of a photo-size copy of at most ``max_pixels`` pixels. ``minimum`` when
    ``max_pixels`` is None or the image holds at most ``photo_above`` pixels (not a photo)."""
    h, w = int(shape[0]), int(shape[1])
    if max_pixels is None or (photo_above is not None and h * w <= photo_above):
        return minimum
    f = minimum
    while -(-h // f) * -(-w // f) > max_pixels:
        f *= 2
    return f
