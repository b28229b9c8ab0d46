"""Spatially varying blur from a blur map: Gaussian (sigma per pixel) and lens (disk radius per
pixel, layered with occlusion).

For the Gaussian, the image is blurred at a ladder of sigma levels and every pixel takes the linear interpolation
between the two levels that bracket its own sigma (a gather model: each output pixel sees the
blur of its own sigma). Exact where the map is constant; a fair model where it varies slowly.
The lens renderer (:func:`lens_blur`) scatters instead: a pixel's disk covers its neighbours, in
depth order.
"""
from __future__ import annotations

import os

import numpy as np
from scipy import ndimage as ndi

from ._validate import as_image, as_map, check_int, check_memory, check_positive
from .conventions import PHOTO_ABOVE_PIXELS


def blur_levels(max_sigma: float, step: float) -> np.ndarray:
    n = max(1, int(np.ceil(max_sigma / step)))
    return np.linspace(0.0, n * step, n + 1)


def _gauss(img, s):
    if s == 0:
        return img
    sig = (s, s, 0) if img.ndim == 3 else s
    return ndi.gaussian_filter(img, sig, mode="reflect")


def max_blur(shape, renderer: str = "lens") -> float:
    """The largest blur the renderers take for an image of ``shape``: a disk radius of the
    image's larger side (``renderer="lens"``), a Gaussian sigma of half of it ("gaussian").
    Beyond, every pixel already sees the whole image; such a map is a mistake of units or of a
    factor, and rendering it would take minutes and gigabytes."""
    return float(max(shape[:2])) * (1.0 if renderer == "lens" else 0.5)


def _check_extent(largest, shape, name, renderer):
    limit = max_blur(shape, renderer)
    if largest > limit:
        raise ValueError(f"{name} reaches {largest:.4g} px, more than the image's larger side allows "
                         f"({limit:.4g} px for a {shape[0]}x{shape[1]} image): check the map's units "
                         f"(blur in px) and any factor applied to it")


def varying_gaussian_blur(image, sigma_map, *, step: float = 0.25, max_levels: int = 64) -> np.ndarray:
    """Blur ``image`` by a Gaussian whose std at each pixel is ``sigma_map`` (px).

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
    sigma_map : ndarray (H, W), >= 0
    step : float
        Spacing of the sigma ladder; smaller is more exact and slower.
    max_levels : int
        Cap on the ladder's levels: ``step`` grows if the sigma range needs more.

    Raises
    ------
    ValueError
        A sigma above half the image's larger side (:func:`max_blur`), or bad input.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((32, 32)); img[:, 16:] = 1.0
    >>> out = varying_gaussian_blur(img, np.full((32, 32), 2.0))
    >>> bool(0.3 < out[16, 15] < 0.5)
    True
    """
    img = as_image(image)
    smap = as_map(sigma_map, img.shape[:2], name="sigma_map")
    if smap.min() < 0:
        raise ValueError("sigma_map must be non-negative")
    step = check_positive(step, "step")
    max_levels = check_int(max_levels, "max_levels", minimum=2)
    smax = float(smap.max())
    _check_extent(smax, img.shape, "sigma_map", "gaussian")
    step = max(step, smax / (max_levels - 1))
    out = np.zeros_like(img)
    for s, w in _ladder_shares(smap, step):
        out += (w[..., None] if img.ndim == 3 else w) * _gauss(img, s)
    return out


def _ladder_shares(values, step):
    """Yield (level, share) for the levels of ``blur_levels(max(values), step)`` that hold any
    pixel: a value between two levels is split linearly between them, so a pixel's shares sum
    to 1 (both renderers cut the image this way)."""
    levels = blur_levels(float(values.max()), step)
    pos = np.clip(values / step, 0, len(levels) - 1)
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    for k, s in enumerate(levels):
        w = np.where(lo == k, 1.0 - frac, 0.0) + np.where((lo == k - 1) & (frac > 0), frac, 0.0)
        if w.any():
            yield float(s), w


def disk_kernel(radius: float) -> np.ndarray:
    """A normalised disk (pillbox) of ``radius`` px, anti-aliased by 8x8 supersampling of each
    pixel's area; radius 0 gives the 1x1 identity."""
    radius = float(radius)
    if radius < 0:
        raise ValueError(f"radius must be >= 0; got {radius}")
    n = int(np.ceil(radius - 0.5)) if radius > 0.5 else 0
    if n == 0 and radius <= 0.5:
        return np.ones((1, 1))
    s = (np.arange(8) + 0.5) / 8 - 0.5
    c = np.arange(-n, n + 1)
    x = (c[:, None] + s[None, :]).ravel()
    inside = (x[:, None] ** 2 + x[None, :] ** 2) <= radius ** 2
    k = inside.reshape(2 * n + 1, 8, 2 * n + 1, 8).mean(axis=(1, 3))
    return k / k.sum()


