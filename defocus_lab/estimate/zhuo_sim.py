"""Sparse blur at edges by the gradient ratio (Zhuo & Sim 2011, Sec. 3).

Two variants, both exposed:

- ``variant="paper"``: re-blur the input with a Gaussian of std ``sigma0``; R = |grad I| / |grad I_1|
  at Canny edges; sigma = sigma0 / sqrt(R^2 - 1) (Eq. 7). Gradients by central differences.
- ``variant="code"``: the authors' MATLAB code: gradient magnitudes by derivative-of-Gaussian
  filters at ``std1`` and ``std2``; sigma = sqrt((R^2 std1^2 - std2^2) / (1 - R^2)), kept where
  1.01 < R <= std2 / std1, clipped at ``max_blur``.

``inversion="formula"`` applies those closed forms literally. ``inversion="calibrated"`` (the
default) inverts the ratio the same discrete operators give on sampled step edges of known
sigma (a table computed once per parameter set), which removes the closed form's bias below
sigma ~ 1 (central differences and sampling smooth too: +73 % at sigma 0.5 for the paper variant,
+8 % for the code variant) and equals it above.

Then joint bilateral filtering of the sparse map at edge pixels (Eq. 9).
"""
from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

import numpy as np
from scipy import ndimage as ndi

from ..conventions import PHOTO_SIZE
from .._validate import as_image, check_positive, to_gray
from ..kernels.bilateral import sparse_bilateral
from ..kernels.gradient_ratio import blur_from_ratio
from ..types import Method, SparseBlur
from ..edges import as_edge_map, canny

VARIANTS = ("paper", "code")
# Largest re-blur / derivative scale (px). The papers use 1-3; the calibration table covers blur
# up to 40 px, and a scale of hundreds of pixels makes the filters and the table run for minutes.
MAX_SCALE = 20.0
INVERSIONS = ("calibrated", "formula")
_TABLE_SIGMAS = np.concatenate([[0.0], np.geomspace(0.02, 40.0, 600)])


def _operators(variant, p1, p2):
    """The two 1-D gradient-magnitude operators of a variant, as used on the image rows."""
    if variant == "paper":
        return (lambda f: np.abs(np.gradient(f)),
                lambda f: np.abs(np.gradient(ndi.gaussian_filter1d(f, p2, mode="nearest"))))
    return (lambda f: np.abs(ndi.gaussian_filter1d(f, p1, order=1, mode="nearest")),
            lambda f: np.abs(ndi.gaussian_filter1d(f, p2, order=1, mode="nearest")))


