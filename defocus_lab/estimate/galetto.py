"""Galetto & Deng (2022): blur by classifying whole 32x32 patches (Sec. 3.2, Eqs. 6-7).

A sliding window cuts the grey image into 32x32 patches ``stride`` px apart; the classifier
(:mod:`defocus_lab.models.mobilenet`, 20 classes: Gaussian sigma 0..19 px) labels each patch,
and each pixel takes the mean of the classes of every patch that covers it (Eq. 6). The result
is dense but coarse: a blocky map of Gaussian sigma in px, which a refinement (a propagator)
makes follow the image's edges.

- Grid: the image is padded symmetrically (by ``32 - stride`` before each axis, and after it
  what the last patch needs) and the patches' corners step by ``stride`` from the padded
  corner, so that, when ``stride`` divides 32, every pixel is covered by the same
  (32 / stride)^2 patches (the authors' demo pads its border patches symmetrically too).
- Eq. 6 as a sum over a difference array: each patch adds its class over its 32x32 square by
  four corner steps, two cumulative sums give every pixel's total, the same with ones gives the
  count (linear in the pixels whatever the stride).
- ``variant="paper"``: the mean of the classes (Eq. 6). ``"demo"``: the authors' demo code,
  ``max(class - 1, 0)`` averaged, after a 3x3 Gaussian (sigma 1) pre-denoising of the image.
- Each patch is classified on its own, exactly as in training (the network's zero padding is the
  patch's border), in batches.
- Photo size (the lab's rule, not the paper's): above ``max_pixels`` (default 1 MP, about the
  paper's 1000x700 photos) the patches are cut from a copy scaled by f = sqrt(max_pixels / N).
  The classifier reads blur in its own pixels, so a class c read on the copy is a blur of
  about c / f photo px: :func:`class_sigma` converts each patch's class to photo px (removing
  in quadrature the copy's own anti-aliasing blur, (1 - f) / 2 copy px) before Eq. 6, and the
  map is brought back to the photo's size bilinearly. On a 12 MP photo (f = 0.29) the classes
  then step by 3.5 px up to 66 px, where the photo itself would saturate at 19 px and cost
  12 times the patches. The refinement runs on the photo itself.
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .._validate import as_image, check_int
from ..types import Method

PATCH = 32
VARIANTS = ("paper", "demo")
MAX_PIXELS = 1_000_000  # the photo-size rule's default (module docstring)


def copy_scale(shape, max_pixels: int = MAX_PIXELS) -> float:
    """The scale of the copy the patches are cut from: 1 up to ``max_pixels`` pixels, else
    sqrt(max_pixels / pixels)."""
    n = int(shape[0]) * int(shape[1])
    return 1.0 if n <= max_pixels else float(np.sqrt(max_pixels / n))


def class_sigma(classes, scale: float) -> np.ndarray:
    """Gaussian sigma in photo px of patch classes read on a copy scaled by ``scale`` (<= 1):
    sqrt(max(c^2 - a^2, 0)) / scale with a = (1 - scale) / 2, the copy's own anti-aliasing blur
    (scikit-image's resize, in copy px). The identity at scale 1.

    >>> class_sigma([0, 1, 5], 1.0).tolist()
    [0.0, 1.0, 5.0]
    >>> [round(float(v), 2) for v in class_sigma([0, 1, 5], 0.25)]
    [0.0, 3.71, 19.94]
    """
    c = np.asarray(classes, dtype=np.float64)
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1]; got {scale!r}")
    if scale == 1:
        return c
    a = (1.0 - scale) / 2.0
    return np.sqrt(np.maximum(c * c - a * a, 0.0)) / scale


def patch_grid(shape, stride: int, size: int = PATCH):
    """(pad, ys, xs): the symmetric padding before each axis and the patches' top-left corners
    (in the padded image) along each axis: every multiple of ``stride`` up to the last that still
    covers the image's last pixel, so that a pixel is under every patch of the grid that can
    cover it ((size / stride)^2 of them when ``stride`` divides ``size``). The padding after an
    axis is what its last patch needs (:func:`pad_after`)."""
    stride = check_int(stride, "stride", minimum=1)
    if stride > size:
        raise ValueError(f"stride must be at most the patch size ({size}) so that every pixel is covered; "
                         f"got {stride}")
    pad = size - stride
    axes = [np.arange(0, (n - 1 + pad) // stride * stride + 1, stride) for n in shape[:2]]
    return pad, axes[0], axes[1]


def pad_after(n: int, pad: int, corners, size: int = PATCH) -> int:
    """Padding after an axis of ``n`` pixels for its last patch (corner ``corners[-1]``)."""
    return int(corners[-1]) + size - n - pad


def patch_mean(classes: np.ndarray, ys, xs, shape, pad: int, size: int = PATCH) -> np.ndarray:
    """Eq. 6: each pixel of the (H, W) image the mean of ``classes`` (len(ys), len(xs)) over the
    patches (corners ``ys`` x ``xs`` in the image padded by ``pad``) that cover it."""
    H, W = shape[:2]
    Hp, Wp = int(ys[-1]) + size, int(xs[-1]) + size
    tot = np.zeros((Hp + 1, Wp + 1))
    cnt = np.zeros((Hp + 1, Wp + 1))
    c = np.asarray(classes, dtype=np.float64)
    Y, X = np.meshgrid(ys, xs, indexing="ij")
    for dy, dx, sign in ((0, 0, 1.0), (size, 0, -1.0), (0, size, -1.0), (size, size, 1.0)):
        np.add.at(tot, (Y + dy, X + dx), sign * c)
        np.add.at(cnt, (Y + dy, X + dx), sign)
    tot = tot.cumsum(0).cumsum(1)[pad:pad + H, pad:pad + W]
    cnt = cnt.cumsum(0).cumsum(1)[pad:pad + H, pad:pad + W]
    return tot / np.maximum(np.rint(cnt), 1.0)


def grey_for_patches(image, variant: str = "paper") -> np.ndarray:
    """The classifier's input: BT.601 grey in [0, 1] (``variant="demo"``: after a 3x3 Gaussian of
    sigma 1, the demo's pre-denoising)."""
    from scipy import ndimage as ndi

    from ..synth.patches import to_grey
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}; got {variant!r}")
    g = to_grey(image)
    if variant == "demo":
        g = ndi.gaussian_filter(g, 1.0, truncate=1.0, mode="nearest")
    return g


