"""Galetto & Deng 2022 on a 1000x700 photo: the patch map and its refinement, timed.

1. The patch map at strides 32, 16, 8 and 4: the batched classifier (batch norm folded, batches
   of 1024 patches; what ``galetto2022`` runs) against the naive loop that classifies one patch
   at a time (the paper's formulation; its T is per patch; on one thread, its fastest), in one
   run, as a ratio. The naive
   loop is timed on ``--naive-patches`` patches and its T extrapolated to the grid (Eq. 7:
   t = T N / s^2), which the table prints beside the measurement of the batched map.
2. Table 4 of the paper, live: WGIF alone, the proposed refinement (guide smoothed by 7 passes
   of self-guided WGIF, then WGIF; r 16, eps 0.005), the matting Laplacian propagation of the
   same map (zhuo2011's solve) and the domain transform, on the same map.
3. The classifier's layout and width: MobileNetV2 width 0.5 channels-last in batches of 512 (the
   lab's) against the default layout in batches of 1024 (before) and against width 1.0 (the
   paper's), batch norm folded, random weights (the time does not depend on them), in one run.
4. A 12 MP photo (the same photo, bicubic-upsampled to 4000x3000), the whole
   ``estimate_defocus(method="galetto2022")`` (patch map and refinement): with the photo-size
   rule (the patches cut from a 1 MP copy, classes converted to the photo's px) against the
   patches cut from the photo itself (``max_pixels=None``), in one run, as a ratio.

    python benchmarks/bench_galetto.py [--weights data/galetto2022/mobilenetv2_w05.npz] [--skip-12mp]

The paper (MATLAB, M1 Pro): 9.9 ms per patch (26 s at stride 16, ~7 min at stride 4 on
1000x700); Table 4: WGIF 0.022 s, muGIF 2.462 s, matting Laplacian 33.737 s, proposed 0.491 s.
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402


def photo():
    """A 1000x700 photo: the paper's bird (DEFOCUS_LAB_DATA) or scikit-image's coffee, resized."""
    from skimage.transform import resize
    from defocus_lab import data
    name = "galetto_bird" if data.available(data.PHOTOS["galetto_bird"]) else "coffee"
    img = data.load_image(name)
    return name, np.clip(resize(img, (700, 1000), order=3, anti_aliasing=True), 0, 1)


def best_of(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    import torch
    from defocus_lab.estimate.galetto import classify_patches, grey_for_patches, patch_grid, patch_mean
    from defocus_lab.experiments.galetto import naive_patch_seconds
    from defocus_lab.models.mobilenet import load_classifier, SELF_TRAINED
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=str(SELF_TRAINED))
    ap.add_argument("--naive-patches", type=int, default=300)
    ap.add_argument("--skip-12mp", action="store_true")
    args = ap.parse_args()
    name, img = photo()
    grey = grey_for_patches(img)
    fast = load_classifier(args.weights)
    print(f"photo: {name}, 1000x700; classifier {args.weights}; torch threads {torch.get_num_threads()}")
    # the naive loop: one patch per call, the unfolded network, one thread
    T = naive_patch_seconds(grey, args.weights, args.naive_patches)
    print(f"naive loop: T = {T * 1e3:.2f} ms per patch (measured on {args.naive_patches} patches, one thread)")
    print()
    print("| stride | patches | naive, Eq. 7 (s) | batched (s) | ratio | batched T (ms) |")
    print("|---|---|---|---|---|---|")
    maps = {}
    for s in (32, 16, 8, 4):
        _, ys, xs = patch_grid(grey.shape, s)
        n = len(ys) * len(xs)
        sec, out = best_of(lambda: classify_patches(grey, fast, s), repeat=1 if s <= 8 else 3)
        maps[s] = patch_mean(out[0], out[3], out[4], grey.shape, out[2])
        print(f"| {s} | {n} | {T * n:.1f} | {sec:.2f} | {T * n / sec:.0f}x | {sec / n * 1e3:.3f} |", flush=True)
    print()
    from defocus_lab.kernels.wgif import weighted_guided_filter
    from defocus_lab.propagate import domain_transform, matting
    from defocus_lab.propagate.wgif import wgif
    from defocus_lab.types import SparseBlur
    m = maps[16]
    dense = SparseBlur(m, np.ones(m.shape, bool))
    rows = [("WGIF (guide: the grey image)", lambda: weighted_guided_filter(grey, m, 16, 0.005)),
            ("proposed (7 passes of self-guided WGIF, then WGIF)", lambda: wgif(img, dense)),
            ("matting Laplacian (zhuo2011's solve, every pixel a constraint)",
             lambda: matting(img, dense, lam=0.005, eps=1e-7, radius=1)),
            ("domain transform (karaali2022's)", lambda: domain_transform(img, dense))]
    print("Table 4 on the stride-16 map (best of 3; first call compiled before)")
    print("| refinement | seconds |")
    print("|---|---|")
    for label, f in rows:
        f()
        sec, _ = best_of(f)
        print(f"| {label} | {sec:.3f} |", flush=True)
    print("| muGIF | not implemented |")
    widths()
    if not args.skip_12mp:
        photo_size(img, args.weights)


def widths():
    import torch
    from defocus_lab.models.mobilenet import MobileNetV2, fold_batchnorm
    torch.manual_seed(0)
    half = fold_batchnorm(MobileNetV2(20, 0.5).eval())
    x = torch.rand(4096, 1, 32, 32)
    last = x.contiguous(memory_format=torch.channels_last)
    rows = {  # (network, input, batch): the lab's choice first
        "width 0.5, channels-last, batch 512 (the lab's)": (copy.deepcopy(half).to(memory_format=torch.channels_last),
                                                          last, 512),
        "width 0.5, default layout, batch 1024 (before)": (half, x, 1024),
        "width 1.0, channels-last, batch 512": (fold_batchnorm(MobileNetV2(20, 1.0).eval()).to(
            memory_format=torch.channels_last), last, 512)}
    best = {k: 1e9 for k in rows}
    with torch.inference_mode():
        for _ in range(3):
            for k, (n, inp, b) in rows.items():
                t = time.perf_counter()
                for a in range(0, len(inp), b):
                    n(inp[a:a + b])
                best[k] = min(best[k], time.perf_counter() - t)
    print()
    print("| MobileNetV2 (batch norm folded) | ms per patch (4096 patches, best of 3) | ratio to the lab's |")
    print("|---|---|---|")
    ref = best[next(iter(rows))]
    for k in rows:
        print(f"| {k} | {best[k] / len(x) * 1e3:.4f} | {best[k] / ref:.1f}x |")


def photo_size(img, weights):
    from skimage.transform import resize
    from defocus_lab.pipeline import estimate_defocus
    big = np.clip(resize(img, (3000, 4000), order=3), 0, 1)
    print()
    print("A 12 MP photo (4000x3000), estimate_defocus(method='galetto2022'), stride 16, one run each")
    print("| patches cut from | seconds | map median (sigma px) | map 95th percentile |")
    print("|---|---|---|---|")
    times = {}
    for label, mp in (("a 1 MP copy (the photo-size rule)", 1_000_000), ("the photo itself", None)):
        t = time.perf_counter()
        m = estimate_defocus(big, method="galetto2022", estimator_options={"max_pixels": mp, "weights": weights},
                             progress=False)[0]
        times[label] = time.perf_counter() - t
        print(f"| {label} | {times[label]:.1f} | {np.median(m):.2f} | {np.percentile(m, 95):.2f} |", flush=True)
    a, b = times.values()
    print(f"ratio: {b / a:.1f}x")


if __name__ == "__main__":
    with record(__file__):
        main()