@lru_cache(maxsize=32)
def ratio_table(variant: str, p1: float, p2: float):
    """(R, sigma): the ratio the discrete operators give at a pixel-centred sampled step edge
    of Gaussian blur sigma, for sigma in [0, 40]; R ascending (R falls as sigma grows)."""
    from ..synth.edges import step_edge_1d
    op1, op2 = _operators(variant, p1, p2)
    R = np.empty(_TABLE_SIGMAS.size)
    for k, s in enumerate(_TABLE_SIGMAS):
        n = 2 * int(np.ceil(5 * (s + p2 + 2))) + 1
        f = step_edge_1d(n, sigma=float(s))
        R[k] = op1(f)[n // 2] / op2(f)[n // 2]
    # keep strictly falling entries: sharp edges saturate (R equal for sigma ~ 0) and float
    # noise can flatten the far tail; a ratio then maps to the smallest sigma that gives it
    prev_min = np.minimum.accumulate(np.concatenate([[np.inf], R[:-1]]))
    keep = R < prev_min
    return R[keep][::-1].copy(), _TABLE_SIGMAS[keep][::-1].copy()


def _scale(value, name):
    v = check_positive(value, name)
    if v > MAX_SCALE:
        raise ValueError(f"{name} must be at most {MAX_SCALE:g} px (the papers use 1 to 3); got {value!r}")
    return v


def _grad_mag_central(img):
    gy, gx = np.gradient(img)
    return np.hypot(gx, gy)


# Scharr's derivative, scaled so that across a straight edge it is the central difference
# (f[x+1] - f[x-1]) / 2: the calibration table of the paper variant then holds unchanged.
_SCHARR_X = np.array([[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]) / 32.0


def _grad_mag_scharr(img):
    gx = ndi.correlate(img, _SCHARR_X, mode="nearest")
    gy = ndi.correlate(img, _SCHARR_X.T, mode="nearest")
    return np.hypot(gx, gy)


def _grad_mag_dog(img, s):
    gx = ndi.gaussian_filter(img, s, order=(0, 1), mode="nearest")
    gy = ndi.gaussian_filter(img, s, order=(1, 0), mode="nearest")
    return np.hypot(gx, gy)


def zhuo2011(image, *, edges=None, variant: str = "paper", sigma0: float = 1.0,
                   std1: float = 1.0, std2: float = 1.5, max_blur: float | None = None,
                   canny_sigma: float = 1.0, canny_low: float | None = None, canny_high: float = 0.1,
                   bilateral: str | None = "joint", sigma_s: float | None = None,
                   sigma_r: float | None = None, inversion: str = "calibrated",
                   gradient: str = "central", bilateral_method: str = "auto") -> SparseBlur:
    """Blur (Gaussian sigma, px) at edge pixels by the gradient ratio of Zhuo & Sim (2011).

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
    edges : ndarray (H, W) bool, optional
        A precomputed edge map; default Canny on the grey image.
    variant : {"paper", "code"}
        The paper's re-blur form or the authors' two-scale code (module docstring).
    sigma0 : float
        Re-blur std of the paper variant (the paper uses 1).
    std1, std2 : float
        The two derivative-of-Gaussian scales of the code variant (1 and 1.5).
    max_blur : float or None
        Clip; default None for "paper" (no clip) and 3 for "code" (the authors' maxBlur).
    canny_sigma, canny_low, canny_high : float
        Canny parameters (thresholds relative to the largest gradient, MATLAB style).
    bilateral : {"joint", "values", None}
        "joint": Eq. 9, guided by the image, sigma_s = 10 % of the larger image side, sigma_r = 0.1;
        "values": the authors' code, range on the blur values (sigma_s 5, sigma_r 0.1 max_blur);
        None: no refinement.
    sigma_s, sigma_r : float, optional
        Override the bilateral sigmas.
    bilateral_method : {"auto", "exact", "grid"}
        How the bilateral filter is evaluated (:func:`~defocus_lab.kernels.sparse_bilateral`):
        every pair of edge pixels in the windows ("exact"; its cost grows with the square of the
        image size, because sigma_s does with the side), or the bilateral grid, linear in the edge
        pixels ("grid"); "auto" takes the exact one while it costs under a second, the grid
        above (photos).
    inversion : {"calibrated", "formula"}
        How sigma follows from the ratio: the closed forms (Eq. 7 and the code's) or their
        calibration to the discrete operators (module docstring).
    gradient : {"central", "scharr"}
        Gradient operator of the paper variant: central differences (Zhuo & Sim) or Scharr's
        rotation-optimised 3x3 operator (Kriener et al. 2013). Both equal the central
        difference across a straight edge, so one calibration serves both.

    Returns
    -------
    SparseBlur (units "sigma").

    References
    ----------
    S. Zhuo and T. Sim, Pattern Recognition 44(9), 2011, doi:10.1016/j.patcog.2011.03.009.

    Examples
    --------
    >>> from defocus_lab.synth import step_edge_image
    >>> img = step_edge_image(64, sigma=2.0)
    >>> sb = zhuo2011(img, variant="code", bilateral=None)
    >>> bool(abs(np.median(sb.values[sb.mask]) - 2.0) < 0.1)
    True
    """
    img = as_image(image, copy=False)  # only read
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    if inversion not in INVERSIONS:
        raise ValueError(f"inversion must be one of {INVERSIONS}; got {inversion!r}")
    if bilateral not in ("joint", "values", None):
        raise ValueError(f"bilateral must be 'joint', 'values' or None; got {bilateral!r}")
    if gradient not in ("central", "scharr"):
        raise ValueError(f"gradient must be 'central' or 'scharr'; got {gradient!r}")
    if gradient == "scharr" and variant != "paper":
        raise ValueError("gradient='scharr' applies to variant='paper' (the code variant uses "
                         "derivative-of-Gaussian filters)")
    gray = to_gray(img)
    if edges is None:
        edge_map = canny(img, sigma=canny_sigma, low=canny_low, high=canny_high)
    else:
        edge_map = as_edge_map(edges, gray.shape)
    if variant == "paper":
        s1, s2 = 0.0, _scale(sigma0, "sigma0")
        grad = _grad_mag_central if gradient == "central" else _grad_mag_scharr
        g1 = grad(gray)
        g2 = grad(ndi.gaussian_filter(gray, s2, mode="nearest"))
        r_min, default_clip = 1.0, np.inf
    else:
        s1, s2 = _scale(std1, "std1"), _scale(std2, "std2")
        if s2 <= s1:
            raise ValueError(f"std2 must exceed std1; got std1={std1}, std2={std2}")
        g1, g2 = _grad_mag_dog(gray, s1), _grad_mag_dog(gray, s2)
        r_min, default_clip = 1.01, 3.0
    clip = default_clip if max_blur is None else check_positive(max_blur, "max_blur")
    table = ratio_table(variant, s1, s2) if inversion == "calibrated" else None
    values, valid = blur_from_ratio(g1, g2, edge_map, s1=s1, s2=s2, r_min=r_min, max_blur=clip, table=table)
    if bilateral is not None and valid.any():
        if bilateral == "joint":
            ss = 0.1 * max(gray.shape) if sigma_s is None else check_positive(sigma_s, "sigma_s")
            sr = 0.1 if sigma_r is None else check_positive(sigma_r, "sigma_r")
            values = sparse_bilateral(values, valid, img, sigma_s=ss, sigma_r=sr, method=bilateral_method)
        else:
            top = float(values[valid].max()) if np.isinf(clip) else clip
            ss = 5.0 if sigma_s is None else check_positive(sigma_s, "sigma_s")
            sr = 0.1 * max(top, 1e-3) if sigma_r is None else check_positive(sigma_r, "sigma_r")
            values = sparse_bilateral(values, valid, values, sigma_s=ss, sigma_r=sr, method=bilateral_method)
    return SparseBlur(values, valid, edges=edge_map, units="sigma")


# The paper's propagation (Sec. 4, and the authors' code): the matting Laplacian with 3x3 windows,
# eps 1e-7, lambda 0.005, solved at full resolution up to 0.52 MP; above (photos) at the power-of-two
# fraction that holds at most 0.26 MP (conventions.PHOTO_SIZE).
# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
zhuo2011.option_names = frozenset({"variant", "sigma0", "std1", "std2", "max_blur", "canny_sigma", "canny_low",
                                   "canny_high", "bilateral", "sigma_s", "sigma_r", "inversion", "gradient",
                                   "bilateral_method"})
METHOD = Method("zhuo2011", zhuo2011, "matting",
                MappingProxyType({"radius": 1, "eps": 1e-7, "lam": 0.005, **PHOTO_SIZE}),
                "Zhuo & Sim 2011")
