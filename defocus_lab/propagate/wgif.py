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

The propagator refines a *dense* estimate (``sparse.mask`` all True, as the patch classifier
gives); a sparse one (edge pixels only) is refused with the propagators that fill gaps named.
"""
from __future__ import annotations

import numpy as np

from .._validate import as_image, check_int, check_positive
from ..kernels.wgif import edge_aware_weights, weighted_guided_filter

VARIANTS = ("paper", "demo")


def smoothed_guide(image, radius: int = 16, eps: float = 0.005, iterations: int = 7) -> np.ndarray:
    """The grey image smoothed by the self-guided WGIF ``iterations`` times (each pass guided
    by the previous one), clipped to [0, 1]: texture removed, silhouettes kept."""
    from ..synth.patches import to_grey
    g = to_grey(image)
    for _ in range(check_int(iterations, "iterations", minimum=0)):
        g = np.clip(weighted_guided_filter(g, g, radius, eps), 0.0, 1.0)
    return g


def wgif_refine(image, sparse, *, radius: int = 16, eps: float = 0.005, iterations: int = 7,
                variant: str = "paper", guide=None) -> np.ndarray:
    """Refine a dense blur map (``sparse.values`` with ``sparse.mask`` all True) by WGIF under
    the smoothed guide (module docstring). Returns float64 (H, W) in the map's units, clipped
    at 0 (blur is never negative). ``guide``: a ready guide (what sliders reuse)."""
    img = as_image(image, copy=False)
    radius = check_int(radius, "radius", minimum=1)
    eps = check_positive(eps, "eps")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    values = np.asarray(sparse.values, dtype=np.float64)
    if values.shape != img.shape[:2]:
        raise ValueError(f"the estimate is {values.shape}, the image {img.shape[:2]}: they must match")
    if not np.all(sparse.mask):
        raise ValueError("wgif_refine refines a dense map (every pixel estimated, as galetto2022's patch "
                         "classifier gives); for estimates at edge pixels use propagation='matting' or "
                         "'domain_transform'")
    if variant == "demo":
        g = smoothed_guide(img, radius, eps, 1) if guide is None else guide
        from ..kernels.guided import guided_filter
        out = guided_filter(np.clip(g, 0, 1), values, 2 * radius, 1e-6)
    else:
        g = smoothed_guide(img, radius, eps, iterations) if guide is None else guide
        out = weighted_guided_filter(g, values, radius, eps, gamma=edge_aware_weights(g))
    return np.clip(out, 0.0, None)
