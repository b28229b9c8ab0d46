"""The deblurring paper measured (notebook 03, tests/test_deblur_table.py and the closing note's
table): every method and ablation on the same layers of a ground-truth scene
(synth/layers.py), PSNR and SSIM (scikit-image) overall and inside each true layer.

Methods (:data:`METHODS`), each restoring every out-of-focus layer and composed the same way
(apps.deblur.compose):

- ``blurred``: the input itself;
- ``proposed``: the paper's blind scheme (apps.deblur.deblur_layer + restore_layer);
- ``no-symmetry``, ``no-low-rank``, ``no-c``: the paper's ablations (one constraint dropped);
- ``true-kernel``: the non-blind u-step (same prior, lambda and work) with the layer's true
  kernel: the upper bound on synthetic data;
- ``map-gaussian`` / ``map-disk``: the non-blind u-step with the kernel the map implies, a
  Gaussian of the layer's sigma or its moment-matched disk (apps.deblur.sigma_to_radius);
- ``rl-gaussian`` / ``wiener-gaussian``: scikit-image's Richardson-Lucy and unsupervised Wiener
  with that Gaussian, per layer.

With the true masks, the "map" is the truth: the sigma of layer i is the moment-matched sigma of
its true radius. With an estimated map (:func:`estimated_labels`) the layers come from
thresholding the estimate, and its median sigma in each layer is the map's kernel.
"""
from __future__ import annotations

import time

import numpy as np

from .._cache import cached
from .._validate import to_gray
from ..apps import deblur as db
from ..kernels.psf import gaussian_kernel
from ..render import disk_kernel

BLIND = {"proposed": {}, "no-symmetry": {"symmetric": False}, "no-low-rank": {"low_rank": False},
         "no-c": {"residual": False}}
NONBLIND = ("true-kernel", "map-gaussian", "map-disk", "rl-gaussian", "wiener-gaussian")
METHODS = ("blurred",) + tuple(BLIND) + NONBLIND
RL_ITERATIONS = 30  # Richardson-Lucy's iterations in the table (its own regularisation: stopping early)


def _per_channel(img, mask, k, solve):
    """``solve(fp, mp, k)`` on the layer's padded grid, every channel (apps.deblur.on_layer_grid)."""
    return db.on_layer_grid(img, mask, k.shape[0], lambda fp, mp, grid: solve(fp, mp, k))


def _odd_box(k, d):
    return db.embed_kernel(k, d) if k.shape[0] < d else k


def nonblind(img, mask, k, *, lam1: float = db.LAM1, iterations: int = 200, prior: str = "framelet"):
    """The u-step alone with the kernel ``k`` (every channel), on the layer's padded grid."""
    return _per_channel(img, mask, k, lambda fp, mp, kk: db.u_step(fp, kk, mp, lam=lam1, prior=prior,
                                                                  iterations=iterations))


def richardson_lucy(img, mask, k, *, iterations: int = RL_ITERATIONS):
    """scikit-image's Richardson-Lucy on the layer's padded grid (the whole box is data: RL has
    no mask)."""
    from skimage.restoration import richardson_lucy as rl
    return _per_channel(img, mask, k, lambda fp, mp, kk: rl(np.clip(fp, 1e-6, 1), kk, num_iter=iterations,
                                                            clip=False))


def wiener(img, mask, k, *, seed: int = 0):
    """scikit-image's unsupervised Wiener (its Gibbs sampler seeded) on the layer's padded grid."""
    from skimage.restoration import unsupervised_wiener
    return _per_channel(img, mask, k, lambda fp, mp, kk: unsupervised_wiener(
        fp, kk, clip=False, rng=np.random.default_rng(seed))[0])