def padded_for_patches(grey: np.ndarray, stride: int):
    """(padded, pad, ys, xs): ``grey`` padded symmetrically for the grid of :func:`patch_grid`."""
    pad, ys, xs = patch_grid(grey.shape, stride)
    after = (pad_after(grey.shape[0], pad, ys), pad_after(grey.shape[1], pad, xs))
    return np.pad(grey, ((pad, after[0]), (pad, after[1])), mode="symmetric"), pad, ys, xs


def patch_windows(padded: np.ndarray, ys, xs, stride: int) -> np.ndarray:
    """(len(ys), len(xs), 32, 32): a view of every patch of the grid in an array padded by
    :func:`padded_for_patches` (or any array of its shape: a filtered copy)."""
    from numpy.lib.stride_tricks import sliding_window_view
    return sliding_window_view(padded, (PATCH, PATCH))[::stride, ::stride][:len(ys), :len(xs)]


BATCH = 512  # patches per forward pass, channels-last (benchmarks/bench_galetto.py times it against 1024 in the default layout)


def classify_patches(grey: np.ndarray, net, stride: int = 16, *, batch: int = BATCH, progress=None,
                     device="auto"):
    """(classes (ny, nx) int64, probabilities (ny, nx, C) float32, pad, ys, xs): every patch of
    the sliding window of ``grey`` classified by ``net`` (in eval mode, no gradients), on
    ``device`` (:func:`~defocus_lab.models.device.resolve_device`), ``batch`` patches at a time
    there as on the CPU, in the channels-last layout (oneDNN's fast path for these small
    convolutions on a CPU; ``benchmarks/bench_galetto.py`` times it against the default layout)."""
    import torch

    from ..models.device import on_device, resolve_device
    dev = resolve_device(device)
    net = on_device(net, dev)

    padded, pad, ys, xs = padded_for_patches(np.asarray(grey, dtype=np.float32), stride)
    flat = patch_windows(padded, ys, xs, stride).reshape(-1, PATCH, PATCH)
    n = len(flat)
    probs = np.empty((n, net.config["classes"]), np.float32)
    net.eval()
    steps = range(0, n, batch)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc="classifying patches", unit="batch")
    with torch.inference_mode():
        for a in steps:
            x = torch.from_numpy(np.ascontiguousarray(flat[a:a + batch])[:, None]).to(dev)
            x = x.contiguous(memory_format=torch.channels_last)
            probs[a:a + batch] = torch.softmax(net(x), dim=1).cpu().numpy()
    probs = probs.reshape(len(ys), len(xs), -1)
    return probs.argmax(-1), probs, pad, ys, xs


