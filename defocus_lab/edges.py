"""Edge maps: Canny on the grey image and checks of a given edge map.

On a low floor of the package because both the estimators and the synthetic training data
(:mod:`defocus_lab.synth.karaali`) pick edge pixels.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import feature

from ._validate import as_image, check_positive, to_gray


def canny(image, *, sigma: float = 1.0, low: float | None = None, high: float = 0.1,
          relative: bool = True) -> np.ndarray:
    """Canny edges of the grey image.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        uint8, uint16 or float in [0, 1]; a colour image is turned grey first.
    sigma : float
        Gaussian smoothing of the detector.
    low, high : float
        Hysteresis thresholds. ``low`` defaults to 0.4 * high (MATLAB's rule).
    relative : bool
        True: thresholds are fractions of the largest gradient magnitude, as MATLAB's
        ``edge(I, 'canny', high, sigma)`` in the authors' code; False: absolute values for
        scikit-image's Sobel magnitude of the smoothed image.

    Returns
    -------
    ndarray (H, W) bool
        The edge pixels (one pixel wide).

    Raises
    ------
    ValueError
        A non-positive ``sigma`` or ``high``, or ``low`` above ``high``.

    Examples
    --------
    >>> from defocus_lab.synth import step_edge_image
    >>> edges = canny(step_edge_image(32, sigma=1.0))
    >>> sorted(set(edges.nonzero()[1].tolist()))  # one column, at the step
    [16]
    """
    img = to_gray(as_image(image, copy=False))
    sigma = check_positive(sigma, "sigma")
    high = check_positive(high, "high")
    low = 0.4 * high if low is None else check_positive(low, "low", allow_zero=True)
    if low > high:
        raise ValueError(f"low ({low}) must not exceed high ({high})")
    if relative:
        # only the largest magnitude is needed: float32 halves the passes' memory traffic (a 12 MP
        # photo: 1.3 s -> ~0.6 s), and its 1e-7 relative rounding moves the thresholds by as much
        sm = ndi.gaussian_filter(img.astype(np.float32), sigma, mode="nearest")
        mag = np.hypot(ndi.sobel(sm, 0), ndi.sobel(sm, 1))
        top = float(mag.max())
        if top == 0.0:
            return np.zeros(img.shape, bool)
        low, high = low * top, high * top
    return feature.canny(img, sigma=sigma, low_threshold=low, high_threshold=high, mode="nearest")


def as_edge_map(edges, shape) -> np.ndarray:
    """Validate a precomputed binary edge map (bool, or 0/1, or 0/255 from a PNG)."""
    e = np.asarray(edges)
    if e.ndim == 3:
        e = e[..., 0]
    if e.shape != tuple(shape):
        raise ValueError(f"the edge map must have the image's shape {tuple(shape)}; got {e.shape}")
    if e.dtype != bool:
        e = e > (e.max() / 2 if e.max() > 0 else 0)
    return np.ascontiguousarray(e)
