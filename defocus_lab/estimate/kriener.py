"""Sparse blur as in Kriener, Binder & Wille (2013), Sec. 2.1.

Zhuo & Sim's gradient ratio (their Eq. 1 is Zhuo & Sim's Eq. 7) with re-blur sigma0 = 3 and
Scharr gradients on the grey image, at Canny edges; the sparse estimates are then smoothed by
the guided filter "to make the method more robust against noise". The paper gives no radius
or epsilon for that filter and leaves open how the undefined pixels (set to 0) enter it. Our
decisions: the filter is the weighted guided filter fitted over the *defined* pixels only (zeros
would drag every estimate down), guided by the colour image, radius 2 (5x5 windows), eps 0.01
(colour contrast below ~0.1 is smoothed across); it is evaluated at the edge pixels.

The filter's local affine fit can overshoot below zero where the estimates change fast beside a
colour edge (3-8 % of the edge pixels of the papers' photos). Blur is never negative, and there
the smoothing cannot be trusted: such estimates are dropped from the mask (the propagation fills
them from their neighbours), not clipped to a confident "sharp".
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ..conventions import PHOTO_WORKING_PIXELS
from .._validate import as_image, check_int, check_positive
from ..kernels.guided import guided_filter
from ..types import Method, SparseBlur
from .zhuo_sim import zhuo2011


def kriener2013(image, *, edges=None, sigma0: float = 3.0, radius: int = 2, eps: float = 0.01,
            canny_sigma: float = 1.0, canny_low: float | None = None, canny_high: float = 0.1,
            inversion: str = "calibrated", max_blur: float | None = None) -> SparseBlur:
    """Blur (Gaussian sigma, px) at edge pixels, Kriener et al. (2013) style.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
    edges : ndarray (H, W) bool, optional
        Precomputed edge map (default: Canny, as in :func:`zhuo2011`).
    sigma0 : float
        Re-blur std (the paper: 3).
    radius, eps : int, float
        Guided-filter smoothing of the sparse map over its defined pixels (module docstring);
        ``radius=0`` turns the smoothing off.
    canny_sigma, canny_low, canny_high, inversion, max_blur :
        As in :func:`defocus_lab.estimate.zhuo2011`.

    Returns
    -------
    SparseBlur (units "sigma").

    References
    ----------
    M. Kriener, T. Binder, M. Wille, "Accelerating defocus blur magnification", Proc. SPIE 8667,
    2013, doi:10.1117/12.2004118.

    Examples
    --------
    >>> import numpy as np
    >>> from defocus_lab.synth import step_edge_image
    >>> sb = kriener2013(step_edge_image(64, sigma=2.0))
    >>> bool(abs(np.median(sb.values[sb.mask]) - 2.0) < 0.2)
    True
    """
    img = as_image(image, copy=False)  # only read
    radius = check_int(radius, "radius", minimum=0)
    eps = check_positive(eps, "eps")
    sb = zhuo2011(img, edges=edges, variant="paper", sigma0=sigma0, gradient="scharr",
                        bilateral=None, canny_sigma=canny_sigma, canny_low=canny_low,
                        canny_high=canny_high, inversion=inversion, max_blur=max_blur)
    if radius == 0 or not sb.mask.any():
        return sb
    smooth = guided_filter(img, sb.values, radius, eps, weights=sb.mask.astype(float))
    mask = sb.mask & (smooth >= 0)  # overshoots below zero are dropped (module docstring)
    return SparseBlur(np.where(mask, smooth, 0.0), mask, edges=sb.edges, units="sigma")


# Sec. 2.3: 7x7 windows, eps 1e-3, lambda 0.1, solved at half resolution and brought up by the
# guided fit of Eqs. 7-8 (the propagator's defaults: 21x21 windows, eps 0.01); above 1 MP (photos) at
# the power-of-two fraction that keeps the solve under 0.26 MP (conventions.PHOTO_WORKING_PIXELS).
# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
kriener2013.option_names = frozenset({"sigma0", "radius", "eps", "canny_sigma", "canny_low", "canny_high", "inversion",
                                      "max_blur"})
METHOD = Method("kriener2013", kriener2013, "matting",
                MappingProxyType({"radius": 3, "eps": 1e-3, "lam": 0.1, "downsample": 2,
                                  "max_pixels": PHOTO_WORKING_PIXELS}),
                "Kriener, Binder & Wille 2013")