def _srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c):
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


COARSE_ABOVE_PIXELS = PHOTO_ABOVE_PIXELS  # lens_blur(coarse=None): coarse layers above 0.52 MP, the photo size
COARSE_RATIO = 8.0  # a layer of disk radius R is rendered on a copy k <= R / COARSE_RATIO times smaller


def block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """(ceil(H / k), ceil(W / k), ...) means of the k x k blocks of ``a`` (the last blocks
    padded with the edge): each coarse pixel is the area it covers, so sums of mass keep."""
    if k == 1:
        return a
    H, W = a.shape[:2]
    h, w = -(-H // k), -(-W // k)
    pad = ((0, h * k - H), (0, w * k - W)) + ((0, 0),) * (a.ndim - 2)
    b = np.pad(a, pad, mode="edge") if any(p[1] for p in pad) else a
    return b.reshape((h, k, w, k) + a.shape[2:]).mean(axis=(1, 3))


def upsample_linear(a: np.ndarray, r: int, shape) -> np.ndarray:
    """``a`` brought r times finer to ``shape`` (H, W) by separable linear interpolation between
    pixel centres (coarse pixel i covers fine pixels r i .. r i + r - 1, as :func:`block_mean`);
    beyond the outer centres the edge value is kept."""
    if r == 1:
        return a[: shape[0], : shape[1]]
    for axis, n in ((0, shape[0]), (1, shape[1])):
        m = a.shape[axis]
        c = (np.arange(n) + 0.5) / r - 0.5
        i0 = np.clip(np.floor(c).astype(int), 0, m - 1)
        i1 = np.minimum(i0 + 1, m - 1)
        t = np.clip(c - i0, 0.0, 1.0)
        t = t.reshape((-1,) + (1,) * (a.ndim - 1)) if axis == 0 else t.reshape((1, -1) + (1,) * (a.ndim - 2))
        lo, hi = np.take(a, i0, axis=axis), np.take(a, i1, axis=axis)
        a = lo + t * (hi - lo)
    return a


def coarse_factor(radius: float, shape) -> int:
    """The power of two k <= radius / :data:`COARSE_RATIO` (at least 1) on which a layer of disk
    radius ``radius`` is rendered at photo size; the copy keeps at least 16 px a side."""
    k = 1
    while 2 * k <= radius / COARSE_RATIO and min(shape[:2]) // (2 * k) >= 16:
        k *= 2
    return k


def lens_blur(image, radius_map, *, depth=None, step: float = 0.5, linear: bool = True,
              max_layers: int = 64, coarse: bool | None = None) -> np.ndarray:
    """Render lens (bokeh) blur: every pixel spread over a disk of its own radius, layered from
    far to near so that a sharp foreground does not take the background's blur.

    The image is cut into layers by blur radius (each pixel shared linearly between the two
    layers that bracket its radius, so transitions stay smooth). From the farthest layer to
    the nearest, each layer's premultiplied colour and coverage are convolved with its disk
    and composited *over* what lies behind (Porter-Duff); the result is divided by the
    accumulated coverage, which fills background hidden behind a foreground object from its
    visible neighbours instead of leaving a dark halo.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3), in [0, 1]
    radius_map : ndarray (H, W)
        Disk radius (px) of the blur at every pixel, >= 0.
    depth : ndarray (H, W), optional
        Larger is farther; decides the compositing order. Default: the radius itself, i.e.
        the in-focus subject is the nearest thing and blur grows behind it (the usual situation
        for defocus magnification; a blurred foreground in front of a sharp subject needs a
        real ``depth``).
    step : float
        Radius spacing of the layers (px); smaller is more exact and slower.
    linear : bool
        Blur in linear light (sRGB decoded first, encoded after), so highlights make bright
        discs as a lens does.
    max_layers : int
        Cap on the number of layers (at least 2: a sharp one and a blurred one): ``step`` grows
        if the radius range needs more.
    coarse : bool or None
        Photo size: a layer of disk radius R is rendered on a copy k times smaller (k the
        power of two up to R / 8, :func:`coarse_factor`: its planes averaged over k x k blocks,
        the disk of radius R / k, brought back by linear interpolation), and the layers are
        composited at the resolution of the finest one so far (the far, most blurred layers
        first at their own coarse resolution). The blocks and the interpolation widen each
        disk by about k / R <= 1/8 of its radius, at the rim; the work per layer falls by k^2.
        The convolutions then run in float32 (1e-7 relative: far below one step of an 8-bit
        image) on every core (``scipy.fft.set_workers``): a quarter of the time of the float64,
        one-core FFTs, which a 12 MP photo's many small-radius layers (k = 1) still need.
        None (default): on above 0.52 MP (:data:`COARSE_ABOVE_PIXELS`), off below, where every
        layer is convolved at full resolution in float64 as before.

    Returns
    -------
    ndarray like ``image``, float64 in [0, 1].

    Raises
    ------
    ValueError
        A radius above the image's larger side (:func:`max_blur`); a layer whose convolution
        would not fit in memory (:class:`~defocus_lab._validate.TooLarge`); bad input.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((40, 40)); img[20, 10] = 1.0
    >>> out = lens_blur(img, np.full((40, 40), 4.0), linear=False)
    >>> bool(abs(out.sum() - 1.0) < 1e-6 and out[20, 10] < 0.05)
    True
    """
    from scipy.fft import set_workers
    from scipy.signal import fftconvolve

    img = as_image(image)
    H, W = img.shape[:2]
    rad = as_map(radius_map, (H, W), name="radius_map")
    if rad.min() < 0:
        raise ValueError("radius_map must be non-negative (disk radii in px)")
    order_key = rad if depth is None else as_map(depth, (H, W), name="depth")
    step = check_positive(step, "step")
    max_layers = check_int(max_layers, "max_layers", minimum=2)
    rmax = float(rad.max())
    _check_extent(rmax, img.shape, "radius_map", "lens")
    n = int(np.ceil(rmax))
    # the largest layer: padded planes, their FFT and the product, complex
    check_memory(((H + 2 * n) * (W + 2 * n) * (img.shape[2] + 1 if img.ndim == 3 else 2)) * 8 * 5,
                 f"lens blur of radius {rmax:.0f} px on a {H}x{W} image",
                 "lower the blur (radius_map) or render a smaller copy of the image")
    if rmax / step > max_layers - 1:
        step = rmax / (max_layers - 1)
    col = img if img.ndim == 3 else img[..., None]
    col = _srgb_to_linear(col) if linear else col
    layers = list(_ladder_shares(rad, step))
    # layers are composited in the order of their mean depth key (far first)
    keys = [float((order_key * w).sum() / w.sum()) for _, w in layers]
    if coarse is None:
        coarse = H * W > COARSE_ABOVE_PIXELS
    dtype, workers = (np.float32, os.cpu_count() or 1) if coarse else (np.float64, 1)
    acc = cov = None
    cur = 1  # the accumulator's resolution: 1/cur
    for k in sorted(range(len(layers)), key=lambda k: -keys[k]):
        radius, w = layers[k]
        f = coarse_factor(radius, (H, W)) if coarse else 1
        layer = block_mean(np.concatenate([col * w[..., None], w[..., None]], axis=2), f)
        kern = disk_kernel(radius / f)
        if kern.shape[0] > 1:
            pad = kern.shape[0] // 2
            padded = np.pad(layer.astype(dtype, copy=False), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
            with set_workers(workers):
                layer = fftconvolve(padded, kern[..., None].astype(dtype), mode="valid", axes=(0, 1))
        if acc is None:
            cur = f
            acc, cov = np.zeros(layer.shape[:2] + (col.shape[2],)), np.zeros(layer.shape[:2])
        elif f < cur:  # a finer layer: the accumulator comes to its resolution
            size = layer.shape[:2]
            acc, cov = upsample_linear(acc, cur // f, size), upsample_linear(cov, cur // f, size)
            cur = f
        if f > cur:  # a coarser layer in front: brought to the accumulator's resolution
            layer = upsample_linear(layer, f // cur, acc.shape[:2])
        a = np.clip(layer[..., -1], 0.0, 1.0)
        acc = layer[..., :-1] + (1.0 - a)[..., None] * acc
        cov = a + (1.0 - a) * cov
    if cur > 1:
        acc, cov = upsample_linear(acc, cur, (H, W)), upsample_linear(cov, cur, (H, W))
    out = acc / np.maximum(cov, 1e-12)[..., None]
    out = _linear_to_srgb(out) if linear else np.clip(out, 0.0, 1.0)
    return out if img.ndim == 3 else out[..., 0]
