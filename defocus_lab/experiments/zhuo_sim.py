"""Figures and the Table I row of Zhuo & Sim (2011), computed by the package's real method."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .._cache import cached
from .. import data, metrics
from ..conventions import sigma_to_disk
from ..estimate.zhuo_sim import zhuo2011, ratio_table
from ..kernels.gradient_ratio import blur_from_ratio
from ..pipeline import estimate_defocus
from ._measure import stepped
from ..synth import bar_image, coc_diameter, defocused_motorcycle, step_edge_1d


def coc_curves(distances=None, f_numbers=(1.4, 2.0, 2.8, 4.0, 5.6), *, d_f=500.0, f0=80.0) -> dict:
    """Fig. 2(b): CoC diameter (mm) against object distance (mm) for several f-numbers."""
    d = np.linspace(100.0, 3000.0, 400) if distances is None else np.asarray(distances, float)
    return {"distance": d, "curves": {N: coc_diameter(d, d_f=d_f, f0=f0, N=N) for N in f_numbers}}


def edge_profile(sigma: float = 2.0, sigma0: float = 1.0, n: int = 61, inversion: str = "calibrated") -> dict:
    """Fig. 3 in 1-D: a blurred step edge, its re-blur, both gradients, their ratio and the
    blur recovered from the ratio at the edge (paper variant)."""
    i = step_edge_1d(n, sigma=sigma)
    i1 = ndi.gaussian_filter1d(i, sigma0, mode="nearest")
    g, g1 = np.abs(np.gradient(i)), np.abs(np.gradient(i1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g1 > 1e-12, g / g1, np.nan)
    c = n // 2
    table = ratio_table("paper", 0.0, float(sigma0)) if inversion == "calibrated" else None
    v, ok = blur_from_ratio(g[None, c:c + 1], g1[None, c:c + 1], np.ones((1, 1), bool), s1=0.0,
                            s2=float(sigma0), table=table)
    return {"x": np.arange(n) - c, "edge": i, "reblurred": i1, "grad": g, "grad_reblurred": g1,
            "ratio": ratio, "R": float(ratio[c]), "sigma_est": float(v[0, 0]) if ok[0, 0] else np.nan,
            "sigma": sigma}


def bar_errors(*, noise_var: float = 0.0, spacing: int = 40, shift: int = 0, variant: str = "paper",
               inversion: str = "calibrated", n_edges: int = 21, blur_max: float = 5.0,
               seed: int = 0, **options) -> dict:
    """Fig. 5(d)-(f): estimation error against true blur on a bar image.

    The edge map is the true edge columns moved by ``shift`` px (Fig. 5(c): mis-localised edges);
    the estimate of an edge is the median over its column; the error is |estimate - truth|.
    No bilateral refinement (the figure measures the estimator alone).
    """
    b = bar_image(n_edges=n_edges, blur_max=blur_max, spacing=spacing, noise_var=noise_var, seed=seed)
    edges = np.zeros(b.image.shape, bool)
    cols = b.columns + shift
    edges[:, cols] = True
    sb = zhuo2011(b.image, edges=edges, variant=variant, inversion=inversion, bilateral=None,
                        max_blur=options.pop("max_blur", 3 * blur_max), **options)
    est = np.array([np.median(sb.values[:, c][sb.mask[:, c]]) if sb.mask[:, c].any() else np.nan
                    for c in cols])
    return {"sigma": b.sigmas, "estimate": est, "error": np.abs(est - b.sigmas), "image": b.image}


@cached(ignore=("progress",))
def table1_row(*, variant: str = "paper", propagation_options: dict | None = None,
               estimator_options: dict | None = None, motorcycle_scale: float = 0.5, progress=None) -> dict:
    """The Table I row for Zhuo & Sim on the data available here.

    - RTF (each available image): raw and relative MAE in disk radius, sigma converted with the
      nearest entry of the RTF table, rightmost 20 columns dropped (Karaali's protocol);
    - CUHK (each available image): best-threshold accuracy against the mask;
    - the synthetic motorcycle: MAE in sigma against its known blur map.
    Images that are not available are listed under "skipped". ``progress``: a tqdm-like class
    for a bar over the images (:func:`defocus_lab.experiments._measure.stepped`).
    """
    est = {"variant": variant, **(estimator_options or {})}
    prop = propagation_options or {}
    out = {"rtf": {}, "cuhk": {}, "skipped": []}
    tasks = [("rtf", nn) for nn in data.rtf_ids()] + [("cuhk", n) for n in data.detection_names("cuhk")]
    for kind, name in stepped(tasks, progress, "Table I, Zhuo & Sim"):
        try:
            if kind == "rtf":
                r = data.load_rtf(name, download=False)
            else:
                img, mask = data.load_image(name, download=False), data.load_mask(name, download=False)
        except data.DataMissing:
            out["skipped"].append(f"rtf{name}" if kind == "rtf" else name)
            continue
        if kind == "rtf":
            dense, _ = estimate_defocus(r["image"], estimator_options=est, propagator_options=prop)
            out["rtf"][name] = metrics.rtf_scores(sigma_to_disk(dense, method="nearest"), r["blur_disk"])
        else:
            dense, _ = estimate_defocus(img, estimator_options=est, propagator_options=prop)
            out["cuhk"][name] = metrics.best_threshold_accuracy(dense, mask)[0]
    sc = defocused_motorcycle(scale=motorcycle_scale)
    dense, _ = estimate_defocus(sc.image, estimator_options=est, propagator_options=prop)
    out["motorcycle_mae"] = metrics.mae(dense, sc.sigma)
    if out["rtf"]:
        out["rtf_mae"] = float(np.mean([v["mae"] for v in out["rtf"].values()]))
        out["rtf_relative_mae"] = float(np.mean([v["relative_mae"] for v in out["rtf"].values()]))
    if out["cuhk"]:
        out["cuhk_accuracy"] = float(np.mean(list(out["cuhk"].values())))
    return out
