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


def pupil_kernel(radius: float, sigma: float) -> np.ndarray:
    """The Gaussian pupil of the paper's Fig. 4 (after its ref. 27): a disk of ``radius`` px
    (anti-aliased as render.disk_kernel) weighted by a Gaussian of ``sigma`` px, normalised: a
    lens whose aperture transmits less towards its rim."""
    disk = disk_kernel(radius)
    n = disk.shape[0] // 2
    x = np.arange(-n, n + 1)
    k = disk * np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2.0 * float(sigma) ** 2))
    return k / k.sum()


COARSE_ABOVE_PIXELS = PHOTO_ABOVE_PIXELS  # lens_blur(coarse=None): coarse layers above 0.52 MP, the photo size
COARSE_RATIO = 8.0  # a layer of disk radius R is rendered on a copy k <= R / COARSE_RATIO times smaller


def upsample_linear(a: np.ndarray, r: int, shape) -> np.ndarray:
    """``a`` (h, w, ...) brought r times finer to ``shape`` (H, W) by bilinear interpolation
    between pixel centres (coarse pixel i covers fine pixels r i .. r i + r - 1, as the
    renderer's k x k blocks); beyond the outer centres the edge value is kept. float64."""
    from .kernels.disk import upsample
    if r == 1:
        return a[: shape[0], : shape[1]]
    return upsample(a, r, shape)


def coarse_factor(radius: float, shape) -> int:
    """The power of two k <= radius / :data:`COARSE_RATIO` (at least 1) on which a layer of disk
    radius ``radius`` is rendered at photo size; the copy keeps at least 16 px a side."""
    k = 1
    while 2 * k <= radius / COARSE_RATIO and min(shape[:2]) // (2 * k) >= 16:
        k *= 2
    return k


def layer_radii(rmax: float, step: float, shape=None, max_layers: int = 64) -> np.ndarray:
    """The lens renderer's layers: disk radii from 0 past ``rmax``, ``step`` apart; with the
    photo-size ``shape``, a layer rendered on a copy k times smaller (:func:`coarse_factor`)
    is k ``step`` from the next, the same spacing in the copy's pixels. ``step`` grows when
    more than ``max_layers`` would be needed (at least 2 layers)."""
    if shape is None:
        if rmax / step > max_layers - 1:
            step = rmax / (max_layers - 1)
        return blur_levels(rmax, step)
    while True:
        radii = [0.0]
        while (radii[-1] < rmax or len(radii) < 2) and len(radii) <= max_layers:
            radii.append(radii[-1] + coarse_factor(radii[-1], shape) * step)
        if len(radii) <= max_layers:
            return np.array(radii)
        step *= 1.25


# method="auto": a layer by row steps when (its pixels x its kernel's steps) <= STEPS_PER_FFT_PIXEL x (pixels of its
# plane), else by FFT. One step costs ~4 ns, the FFT ~0.5 us a pixel on 2 cores (0.5 MP, one full layer:
# steps win up to radius 8, FFT from 16; benchmarks/results/bench_photo_size_crossover.md).
STEPS_PER_FFT_PIXEL = 120.0
LENS_METHODS = ("auto", "runs", "fft")


