"""Galetto & Deng's applications of a defocus map (2022, Sec. 5): adaptive unsharp masking
(Eqs. 8-11) and a synthetic shallow depth of field (Eqs. 12-13).

The map ``M`` is Gaussian sigma in px on Galetto & Deng's class scale (0..19). Where the paper
normalises it (the gain curves of Fig. 12 and their beta parameters live on [0, 1]), ``M / 19``
is used, as the paper does; :data:`MAP_TOP` is that 19.
"""
from __future__ import annotations

import numpy as np
from .._validate import as_image, as_map, check_int, check_positive
from ..render import _gauss as _lowpass  # the Gaussian of every plane, mirrored borders

MAP_TOP = 19.0  # the top of Galetto & Deng's class scale: M / MAP_TOP is the normalised map


def unsharp_mask(image, amount: float = 2.0, sigma: float = 2.0) -> np.ndarray:
    """Classical unsharp masking (Eq. 8): J = I + amount (I - B), B a Gaussian low-pass of
    ``sigma`` px; clipped to [0, 1]. ``amount`` may be an (H, W) gain map (adaptive)."""
    img = as_image(image)
    sigma = check_positive(sigma, "sigma")
    gain = np.asarray(amount, dtype=np.float64)
    if gain.ndim == 2:
        gain = as_map(gain, img.shape[:2], name="amount")
        gain = gain[..., None] if img.ndim == 3 else gain
    elif gain.ndim != 0:
        raise ValueError(f"amount must be a number or an (H, W) map; got shape {gain.shape}")
    return np.clip(img + gain * (img - _lowpass(img, sigma)), 0.0, 1.0)


def sharpening_gain(defocus_map, *, alpha1: float = 46.0, beta1: float = 0.1, alpha2: float = 183.0,
                    beta2: float = 0.27, lam_max: float = 2.0) -> np.ndarray:
    """Eqs. 9-11: lambda(q) = lam_max * sigmoid(alpha1 (m - beta1)) * (1 - sigmoid(alpha2 (m - beta2)))
    of the normalised map m = M / 19: no gain where the image is sharp (m << beta1) nor where it
    is heavily blurred (m >> beta2); beta1 and beta2 are where the gain crosses half of the
    rising and falling sigmoid. Defaults: Fig. 13's setting."""
    m = np.asarray(defocus_map, dtype=np.float64) / MAP_TOP
    if not np.all(np.isfinite(m)):
        raise ValueError("defocus_map has NaN or infinite values")
    lam_max = check_positive(lam_max, "lam_max", allow_zero=True)
    lam1 = 1.0 / (1.0 + np.exp(-alpha1 * (m - beta1)))
    lam2 = 1.0 - 1.0 / (1.0 + np.exp(-alpha2 * (m - beta2)))
    return lam_max * lam1 * lam2


def adaptive_unsharp_mask(image, defocus_map, *, sigma: float = 2.0, **gain) -> np.ndarray:
    """Adaptive unsharp masking: Eq. 8 with the per-pixel gain of :func:`sharpening_gain` (its
    keyword arguments pass through). The low-pass B is a Gaussian of ``sigma`` px (the paper
    does not say which low-pass; 2 px sharpens the detail the classifier's scale sees)."""
    img = as_image(image)
    m = as_map(defocus_map, img.shape[:2], name="defocus_map")
    return unsharp_mask(img, sharpening_gain(m, **gain), sigma)


def sdof_parameters(c0: float = 1.0, c1: float = 7.0, w0: float = 0.999, w1: float = 0.001) -> tuple[float, float]:
    """(sigma, gamma) of Eq. 13 such that W(c0) = w0 and W(c1) = w1 (c0 < c1 < 10, 1 > w0 > w1 > 0):
    |(c - 10) / sigma|^gamma = -log(1 - w) at both points, two equations in two unknowns."""
    if not (0 <= c0 < c1 < 10):
        raise ValueError(f"need 0 <= c0 < c1 < 10 (in-focus level below the defocused one, both under "
                         f"Eq. 13's centre 10); got c0={c0}, c1={c1}")
    if not (0 < w1 < w0 < 1):
        raise ValueError(f"need 0 < w1 < w0 < 1; got w0={w0}, w1={w1}")
    k0, k1 = -np.log1p(-w0), -np.log1p(-w1)
    gamma = np.log(k0 / k1) / np.log((10.0 - c0) / (10.0 - c1))
    sigma = (10.0 - c0) / k0 ** (1.0 / gamma)
    return float(sigma), float(gamma)


def sdof_weights(defocus_map, c0: float = 1.0, c1: float = 7.0, w0: float = 0.999, w1: float = 0.001) -> np.ndarray:
    """Eq. 13: W = 1 - exp(-|(M - 10) / sigma|^gamma) with (sigma, gamma) from
    :func:`sdof_parameters`; 1 keeps the sharpened image, 0 takes the blurred one.

    Decision: M is capped at 10 first. Eq. 13 is symmetric about 10, so without the cap the most
    blurred pixels (M near 19) would get weights near 1 again and be *sharpened*; the authors'
    demo avoids it by mapping the normalised map to 10 - 10 m, which never passes 10."""
    sigma, gamma = sdof_parameters(c0, c1, w0, w1)
    m = np.minimum(np.asarray(defocus_map, dtype=np.float64), 10.0)
    return 1.0 - np.exp(-np.abs((m - 10.0) / sigma) ** gamma)


def guided_smoothing(image, radius: int = 33, eps: float = 128.0 / 255.0 ** 2, iterations: int = 5) -> np.ndarray:
    """The smoothed image B of Eq. 12: the guided filter in self-guidance, ``iterations`` times
    (each channel filtered under the whole colour image; the paper: r 33, eps 128 on the 0..255
    scale, 5 iterations)."""
    from ..kernels.guided import guided_filter, guide_planes
    img = as_image(image)
    radius = check_int(radius, "radius", minimum=1)
    eps = check_positive(eps, "eps")
    for _ in range(check_int(iterations, "iterations", minimum=1)):
        planes = guide_planes(img)
        chans = [img] if img.ndim == 2 else [img[..., c] for c in range(img.shape[2])]
        out = [guided_filter(img, c, radius, eps, planes=planes) for c in chans]
        img = np.clip(out[0] if img.ndim == 2 else np.stack(out, axis=-1), 0.0, 1.0)
    return img


def shallow_depth_of_field(image, defocus_map, *, c0: float = 1.0, c1: float = 7.0, blurred=None,
                           sharpen: float = 0.25, sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 12: R = W S + (1 - W) B. S is the image sharpened by unsharp masking (``sharpen``,
    Fig. 14: 0.25), B the ``blurred`` image (default :func:`guided_smoothing`; the lab's lens
    renderer gives another, e.g. ``magnify(image, map, 3)``), W the weights of Eq. 13.
    Returns (R, W)."""
    img = as_image(image)
    m = as_map(defocus_map, img.shape[:2], name="defocus_map")
    w = sdof_weights(m, c0, c1)
    b = guided_smoothing(img) if blurred is None else as_image(blurred, name="blurred")
    if b.shape != img.shape:
        raise ValueError(f"blurred is {b.shape}, the image {img.shape}: they must match")
    s = unsharp_mask(img, sharpen, sigma)
    ww = w[..., None] if img.ndim == 3 else w
    return np.clip(ww * s + (1.0 - ww) * b, 0.0, 1.0), w
