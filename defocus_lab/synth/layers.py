"""Ground truth for the deblurring paper: sharp photos cut into depth layers, each layer blurred
by a known kernel with occlusion, plus noise; the true masks and kernels are kept.

The paper reports only pictures; the lab measures the method on pairs it can trust:

- scikit-image's motorcycle (an all-in-focus photo with a real disparity map): its layers are
  disparity bands (the nearest band in focus), so the layer boundaries are the scene's own;
- sharp photos of ``DEFOCUS_LAB_DATA`` (Kodak24, McMaster) with piecewise layers drawn as
  smooth blobs (synth.karaali.blob_mask), in focus in front.

Kinds of kernel: ``"disk"`` (a pillbox, rendered by the lab's occlusion-aware lens renderer
render.lens_blur, in sRGB values so that inside a layer the blur is exactly the convolution with
render.disk_kernel) and ``"pupil"`` (kernels.psf.pupil_kernel, a Gaussian-weighted disk, rendered
by :func:`render_layers`, the same far-to-near over-compositing with each layer's own kernel).
Noise: Gaussian, seeded.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve

from ..render import disk_kernel, lens_blur, pupil_kernel

KINDS = ("disk", "pupil")
PUPIL_SIGMA_RATIO = 9.0 / 11.5  # Fig. 4's pupil: disk diameter 23, Gaussian sigma 9


@dataclass
class LayeredScene:
    """A sharp image, its layered defocused rendering, the layer labels (0 in focus, larger
    farther), the kernel of each label (label 0: the 1x1 identity), the radii and the noise."""
    name: str
    sharp: np.ndarray
    blurred: np.ndarray
    labels: np.ndarray
    kernels: list
    radii: tuple
    kind: str
    noise: float


def layer_kernel(radius: float, kind: str = "disk") -> np.ndarray:
    """The true kernel of a layer of ``radius`` px: the disk, or the Gaussian pupil whose sigma
    keeps Fig. 4's ratio to the radius."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    if radius <= 0.5:
        return np.ones((1, 1))
    return disk_kernel(radius) if kind == "disk" else pupil_kernel(radius, PUPIL_SIGMA_RATIO * radius)


def render_layers(sharp, labels, kernels) -> np.ndarray:
    """Far to near (label descending), each layer's premultiplied colour and coverage convolved
    with its kernel and composited over what lies behind; the result divided by the coverage
    (render.lens_blur's compositing, with an arbitrary kernel per layer). Mirrored borders."""
    img = np.asarray(sharp, dtype=np.float64)
    planes = img if img.ndim == 3 else img[..., None]
    acc = np.zeros_like(planes)
    cov = np.zeros(planes.shape[:2])
    for lab in sorted(np.unique(labels))[::-1]:
        a = (labels == lab).astype(np.float64)
        k = kernels[lab]
        p = k.shape[0] // 2
        pre = np.concatenate([planes * a[..., None], a[..., None]], axis=2)
        if p:
            padded = np.pad(pre, ((p, p), (p, p), (0, 0)), mode="symmetric")
            pre = np.stack([fftconvolve(padded[..., c], k, mode="valid") for c in range(pre.shape[2])], axis=2)
        alpha = np.clip(pre[..., -1], 0.0, 1.0)
        acc = pre[..., :-1] + (1.0 - alpha)[..., None] * acc
        cov = alpha + (1.0 - alpha) * cov
    out = acc / np.maximum(cov, 1e-12)[..., None]
    return out if img.ndim == 3 else out[..., 0]


def layered_scene(sharp, labels, radii, *, kind: str = "disk", noise: float = 0.005, seed: int = 0,
                  name: str = "scene") -> LayeredScene:
    """Render ``sharp`` (H, W[, 3]) in [0, 1] with layer ``labels`` (H, W) int (0 in focus) blurred by
    the kernel of ``radii[label]`` px (radii[0] is ignored: in focus), then add Gaussian noise of
    std ``noise`` (seeded) and clip to [0, 1]."""
    sharp = np.asarray(sharp, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.shape != sharp.shape[:2]:
        raise ValueError(f"labels {labels.shape} and image {sharp.shape[:2]} must share a shape")
    n = int(labels.max()) + 1
    if len(radii) < n:
        raise ValueError(f"radii gives {len(radii)} values for {n} labels")
    kernels = [np.ones((1, 1))] + [layer_kernel(float(r), kind) for r in radii[1:n]]
    if kind == "disk":
        rmap = np.asarray([0.0] + [float(r) for r in radii[1:n]])[labels]
        blurred = lens_blur(sharp, rmap, depth=labels.astype(np.float64), linear=False, coarse=False, step=0.25)
    else:
        blurred = render_layers(sharp, labels, kernels)
    rng = np.random.default_rng(seed)
    blurred = np.clip(blurred + noise * rng.normal(size=blurred.shape), 0.0, 1.0)
    return LayeredScene(name, sharp, blurred, labels.astype(np.int64), kernels, tuple(float(r) for r in radii[:n]),
                        kind, float(noise))


def motorcycle_layers(scale: float = 0.5, bands: int = 3):
    """(sharp, labels) of the motorcycle: the left photo at ``scale`` and its disparity cut into
    ``bands`` equal-count bands, the nearest (largest disparity) label 0; small specks of a band
    inside another are merged by a 5 px median of the labels."""
    from ..data import load_stereo_motorcycle
    from skimage.transform import rescale
    left, _, disp = load_stereo_motorcycle()
    if scale != 1:
        left = np.clip(rescale(left, scale, channel_axis=2, anti_aliasing=True), 0, 1)
        disp = rescale(disp, scale, anti_aliasing=False, order=0)
    edges = np.quantile(disp, np.linspace(0, 1, bands + 1)[1:-1])
    labels = (bands - 1) - np.digitize(disp, edges)
    labels = ndi.median_filter(labels, size=5)
    return left, labels


def blob_layers(shape, bands: int = 2, seed: int = 0):
    """Piecewise layers for a photo with no depth: a blob in front (label 0) and, for 3 bands, a
    second blob behind it (label 1), the rest the far layer."""
    from .karaali import blob_mask
    labels = np.full(shape, bands - 1, dtype=np.int64)
    if bands >= 3:
        labels[blob_mask(shape, seed=seed + 1, size=0.45)] = 1
    labels[blob_mask(shape, seed=seed, size=0.3)] = 0
    return labels


def half_scene(sharp, radius: float, *, kind: str = "disk", noise: float = 0.005, seed: int = 0,
               name: str = "half") -> LayeredScene:
    """The scene of the photo deblurring's goal: the left half of ``sharp`` in focus (label 0), the
    right half blurred by the kernel of ``radius`` px (label 1), noise ``noise`` (seeded)."""
    sharp = np.asarray(sharp, dtype=np.float64)
    labels = np.zeros(sharp.shape[:2], dtype=np.int64)
    labels[:, sharp.shape[1] // 2:] = 1
    return layered_scene(sharp, labels, (0, radius), kind=kind, noise=noise, seed=seed, name=name)
