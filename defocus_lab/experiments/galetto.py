"""Figures and tables of Galetto & Deng (2022), computed by the real method.

- :func:`fig3_levels`: one sharp patch in the 20 blur classes (Fig. 3), made the way the
  training set is (the photo blurred before the patch is cut);
- :func:`training_report`: the report of the shipped classifier's training run (Fig. 4's curves
  in ``history``, Tables 2-3's scores in ``test``);
- :func:`timing_model`: Eq. 7, t = T N / s^2, for a per-patch time T.
"""
from __future__ import annotations

import json

import numpy as np

from .._cache import cached

PAPER_TEST_ACCURACY = 0.9704  # MobileNetV2 after 100 epochs on DIV2K patches (Sec. 3.1)
PAPER_T_PER_PATCH = 9.9e-3  # s, MATLAB on an M1 Pro (Sec. 3.2)


def fig3_levels(image=None, seed: int = 0) -> np.ndarray:
    """(20, 32, 32) float32 in [0, 1]: the sharpest patch of ``image`` (default: scikit-image's
    astronaut) in blur classes 0..19."""
    from ..synth.patches import blurred_crops, sharp_positions, sharpness, to_grey
    if image is None:
        from skimage import data as skdata
        image = skdata.astronaut()
    grey = to_grey(image)
    pos = sharp_positions(grey)
    if len(pos) == 0:
        raise ValueError("the image has no sharp 32x32 patch (variance of the Laplacian > 1000): give a sharper "
                         "photo")
    s = sharpness(grey)
    best = pos[np.argmax(s[pos[:, 0] // 32, pos[:, 1] // 32])]
    return blurred_crops(grey, best[None])[0]


def training_report(path=None) -> dict | None:
    """The JSON report of ``defocus-lab train galetto`` beside the shipped weights (None when
    the file is not there)."""
    from ..models.mobilenet import SELF_TRAINED
    p = SELF_TRAINED.with_name("report.json") if path is None else path
    try:
        with open(p) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def timing_model(shape, strides, T: float) -> dict:
    """Eq. 7: seconds t = T N / s^2 for an image of ``shape`` (N pixels) at each stride s."""
    n = float(shape[0]) * float(shape[1])
    return {int(s): T * n / float(s) ** 2 for s in strides}


# Table 5 of the paper: best-threshold accuracy on the first 200 defocus images of CUHK.
PAPER_TABLE5 = {"zhuo2011": 0.7296, "karaali2018": 0.7654, "shi2014": 0.7781, "park2017": 0.8408,
                "dmenet2019": 0.8735, "galetto2022": 0.8771}
PAPER_TABLE4 = {"WGIF": 0.022, "muGIF": 2.462, "matting Laplacian": 33.737, "proposed": 0.491}  # s, 1000x700


def lab_methods() -> list[str]:
    """The registry's methods that can run here (karaali2022 needs the authors' weights)."""
    from ..models import karaali
    from ..pipeline import METHODS
    return [m for m in METHODS if m != "karaali2022" or karaali.available()]


@cached(ignore=("progress",))
def every_method(image, methods=None, *, progress=None) -> dict:
    """Figs. 9-10: each method's own pipeline (estimator and preset propagator) on ``image``, as
    Gaussian sigma in px (:func:`~defocus_lab.pipeline.estimate_defocus` with ``units="sigma"``).
    Returns {method: {"map", "seconds"}} and "skipped": {method: why}."""
    import time

    from ..pipeline import estimate_defocus
    from ._measure import stepped
    out, skipped = {}, {}
    wanted = list(methods or lab_methods())
    for m in stepped(wanted, progress, "every method"):
        t = time.perf_counter()
        try:
            dense, _ = estimate_defocus(image, method=m, units="sigma", progress=False)
        except ValueError as exc:  # e.g. no edge at all for an edge-based method
            skipped[m] = str(exc)
            continue
        out[m] = {"map": dense, "seconds": time.perf_counter() - t}
    return {"maps": out, "skipped": skipped}


@cached(ignore=("progress",))
def cuhk_table(names=None, methods=None, *, side: int | None = None, progress=None) -> dict:
    """Table 5 and Fig. 11 on the CUHK images available: each method's map (its own pipeline,
    sigma px) on each image (its larger side brought to ``side`` px when given, as the mask),
    the best-threshold accuracy per image (:func:`~defocus_lab.metrics.best_threshold_accuracy`)
    and the threshold-sweep counts (:func:`~defocus_lab.metrics.precision_recall`). Returns {"accuracy": {method:
    {image: acc}}, "mean": {method: mean}, "pr": {method: pr_curve}, "images", "skipped"}."""
    from .. import data
    from ..metrics import best_threshold_accuracy, pr_curve, precision_recall
    from ..data import working_copy
    from ._measure import stepped
    methods = list(methods or lab_methods())
    acc = {m: {} for m in methods}
    counts = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    images, skipped = [], []
    for name in stepped(names or data.detection_names("cuhk"), progress, "Table 5, CUHK images"):
        try:
            img, mask = data.load_image(name, download=False), data.load_mask(name, download=False)
        except data.DataMissing:
            skipped.append(name)
            continue
        if side is not None:
            img, f = working_copy(img, side)
            if f < 1:
                mask = working_copy(mask.astype(np.float64), side)[0] > 0.5
        images.append(name)
        maps = every_method(img, methods)
        for m, r in maps["maps"].items():
            acc[m][name] = best_threshold_accuracy(r["map"], mask)[0]
            counts[m].append(precision_recall(r["map"], mask))
            seconds[m].append(r["seconds"])
    return {"accuracy": acc, "mean": {m: float(np.mean(list(v.values()))) for m, v in acc.items() if v},
            "pr": {m: pr_curve(c) for m, c in counts.items() if c},
            "seconds": {m: float(np.mean(s)) for m, s in seconds.items() if s},
            "images": images, "skipped": skipped}


def patch_measures(image, stride: int = 16) -> dict:
    """Fig. 8: per-pixel maps of classical blur measures over the classifier's own sliding window
    (each 32x32 patch measured, each pixel the mean over the patches that cover it, Eq. 6):
    Shannon entropy (``skimage.measure.shannon_entropy`` of the 8-bit patch), standard
    deviation, and variance of the Laplacian (``skimage.filters.laplace``, 0..255 scale) - all
    three *fall* as blur rises - beside the network's class map."""
    from skimage.filters import laplace
    from skimage.measure import shannon_entropy

    from ..estimate.galetto import galetto2022, padded_for_patches, patch_mean, patch_windows
    from ..synth.patches import to_grey
    grey = to_grey(image)
    padded, pad, ys, xs = padded_for_patches(grey, stride)
    view = patch_windows(padded, ys, xs, stride)
    lap = patch_windows(laplace(padded * 255.0), ys, xs, stride)
    q = np.rint(view * 255).astype(np.uint8)
    entropy = np.array([[shannon_entropy(q[i, j]) for j in range(len(xs))] for i in range(len(ys))])
    out = {"entropy": entropy, "std": view.std(axis=(-2, -1)), "laplacian variance": lap.var(axis=(-2, -1))}
    maps = {k: patch_mean(v, ys, xs, grey.shape, pad) for k, v in out.items()}
    maps["network (sigma px)"] = galetto2022(image, stride=stride).values
    return maps


def naive_patch_seconds(grey, weights="self-trained", patches: int = 50, seed: int = 0) -> float:
    """Eq. 7's T as the paper measures it: seconds per patch of the loop that classifies one
    32x32 patch per call (the unfolded network, batch norm kept), at ``patches`` seeded random
    places of ``grey`` padded symmetrically, on one torch thread (a second thread only adds
    overhead to so small a call: the loop's best case)."""
    import time

    import torch

    from ..estimate.galetto import PATCH
    from ..models.mobilenet import load_mobilenet
    plain = load_mobilenet(weights).eval()
    padded = np.pad(np.asarray(grey, dtype=np.float32), PATCH, mode="symmetric")
    corners = np.random.default_rng(seed).integers(0, np.array(grey.shape[:2]) + PATCH, (patches, 2))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            plain(torch.zeros(1, 1, PATCH, PATCH))
            t = time.perf_counter()
            for y, x in corners:
                plain(torch.from_numpy(padded[y:y + PATCH, x:x + PATCH][None, None].copy()))
            return (time.perf_counter() - t) / max(patches, 1)
    finally:
        torch.set_num_threads(threads)


def stride_timings(image, strides=(32, 16, 8, 4), *, naive_patches: int = 50, weights="self-trained") -> dict:
    """Eq. 7 measured on ``image``: seconds of the batched sliding-window classification at each
    stride (what :func:`~defocus_lab.estimate.galetto2022` runs), and the per-patch time T of
    the naive loop (:func:`naive_patch_seconds` on ``naive_patches`` patches), so that
    t = T N / s^2 can be drawn against both."""
    import time

    from ..estimate.galetto import classify_patches, grey_for_patches
    from ..models.mobilenet import load_classifier
    grey = grey_for_patches(image)
    fast = load_classifier(weights)
    T = naive_patch_seconds(grey, weights, naive_patches)
    batched = {}
    for s in strides:
        t = time.perf_counter()
        classify_patches(grey, fast, s)
        batched[int(s)] = time.perf_counter() - t
    return {"batched": batched, "T_naive": T, "shape": grey.shape}


def table2_reports(folder=None) -> dict:
    """The lab's Table 2: the reports of networks trained with the same budget (the same number
    of optimiser steps from the same seed; ``benchmarks/table2_galetto.sh`` made them), read from
    ``data/galetto2022/table2/*.json``; {} when the folder is not there."""
    from pathlib import Path

    from ..models.mobilenet import SELF_TRAINED
    folder = SELF_TRAINED.parent / "table2" if folder is None else Path(folder)
    out = {}
    for p in sorted(folder.glob("*.json")):
        with open(p) as f:
            out[p.stem] = json.load(f)
    return out


def recipe_reports(folder=None) -> dict:
    """The reports of ``benchmarks/galetto_recipes.py`` (the training recipes and both split
    protocols, each trained the same number of steps from scratch), read from
    ``data/galetto2022/recipes/*.json``; {} when the folder is not there."""
    from ..models.mobilenet import SELF_TRAINED
    return table2_reports(SELF_TRAINED.parent / "recipes" if folder is None else folder)


# Table 6 of the paper (Fig. 13's bird): BRISQUE of the original and of each sharpening (lower is better).
PAPER_TABLE6_BRISQUE = {"original": 20.83, "UM": 44.41, "GUM": 24.89, "CAS": 55.19, "proposed": 20.61}


@cached()
def table6(image, *, amount: float = 2.0) -> dict:
    """Table 6 (BRISQUE column): the no-reference BRISQUE score
    (:func:`defocus_lab.metrics.brisque`) of ``image``, of its classical unsharp masking with the
    fixed gain ``amount`` (Fig. 13d: 2) and of the adaptive sharpening by the galetto2022 map at
    Fig. 13's setting (Eqs. 8-11). The paper's GUM and CAS are not in the lab (they are other
    authors' sharpening methods). Returns ``{"original", "UM", "proposed": score, "map": the map}``."""
    from ..apps.enhance import adaptive_unsharp_mask, unsharp_mask
    from ..metrics import brisque
    from ..pipeline import estimate_defocus
    img = np.asarray(image, dtype=np.float64)
    m = estimate_defocus(img, method="galetto2022", progress=False)[0]
    return {"original": brisque(img), "UM": brisque(unsharp_mask(img, amount)),
            "proposed": brisque(adaptive_unsharp_mask(img, m)), "map": m}
