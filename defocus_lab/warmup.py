"""Compile the numba kernels of the common paths into numba's on-disk cache, once.

The kernels compile lazily (``cache=True``): without this, the first defocus map after an
install pays ~20 s of compilation on a 2-core machine. ``make install`` runs
``defocus-lab warmup`` so that the first notebook starts warm; a later change of the sources
recompiles only what changed, lazily, as before.
"""
from __future__ import annotations

import time

import numpy as np


def warmup(verbose: bool = True) -> float:
    """Run each compiled path once on a tiny image; returns the seconds it took."""
    from .data import load_image
    from .pipeline import estimate_defocus
    from .kernels.bilateral import sparse_bilateral
    from .propagate import domain_transform, matting
    from .render import lens_blur

    t = time.perf_counter()
    img = load_image("coffee")[100:196, 200:328]
    dense, sparse = estimate_defocus(img)  # Zhuo & Sim: ratio, bilateral, Laplacian, multigrid
    sparse_bilateral(sparse.values, sparse.mask, img, sigma_s=12.0, sigma_r=0.1, method="grid")  # photo size
    matting(img, sparse, downsample=2)  # decimation, guided upsampling
    estimate_defocus(img, method="kriener2013")  # Scharr, guided smoothing, matrix-free CG
    matting(img.mean(axis=2), sparse, preconditioner="multigrid")
    domain_transform(img, sparse.replace(depth_edges=sparse.mask))  # Karaali 2022
    ramp = np.broadcast_to(np.linspace(0.0, 20.0, img.shape[1]), img.shape[:2])
    lens_blur(img, ramp, coarse=True)  # magnification: layers by row steps, on halved copies from radius 16
    lens_blur(img.mean(axis=2), ramp, coarse=True)
    estimate_defocus(img, method="galetto2022")  # patch mean, WGIF (guide and map)
    from .apps.deblur import deblur_layer, u_step
    grey = img.mean(axis=2)
    layer = np.zeros(grey.shape, bool)
    layer[:, 64:] = True  # the deblurring: fused ADMM steps, direct framelets, the k-step
    deblur_layer(grey, layer, kernel_size=7, iterations=1, k0=np.full((3, 3), 1 / 9))
    u_step(grey, np.full((3, 3), 1 / 9), prior="tv", iterations=1)
    seconds = time.perf_counter() - t
    if verbose:
        print(f"defocus_lab: kernels compiled and cached in {seconds:.1f} s")
    return seconds


if __name__ == "__main__":  # pragma: no cover
    warmup()
