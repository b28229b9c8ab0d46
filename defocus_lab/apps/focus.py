"""Focused-region extraction and defocus magnification (Zhuo & Sim 2011, Fig. 9)."""
from __future__ import annotations

import numpy as np

from .._validate import as_image, as_map, check_positive
from ..render import varying_gaussian_blur


def segment_focus(defocus_map, t_f: float = 1.0) -> np.ndarray:
    """Pixels whose blur is below ``t_f`` (sigma, px) are in focus (the paper: t_f = 1)."""
    m = np.asarray(defocus_map, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"defocus_map must be (H, W); got {m.shape}")
    check_positive(t_f, "t_f", allow_zero=True)
    return m < t_f


def magnify(image, defocus_map, factor: float = 2.0, *, step: float = 0.25) -> np.ndarray:
    """Simulate a larger aperture: scale the blur map by ``factor`` and re-blur (Fig. 9(d)).

    A pixel with blur sigma needs extra blur sqrt((factor sigma)^2 - sigma^2) = sigma sqrt(factor^2 - 1)
    to look blurred by factor * sigma (Gaussians compose in quadrature).
    """
    img = as_image(image)
    m = as_map(defocus_map, img.shape[:2], name="defocus_map")
    factor = check_positive(factor, "factor")
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (re-blurring cannot sharpen); got {factor}")
    extra = np.clip(m, 0, None) * np.sqrt(factor ** 2 - 1.0)
    return np.clip(varying_gaussian_blur(img, extra, step=step), 0, 1)
