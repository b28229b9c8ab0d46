"""A scene for the failure case of Kriener et al. (2013), Fig. 7: smooth surfaces.

An in-focus, smoothly shaded cylinder (a "round plastic" object: its shading falls off
gradually towards the limbs, with no texture) and an in-focus textured card stand in front of
a textured background blurred by a known Gaussian. The cylinder is perfectly sharp (blur 0),
yet its shading gradient looks like a blurred edge to every gradient-ratio estimator.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._validate import check_int, check_positive


@dataclass
class SmoothSurfaceScene:
    """``image`` (H, W, 3), the true blur ``sigma`` (H, W, px) and the ``cylinder`` mask.

    Parameters
    ----------
    image : ndarray (H, W, 3)
        The scene, float in [0, 1].
    sigma : ndarray (H, W)
        The true blur, Gaussian std in px (0 on the cylinder and the card).
    cylinder : ndarray (H, W) bool
        Where the cylinder is.

    Examples
    --------
    >>> scene = smooth_surface_scene(64)
    >>> scene.cylinder.dtype, scene.sigma.shape
    (dtype('bool'), (64, 64))
    """
    image: np.ndarray
    sigma: np.ndarray
    cylinder: np.ndarray


def smooth_surface_scene(size: int = 192, *, background_sigma: float = 3.0, roundness: float = 1.0,
                         seed: int = 0) -> SmoothSurfaceScene:
    """Render the scene (square, ``size`` px).

    ``roundness`` (0..1) bends the cylinder's shading: 0 is a flat, evenly lit strip, 1 a
    cylinder lit from the front (Lambertian cos(angle), dark at the limbs, plus a soft Phong
    highlight along its axis).
    The background is tiles of seeded random colours; the background is blurred by ``background_sigma`` px.

    Parameters
    ----------
    size : int
        The side, px (>= 32).
    background_sigma : float
        The background's blur, Gaussian std in px.
    roundness : float
        The cylinder's shading, in [0, 1].
    seed : int
        The seed of the tiles' colours.

    Returns
    -------
    SmoothSurfaceScene

    Raises
    ------
    ValueError
        ``size`` < 32, a negative blur or ``roundness`` outside [0, 1].

    Examples
    --------
    >>> scene = smooth_surface_scene(64, background_sigma=2.0)
    >>> scene.image.shape, float(scene.sigma[scene.cylinder].max()), float(scene.sigma.max())
    ((64, 64, 3), 0.0, 2.0)
    """
    size = check_int(size, "size", minimum=32)
    background_sigma = check_positive(background_sigma, "background_sigma", allow_zero=True)
    if not 0.0 <= roundness <= 1.0:
        raise ValueError(f"roundness must lie in [0, 1]; got {roundness}")
    rng = np.random.default_rng(seed)
    H = W = size
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    # background: tiles of random colours (step edges, what the estimators measure), blurred
    tile = max(8, size // 12)
    colours = 0.2 + 0.6 * rng.random((H // tile + 1, W // tile + 1, 3))
    tex = colours[(yy // tile).astype(int), (xx // tile).astype(int)]
    back = ndi.gaussian_filter(tex, (background_sigma, background_sigma, 0)) if background_sigma else tex
    img = back.copy()
    sigma = np.full((H, W), float(background_sigma))
    # cylinder: vertical, centred at 35 % of the width, radius 18 % of the size
    cx, rad = 0.35 * W, 0.18 * W
    top, bottom = int(0.12 * H), int(0.88 * H)
    u = (xx - cx) / rad
    cyl = (np.abs(u) < 1.0) & (yy >= top) & (yy < bottom)
    shade = np.sqrt(np.clip(1.0 - u ** 2, 0.0, 1.0))
    light = (1.0 - roundness) + roundness * shade
    # a specular band (Phong, exponent 30, lit and seen from the front): smooth, sharp-focused
    spec = roundness * shade ** 30
    colour = np.array([0.85, 0.35, 0.2])
    img[cyl] = (0.1 + 0.6 * light[cyl])[:, None] * colour + 0.5 * spec[cyl][:, None]
    sigma[cyl] = 0.0
    # card: textured, in focus, at 75 % of the width
    card = (xx > 0.62 * W) & (xx < 0.88 * W) & (yy > 0.3 * H) & (yy < 0.7 * H)
    checks = ((xx // 6 + yy // 6) % 2)[card]
    img[card] = (0.3 + 0.5 * checks)[:, None] * np.array([0.9, 0.9, 0.8])
    sigma[card] = 0.0
    return SmoothSurfaceScene(np.clip(img, 0, 1), sigma, cyl)