def galetto2022(image, *, edges=None, stride: int = 16, variant: str = "paper", weights="self-trained",
                batch: int = BATCH, max_pixels: int = MAX_PIXELS, progress=None, device="auto"):
    """Galetto & Deng's patch-classification estimate: a dense, blocky map of Gaussian sigma
    (px, 0..19) as a :class:`~defocus_lab.types.SparseBlur` with ``mask`` all True (module
    docstring). Its preset refines it with :func:`defocus_lab.propagate.wgif.wgif`.

    Parameters
    ----------
    image : ndarray (H, W, 3) or (H, W), at least 32 px a side is not needed (borders are padded)
    edges : None
        Not used: the method classifies patches, not edges (an edge map is refused).
    stride : int
        Sliding-window step (px, <= 32): 16 in the paper, 4 for small images, 32 for large.
    variant : {"paper", "demo"}
        Eq. 6's mean of the classes, or the authors' demo (pre-denoised, max(class - 1, 0)).
    weights : "self-trained" or path
        The classifier (:func:`defocus_lab.models.mobilenet.load_classifier`).
    max_pixels : int
        Above this many pixels the patches are cut from a copy of this size and their classes
        converted to the photo's px (module docstring; default 1 MP). ``None``: always the photo
        itself (a 12 MP photo then takes 12 times the patches and reads at most 19 px).
    batch : int
        Patches classified at a time (bounds the memory).
    progress : bool or None
        A tqdm bar over the batches of patches (None or False: no bar).
    device : "auto", "cpu", "cuda", ...
        Where the classifier runs (CUDA when present; ``batch`` patches at a time there too).

    Returns
    -------
    SparseBlur
        Units "sigma", ``mask`` all True: the blocky map of the patches' classes.

    Raises
    ------
    ValueError
        An edge map given, a stride outside 1..32, an unknown variant or device.

    Examples
    --------
    >>> from defocus_lab.data import load_image, working_copy
    >>> image, _ = working_copy(load_image("coffee"), 96)
    >>> sb = galetto2022(image, stride=8)
    >>> sb.units, bool(sb.mask.all()), bool(0 <= sb.values.min() <= sb.values.max() <= 19)
    ('sigma', True, True)
    """
    from ..models.device import resolve_device
    from ..models.mobilenet import load_classifier
    from ..types import SparseBlur

    if edges is not None:
        raise ValueError("galetto2022 classifies whole patches and takes no edge map: drop edges=")
    device = resolve_device(device)  # refused before any work
    if max_pixels is not None:
        max_pixels = check_int(max_pixels, "max_pixels", minimum=PATCH * PATCH * 16)
    img = as_image(image, copy=False)
    grey = grey_for_patches(img, variant)
    net = load_classifier(weights)
    from skimage.transform import resize
    f = 1.0 if max_pixels is None else copy_scale(grey.shape, max_pixels)
    work = grey
    if f < 1:
        shape = (max(1, round(grey.shape[0] * f)), max(1, round(grey.shape[1] * f)))
        work = resize(grey, shape, order=1, anti_aliasing=True, mode="reflect")
    classes, _, pad, ys, xs = classify_patches(work, net, stride, batch=batch, progress=progress, device=device)
    if variant == "demo":
        classes = np.maximum(classes - 1, 0)
    dense = patch_mean(class_sigma(classes, f), ys, xs, work.shape, pad)
    if f < 1:
        dense = np.maximum(resize(dense, grey.shape, order=1, mode="edge"), 0.0)  # rounding: -1e-15 at 0
    return SparseBlur(dense, np.ones(grey.shape, bool), edges=None)


# The paper's refinement (r 16, eps 0.005, 7 guide iterations: the propagator's defaults).
# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
galetto2022.option_names = frozenset({"stride", "variant", "weights", "batch", "max_pixels", "device"})
METHOD = Method("galetto2022", galetto2022, "wgif", MappingProxyType({}), "Galetto & Deng 2022")
