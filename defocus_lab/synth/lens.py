"""Thin-lens defocus (Zhuo & Sim, Eq. 2) and a defocused scene rendered from a real RGB-D pair."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.transform import rescale

from .._validate import check_positive
from ..render import varying_gaussian_blur


def coc_diameter(d, *, d_f: float = 500.0, f0: float = 80.0, N: float = 2.0):
    """Diameter of the circle of confusion, c = abs(d - d_f) / d * f0^2 / (N (d_f - f0)) (Eq. 2).

    Distances and focal length in the same unit (mm in the paper's Fig. 2(b)); returns that unit.

    Parameters
    ----------
    d : float or array_like
        Object distance(s), > 0.
    d_f : float
        The focus distance (> ``f0``).
    f0 : float
        The focal length.
    N : float
        The f-number.


    Returns
    -------
    float or ndarray
        The diameter, in the unit of the distances (0 at ``d_f``).


    Raises
    ------
    ValueError
        A distance <= 0, or ``d_f`` not beyond ``f0``.

    Examples
    --------
    >>> round(float(coc_diameter(1000.0, d_f=500.0, f0=80.0, N=2.0)), 4)
    3.8095
    """
    d = np.asarray(d, dtype=np.float64)
    if np.any(d <= 0):
        raise ValueError("object distances d must be positive")
    if not d_f > f0 > 0:
        raise ValueError(f"need d_f > f0 > 0 (focus beyond the focal length); got d_f={d_f}, f0={f0}")
    check_positive(N, "N")
    return np.abs(d - d_f) / d * f0 ** 2 / (N * (d_f - f0))


@dataclass
class DefocusedScene:
    """A rendered defocused image with its known blur map (Gaussian sigma, px).

    Parameters
    ----------
    image : ndarray (H, W, 3)
        The defocused rendering, float in [0, 1].
    sigma : ndarray (H, W)
        Its true blur, Gaussian std in px.
    sharp : ndarray (H, W, 3)
        The all-in-focus photo it was rendered from.
    disparity : ndarray (H, W)
        The scene's disparity (px, larger = nearer).

    Examples
    --------
    >>> scene = defocused_motorcycle(scale=0.25)
    >>> sorted(vars(scene))
    ['disparity', 'image', 'sharp', 'sigma']
    """
    image: np.ndarray
    sigma: np.ndarray
    sharp: np.ndarray
    disparity: np.ndarray


def defocused_motorcycle(*, scale: float = 0.5, focus: float = 0.75, max_sigma: float = 3.0,
                         step: float = 0.25) -> DefocusedScene:
    """Render scikit-image's motorcycle (left view) with thin-lens defocus from its real disparity.

    With disparity proportional to 1 / depth, Eq. 2 gives c proportional to abs(1 - disp / disp_f),
    so sigma = k abs(1 - disp / disp_f), with ``disp_f`` the disparity quantile ``focus`` (0.75: a
    near plane) and k chosen so that the largest sigma is ``max_sigma`` px at the rendered size.
    Unknown disparities (inf in scikit-image) are filled with the nearest known value first.

    Parameters
    ----------
    scale : float
        Resize factor of the 500x741 original (0.5 keeps notebooks and tests quick).
    focus : float
        The disparity quantile in focus, in [0, 1] (1: the nearest plane).
    max_sigma : float
        The largest blur of the scene, Gaussian std in px at the rendered size.
    step : float
        The sigma ladder spacing of the renderer (px).

    Returns
    -------
    DefocusedScene

    Raises
    ------
    ValueError
        A non-positive ``scale`` or ``max_sigma``, or ``focus`` outside [0, 1].

    Examples
    --------
    >>> scene = defocused_motorcycle(scale=0.25, max_sigma=2.0)
    >>> scene.image.shape[:2] == scene.sigma.shape, round(float(scene.sigma.max()), 6)
    (True, 2.0)
    """
    scale = check_positive(scale, "scale")
    max_sigma = check_positive(max_sigma, "max_sigma")
    if not 0.0 <= focus <= 1.0:
        raise ValueError(f"focus is a disparity quantile in [0, 1]; got {focus}")
    from ..data import load_stereo_motorcycle
    sharp, _, disp = load_stereo_motorcycle(fill=True)
    if scale != 1.0:
        sharp = np.clip(rescale(sharp, scale, channel_axis=-1, anti_aliasing=True), 0, 1)
        disp = rescale(disp, scale, order=0, anti_aliasing=False) * scale
    disp_f = float(np.quantile(disp, focus))
    rel = np.abs(1.0 - disp / disp_f)
    sigma = max_sigma * rel / rel.max()
    image = np.clip(varying_gaussian_blur(sharp, sigma, step=step), 0, 1)
    return DefocusedScene(image, sigma, sharp, disp)