def lens_blur(image, radius_map, *, depth=None, step: float = 0.5, linear: bool = True,
              max_layers: int = 64, coarse: bool | None = None, method: str = "auto") -> np.ndarray:
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
        the disk of radius R / k, brought back by linear interpolation), the layers are k
        ``step`` apart there (``step`` in the copy's pixels, :func:`layer_radii`), and they are
        composited at the resolution of the finest one so far (the far, most blurred layers
        first at their own coarse resolution). The blocks and the interpolation widen each
        disk by about k / R <= 1/8 of its radius, at the rim; the work per layer falls by k^2.
        None (default): on above 0.52 MP (:data:`COARSE_ABOVE_PIXELS`), off below.
    method : {"auto", "runs", "fft"}
        How a layer is convolved with its disk. ``"runs"``: every pixel *of the layer* adds each
        row of its disk (a run of full pixels and the anti-aliased rim, as a few steps of a
        difference array: :mod:`defocus_lab.kernels.disk`) to the rows it covers, O(radius) per
        pixel of the layer; a pixel is in at most two layers, so the whole render costs about
        two passes of the typical disk over the image. ``"fft"``: the layer's full
        planes convolved by FFT (float32 on every core at photo size, float64 below),
        O(log N) per pixel of the *image* for every layer whatever its radius. ``"auto"``
        (default): for each layer the cheaper of the two by their measured costs
        (:data:`STEPS_PER_FFT_PIXEL`): steps for sparse layers and small disks, FFT for a layer
        covering much of its plane with a large disk. The two agree to float32 rounding (the
        colour plane is float32).

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
    from .kernels import disk

    img = as_image(image, copy=False)
    H, W = img.shape[:2]
    rad = as_map(radius_map, (H, W), name="radius_map")
    if rad.min() < 0:
        raise ValueError("radius_map must be non-negative (disk radii in px)")
    order_key = rad if depth is None else as_map(depth, (H, W), name="depth")
    step = check_positive(step, "step")
    max_layers = check_int(max_layers, "max_layers", minimum=2)
    if method not in LENS_METHODS:
        raise ValueError(f"method must be one of {LENS_METHODS}; got {method!r}")
    rmax = float(rad.max())
    _check_extent(rmax, img.shape, "radius_map", "lens")
    if coarse is None:
        coarse = H * W > COARSE_ABOVE_PIXELS
    levels = layer_radii(rmax, step, (H, W) if coarse else None, max_layers)
    C = img.shape[2] if img.ndim == 3 else 1
    # colour plane (float32), accumulator and output (float64), the layers' members (<= 2 per pixel)
    check_memory(H * W * (4 * C + 8 * (C + 1) + 8 * C + 2 * 8), f"lens blur of a {H}x{W} image",
                 "render a smaller copy of the image")
    col = img if img.ndim == 3 else img[..., None]
    src = disk.srgb_to_linear(col) if linear else col.astype(np.float32)
    rowptr, cols, shares, keys = disk.layer_members(rad, levels, order_key)
    order = [k for k in np.argsort(-keys, kind="stable") if np.isfinite(keys[k])]  # far first
    acc = cov = None
    cur = 1  # the accumulator's resolution: 1/cur
    for k in order:
        radius = float(levels[k])
        f = coarse_factor(radius, (H, W)) if coarse else 1
        members = (src, rowptr[k], cols, shares)
        if f > 1:
            members = disk.block_layer(*members, f)
        size = members[0].shape[:2]
        kern = disk_kernel(radius / f)
        if method == "auto":
            work = (members[1][-1] - members[1][0]) * len(disk.kernel_steps(kern)[1])
            runs = work <= STEPS_PER_FFT_PIXEL * size[0] * size[1]
        else:
            runs = method == "runs"
        runs = runs and min(size) >= 2
        if acc is None:
            cur = f
            acc, cov = np.zeros(size + (C,)), np.zeros(size)
        elif f < cur:  # a finer layer: the accumulator comes to its resolution
            acc, cov = upsample_linear(acc, cur // f, size), upsample_linear(cov, cur // f, size)
            cur = f
        if runs and f == cur:
            disk.disk_layer(*members, kern, acc, cov, over=True)
            continue
        if runs:
            la, lc = np.empty(size + (C,)), np.empty(size)
            disk.disk_layer(*members, kern, la, lc, over=False)
        else:
            la, lc = _fft_layer(*members, radius / f, coarse)
        if f > cur:  # a coarser layer in front: brought to the accumulator's resolution
            la, lc = upsample_linear(la, f // cur, acc.shape[:2]), upsample_linear(lc, f // cur, acc.shape[:2])
        acc = la + (1.0 - lc)[..., None] * acc
        cov = lc + (1.0 - lc) * cov
    if cur > 1:
        acc, cov = upsample_linear(acc, cur, (H, W)), upsample_linear(cov, cur, (H, W))
    out = disk.resolve(acc, cov, linear)
    return out if img.ndim == 3 else out[..., 0]


def _fft_layer(src, rowptr, cols, shares, radius, fast):
    """One layer convolved with :func:`disk_kernel` by FFT (reflect padding): its colour (premultiplied)
    and clipped coverage. ``fast``: float32 on every core (photo size), else float64 on one."""
    from scipy.fft import set_workers
    from scipy.signal import fftconvolve

    H, W, C = src.shape
    check_memory((H + 2 * radius + 2) * (W + 2 * radius + 2) * (C + 1) * 8 * 5,
                 f"lens blur of radius {radius:.0f} px on a {H}x{W} image",
                 "lower the blur (radius_map) or render a smaller copy of the image")
    ys = np.repeat(np.arange(H), np.diff(rowptr))
    xs = cols[rowptr[0]:rowptr[-1]]
    w = shares[rowptr[0]:rowptr[-1]].astype(np.float64)
    dtype = np.float32 if fast else np.float64
    layer = np.zeros((H, W, C + 1), dtype)
    layer[ys, xs, :C] = src[ys, xs] * w[:, None]
    layer[ys, xs, C] = w
    kern = disk_kernel(radius)
    if kern.shape[0] > 1:
        pad = kern.shape[0] // 2
        padded = np.pad(layer, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        with set_workers((os.cpu_count() or 1) if fast else 1):
            layer = fftconvolve(padded, kern[..., None].astype(dtype), mode="valid", axes=(0, 1))
    return layer[..., :C].astype(np.float64), np.clip(layer[..., C], 0.0, 1.0).astype(np.float64)
