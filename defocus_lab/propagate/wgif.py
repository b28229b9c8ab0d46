"""Galetto & Deng's refinement (2022, Sec. 3.3, Fig. 5): a weighted guided filter of the
blocky patch map, guided by an edge-aware-smoothed copy of the image.

The guided filter and WGIF (:mod:`defocus_lab.kernels.wgif`) copy the guide's texture into the
filtered map; a defocus map should follow the silhouettes of objects, not their texture. So the
guide is first smoothed by the self-guided WGIF applied ``iterations`` times (texture goes,
large edges stay), and the map is then filtered by WGIF under that guide. The paper: r = 16,
eps = 0.005, 7 iterations (Fig. 6).

``variant="demo"`` follows the authors' demo code instead: the guide smoothed once by WGIF of
radius ``radius`` (11 in the demo), the map filtered by the plain guided filter with a window of
4 r + 1 (radius 2 r) and eps 1e-6.

The method refines a *dense* estimate (``sparse.mask`` all True, as the patch classifier
gives). As a propagator of the lab it also takes the other estimators' sparse ones (values at
edge pixels only): every pixel without a value first takes the value of its nearest estimate (a
Voronoi fill, :func:`nearest_fill`), which the filter then smooths along the guide's
silhouettes. The fill is the lab's choice, not the paper's (the paper only refines its own dense
map); it is the simplest fill that keeps the estimates' values, and matting or the domain
transform remain the propagators built for sparse input.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_image, check_int, check_positive
from ..kernels.wgif import edge_aware_weights, weighted_guided_filter
from ..types import as_sparse

VARIANTS = ("paper", "demo")


def smoothed_guide(image, radius: int = 16, eps: float = 0.005, iterations: int = 7) -> np.ndarray:
    """The grey image smoothed by the self-guided WGIF ``iterations`` times (each pass guided
    by the previous one), clipped to [0, 1]: texture removed, silhouettes kept."""
    from ..synth.patches import to_grey
    g = to_grey(image)
    for _ in range(check_int(iterations, "iterations", minimum=0)):
        g = np.clip(weighted_guided_filter(g, g, radius, eps), 0.0, 1.0)
    return g


def nearest_fill(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values`` where ``mask`` is True, elsewhere the value of the nearest True pixel
    (Euclidean distance; ties as :func:`scipy.ndimage.distance_transform_edt` breaks them)."""
    from scipy import ndimage as ndi
    mask = np.asarray(mask, bool)
    if mask.all():
        return np.asarray(values, dtype=np.float64)
    if not mask.any():
        raise ValueError("the estimate has no value at any pixel: nothing to fill")
    _, (iy, ix) = ndi.distance_transform_edt(~mask, return_indices=True)
    return np.asarray(values, dtype=np.float64)[iy, ix]


def wgif(image, sparse, mask=None, *, radius: int = 16, eps: float = 0.005, iterations: int = 7,
         variant: str = "paper", guide=None) -> np.ndarray:
    """Galetto & Deng's refinement as a propagator: the map filtered by WGIF under the smoothed
    guide (module docstring).

    Parameters
    ----------
    image : ndarray (H, W, 3) or (H, W)
        The guide image (uint8, uint16 or float in [0, 1]).
    sparse : SparseBlur
        Dense (``mask`` all True, as :func:`~defocus_lab.estimate.galetto2022` gives) or sparse
        (filled by :func:`nearest_fill` first). The array form ``wgif(image, values, mask)`` is
        accepted too.
    mask : ndarray (H, W) bool, optional
        Only with the array form: where ``values`` are defined.
    radius : int
        The WGIF window radius, px (the paper: 16).
    eps : float
        The WGIF regularisation (the paper: 0.005).
    iterations : int
        Passes of the self-guided WGIF that smooth the guide (the paper: 7).
    variant : {"paper", "demo"}
        The paper's refinement, or the authors' demo (module docstring).
    guide : ndarray, optional
        A ready guide (:func:`smoothed_guide`; what sliders reuse).

    Returns
    -------
    ndarray (H, W) float64
        The refined map in the estimate's units, clipped at 0 (blur is never negative).

    Examples
    --------
    >>> import numpy as np
    >>> from defocus_lab.types import SparseBlur
    >>> img = np.zeros((40, 40)); img[:, 20:] = 1.0
    >>> blocky = np.where(np.arange(40) < 24, 1.0, 5.0)[None, :].repeat(40, 0)  # step 4 px off
    >>> out = wgif(img, SparseBlur(blocky, np.ones((40, 40), bool)), radius=4, iterations=2)
    >>> [round(float(v), 2) for v in out[20, 18:22]]  # the map now jumps where the image does (col 20)
    [1.0, 1.0, 1.89, 2.19]
    """
    sparse = as_sparse(sparse, mask)
    img = as_image(image, copy=False)
    radius = check_int(radius, "radius", minimum=1)
    eps = check_positive(eps, "eps")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    values = np.asarray(sparse.values, dtype=np.float64)
    if values.shape != img.shape[:2]:
        raise ValueError(f"the estimate is {values.shape}, the image {img.shape[:2]}: they must match")
    values = nearest_fill(values, sparse.mask)
    if variant == "demo":
        g = smoothed_guide(img, radius, eps, 1) if guide is None else guide
        from ..kernels.guided import guided_filter
        out = guided_filter(np.clip(g, 0, 1), values, 2 * radius, 1e-6)
    else:
        g = smoothed_guide(img, radius, eps, iterations) if guide is None else guide
        out = weighted_guided_filter(g, values, radius, eps, gamma=edge_aware_weights(g))
    return np.clip(out, 0.0, None)


# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
wgif.option_names = frozenset({"radius", "eps", "iterations", "variant"})