def scores(sharp, restored, labels) -> dict:
    """PSNR (dB) and SSIM of ``restored`` against ``sharp``: overall and inside each true layer."""
    from skimage.metrics import peak_signal_noise_ratio as psnr
    from skimage.metrics import structural_similarity as ssim
    restored = np.clip(restored, 0, 1)
    ch = 2 if sharp.ndim == 3 else None
    out = {"psnr": float(psnr(sharp, restored, data_range=1.0)),
           "ssim": float(ssim(sharp, restored, data_range=1.0, channel_axis=ch))}
    _, smap = ssim(sharp, restored, data_range=1.0, channel_axis=ch, full=True)
    smap = smap.mean(axis=2) if smap.ndim == 3 else smap
    for lab in np.unique(labels):
        m = labels == lab
        out[f"psnr_{lab}"] = float(psnr(sharp[m], restored[m], data_range=1.0))
        out[f"ssim_{lab}"] = float(smap[m].mean())
    return out


def run_method(name: str, scene, labels, *, sigmas: dict, options: dict | None = None, blur_map=None):
    """The restored image of ``scene.blurred`` by method ``name`` on ``labels``; ``sigmas`` maps a
    label to the sigma the map gives it. ``blur_map``: the estimated map the labels come from; the
    blind methods' disk search then stays near its disk, as ``deblur`` does for a photo
    (apps.deblur.map_radii); None (the true masks) runs the paper's plain search. Returns (image,
    dict of what ran: seconds, and for the blind methods the kernel and radius found per label)."""
    options = dict(options or {})
    img = scene.blurred
    t0 = time.perf_counter()
    info = {}
    if name == "blurred":
        return img.copy(), {"seconds": 0.0}
    d = options.get("kernel_size", db.KERNEL_SIZE)
    restored = {}
    for lab in [int(v) for v in np.unique(labels) if v > 0]:
        mask = labels == lab
        sigma = float(sigmas[lab])
        if name in BLIND:
            opts = {k: v for k, v in {**options, **BLIND[name]}.items() if k != "feather"}
            if blur_map is not None:
                opts["blur_map"] = blur_map
            elif opts.get("k0") == "map":
                opts["blur_map"] = np.where(mask, sigma, 0.0)
            lr = db.deblur_layer(to_gray(img) if img.ndim == 3 else img, mask, **opts)
            restored[lab] = db.restore_layer(img, mask, lr)
            info[lab] = {"k": lr.k, "radius0": lr.radius0, "r0": lr.history[-1]["r0"],
                         "c_pixels": lr.history[-1]["c_pixels"]}
            continue
        if name == "true-kernel":
            true = scene.kernels[lab] if lab < len(scene.kernels) else None
            if true is None or true.shape[0] > d:
                raise ValueError(f"no true kernel that fits {d}x{d} for label {lab}")
            k = _odd_box(true, d)
        elif name in ("map-gaussian", "rl-gaussian", "wiener-gaussian"):
            k = gaussian_kernel(sigma, d)
        elif name == "map-disk":
            k = _odd_box(disk_kernel(min(float(db.sigma_to_radius(sigma)), d // 2)), d)
        else:
            raise ValueError(f"method must be one of {METHODS}; got {name!r}")
        lam1 = options.get("lam1", db.LAM1)
        if name == "rl-gaussian":
            restored[lab] = richardson_lucy(img, mask, k)
        elif name == "wiener-gaussian":
            restored[lab] = wiener(img, mask, k)
        else:
            restored[lab] = nonblind(img, mask, k, lam1=lam1)
    out = db.compose(img, labels, restored, feather=options.get("feather", 2.0))
    info["seconds"] = time.perf_counter() - t0
    return out, info


def true_sigmas(scene) -> dict:
    """Label -> the moment-matched sigma of the layer's true radius (the perfect map)."""
    return {lab: float(db.radius_to_sigma(r)) for lab, r in enumerate(scene.radii)}


def estimated_labels(scene, method: str = "zhuo2011"):
    """(labels, sigmas, map): the scene's layers as `defocus-lab deblur` finds them: the lab's
    ``method`` map (sigma px) cut into as many layers as the truth has by multi-level Otsu
    (apps.deblur.layers_from_map). Not at the midpoints of the true sigmas: the estimators'
    sigma is an edge-profile fit, not the kernel's second moment (Zhuo & Sim reads 1.0 and 1.6 px
    for the 3 and 6 px disks of the motorcycle at 0.4 scale), and midpoints put half of the
    in-focus layer into the blurred ones (51 % agreement against 50-65 % with Otsu, which keeps
    87-97 % of the in-focus layer; measured by benchmarks/table_deblur.py's first lines)."""
    from ..pipeline import estimate_defocus
    bm, _ = estimate_defocus(scene.blurred, method=method, units="sigma")
    n = len(scene.radii)
    labels = db.layers_from_map(bm, n_layers=n)
    levels = sorted(true_sigmas(scene).values())
    sig = {lab: (float(np.median(bm[labels == lab])) if np.any(labels == lab) else levels[lab]) for lab in range(n)}
    return labels, sig, bm


@cached()
def table(scene, *, methods=METHODS, labels=None, sigmas=None, blur_map=None, options: dict | None = None) -> dict:
    """method -> scores (:func:`scores`, against the true layers) and seconds, on ``labels``
    (default the true ones) with the map's ``sigmas`` (default the true ones); ``blur_map``, the
    estimated map behind ``labels`` (:func:`run_method`)."""
    labels = scene.labels if labels is None else labels
    sigmas = true_sigmas(scene) if sigmas is None else sigmas
    rows = {}
    for name in methods:
        img, info = run_method(name, scene, labels, sigmas=sigmas, options=options, blur_map=blur_map)
        rows[name] = {**scores(scene.sharp, img, scene.labels), "seconds": info["seconds"]}
        rows[name]["kernels"] = {lab: v for lab, v in info.items() if lab != "seconds"}
    return rows


PHOTO_BASELINES = ("true-kernel", "rl-gaussian", "wiener-gaussian")


@cached()
def photo_table(scene, *, estimators=("zhuo2011", "kriener2013", "karaali2022", "galetto2022"),
                baselines=PHOTO_BASELINES) -> dict:
    """The photo deblurring (apps.restore.restore_photo, what `defocus-lab deblur` runs) measured on
    ``scene``: one row per estimator of the registry whose map it is given (``"<name> map"``), one
    with the true layers (``"true layers"``, the bound of a perfect map), and the ``baselines`` on
    the true layers with the true kernel or its moment-matched Gaussian (:func:`run_method`).
    Each row: :func:`scores` of the result and their gains over the input (``gain_psnr``,
    ``gain_psnr_<label>``, ``gain_ssim``, ``gain_ssim_<label>``), the disk radii found and the
    seconds (map and restoration). An estimator that cannot run here (its data missing) gives a
    row with ``error``."""
    from ..apps.restore import restore_photo
    from ..pipeline import estimate_defocus
    base = scores(scene.sharp, scene.blurred, scene.labels)

    def row(img, seconds, radii=None):
        r = scores(scene.sharp, img, scene.labels)
        for key in list(r):
            r[f"gain_{key}"] = r[key] - base[key]
        r["seconds"] = seconds
        if radii is not None:
            r["radii"] = {str(k): float(v) for k, v in radii.items()}
        return r
    rows = {"blurred": row(scene.blurred, 0.0)}
    for name in estimators:
        t0 = time.perf_counter()
        try:
            bm, _ = estimate_defocus(scene.blurred, method=name, units="sigma")
        except Exception as exc:  # noqa: BLE001 - a missing data file or weight: the row says so
            rows[f"{name} map"] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        res = restore_photo(scene.blurred, bm, progress=False)
        rows[f"{name} map"] = row(res.image, time.perf_counter() - t0, res.radii)
    t0 = time.perf_counter()
    res = restore_photo(scene.blurred, labels=scene.labels, progress=False)
    rows["true layers"] = row(res.image, time.perf_counter() - t0, res.radii)
    sig = true_sigmas(scene)
    for name in baselines:
        img, info = run_method(name, scene, scene.labels, sigmas=sig)
        rows[name] = row(img, info["seconds"])
    return rows
