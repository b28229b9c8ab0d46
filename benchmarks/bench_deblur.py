"""The deblurring paper's blind estimate of one layer, timed against Richardson-Lucy.

One 0.5 MP layer (scikit-image's chelsea resized to 600x840, grey, blurred by a 7 px disk in its
31x31 box, noise 0.005; the layer is the whole photo less a 40 px rim), the paper's N = 20:

1. the blind estimate (apps.deblur.deblur_layer: Tung & Hwang's search on its 256 px window,
   then Alg. 2), with the FFTs it computes counted;
2. scikit-image's Richardson-Lucy (the non-blind alternative, given the true kernel) run for as
   many FFTs (each of its iterations is two FFT convolutions, three FFTs each), in the same run;
3. the whole colour deblur of the photo (the luminance estimate plus the colour restoration).

    python benchmarks/bench_deblur.py

Goal (issue 14): <= 20 s for the blind estimate of one layer on 2 cores.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402


def scene():
    from scipy import ndimage as ndi
    from skimage import data
    from skimage.transform import resize
    from defocus_lab.render import disk_kernel
    rng = np.random.default_rng(0)
    sharp = np.clip(resize(data.chelsea() / 255.0, (600, 840), order=3, anti_aliasing=True), 0, 1)
    k = disk_kernel(7.0)
    blurred = np.stack([ndi.convolve(sharp[..., c], k, mode="reflect") for c in range(3)], axis=2)
    blurred = np.clip(blurred + 0.005 * rng.normal(size=blurred.shape), 0, 1)
    mask = np.zeros(sharp.shape[:2], bool)
    mask[40:-40, 40:-40] = True
    return sharp, blurred, mask, k


def main():
    from skimage.metrics import peak_signal_noise_ratio as psnr
    from skimage.restoration import richardson_lucy
    from defocus_lab._validate import to_gray
    from defocus_lab.apps import deblur as db
    from defocus_lab.render import disk_kernel
    sharp, blurred, mask, k = scene()
    grey, grey_sharp = to_gray(blurred), to_gray(sharp)
    print(f"layer: {grey.shape[1]}x{grey.shape[0]} ({grey.size / 1e6:.2f} MP), true disk radius 7 px, "
          f"kernel box {db.KERNEL_SIZE}, N = {db.ITERATIONS}")
    db.deblur_layer(grey[:128, :128], mask[:128, :128], iterations=1)  # compile the numba kernels
    counts = {"fft": 0}
    rfft, irfft = db._rfft, db._irfft

    def counted(f):
        def g(*a, **kw):
            counts["fft"] += 1
            return f(*a, **kw)
        return g

    db._rfft, db._irfft = counted(rfft), counted(irfft)
    try:
        t = time.perf_counter()
        radius, _, _ = db.initial_disk(grey, mask)
        t_search = time.perf_counter() - t
        t = time.perf_counter()
        res = db.deblur_layer(grey, mask, k0=db.embed_kernel(disk_kernel(radius), db.KERNEL_SIZE))
        t_loop = time.perf_counter() - t
    finally:
        db._rfft, db._irfft = rfft, irfft
    ffts = counts["fft"]
    blind = t_search + t_loop
    inner = np.s_[40:-40, 40:-40]
    score = lambda u: psnr(grey_sharp[inner], np.clip(u, 0, 1)[inner], data_range=1)  # noqa: E731
    rl_iter = max(1, round(ffts / 6))
    t = time.perf_counter()
    rl = richardson_lucy(np.clip(grey, 1e-6, 1), k, num_iter=rl_iter, clip=False)
    t_rl = time.perf_counter() - t
    rl_30 = richardson_lucy(np.clip(grey, 1e-6, 1), k, num_iter=30, clip=False)
    print(f"blind estimate: {blind:.1f} s (search {t_search:.1f} s found radius {radius:g} px; Alg. 2 "
          f"{t_loop:.1f} s), {ffts} FFTs of the padded layer; PSNR {score(grey):.2f} -> {score(res.u):.2f} dB")
    print(f"Richardson-Lucy, true kernel, {rl_iter} iterations (the same {6 * rl_iter} FFTs): {t_rl:.1f} s, "
          f"PSNR {score(rl):.2f} dB (30 iterations: {score(rl_30):.2f} dB)")
    print(f"ratio blind / RL at equal FFTs: {blind / t_rl:.2f}")
    print(f"goal <= 20 s for the blind estimate of one layer: {'met' if blind <= 20 else 'not met'} ({blind:.1f} s)")
    t = time.perf_counter()
    out = db.deblur(blurred, labels=mask.astype(np.int64), progress=False)
    t_all = time.perf_counter() - t
    print(f"whole colour deblur (estimate + 3 channels restored + composition): {t_all:.1f} s, "
          f"PSNR {psnr(sharp[inner], out.image[inner], data_range=1):.2f} dB "
          f"(blurred {psnr(sharp[inner], blurred[inner], data_range=1):.2f} dB)")


if __name__ == "__main__":
    with record(__file__):
        main()
