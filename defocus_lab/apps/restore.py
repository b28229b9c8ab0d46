"""Deblurring a user's photo without doing harm: what `defocus-lab deblur PHOTO` runs.

The paper's scheme (:func:`defocus_lab.apps.deblur.deblur`) trusts its layers: every pixel of a
"blurred" layer is deconvolved. With a map the lab estimates itself, layers cut by Otsu agree
with the truth on 50-65 % of the pixels, and every sharp pixel put in a blurred layer is damaged
(46 dB -> 24-28 dB, closing note of issue 14). :func:`restore_photo` keeps the paper's pieces (the
layers of the map, a disk kernel per layer, the u-step's framelet ADMM) and adds what a user's
photo needs:

1. **A kernel that cannot be "no blur" or "too much".** Each blurred layer's disk is read from
   its power spectrum (:func:`defocus_lab.apps.spectrum.layer_radius`, the median over the
   layer's windows). A layer measured under :data:`MIN_RADIUS` px is left as it is: so small a
   disk has its transfer function's dip at the highest frequencies, where the noise is, and its
   deconvolution amplifies noise more than it restores (measured: a layer read as 1 px, the
   astronaut's sharp half lost 17.9 dB). The median also means that a layer holding a minority
   of wrong windows keeps the majority's disk; a layer that is half wrong does not.
   ``refine=True`` then runs the paper's blind alternation (Alg. 2) from that disk.
2. **Do no harm: three vetoes, any one keeps the input.**
   - *The map*: only pixels of a blurred layer are offered a restoration (its rim feathered
     over :data:`FEATHER` px on the layer's own side, so that no restored pixel bleeds into the
     in-focus layer); the in-focus layer is not, unless its window shows positive spectral
     evidence of the layer's blur (below).
   - *The re-blur check*: the restored image re-blurred by its kernel must explain the input:
     e(x) = G_3 * (k * u - f)^2 / (sigma^2 + GAMMA a(x)) <= :data:`GATE` (a soft ramp from 1.5
     to 3), a(x) the local energy of the input's detail at the blur's scale. Sharp texture
     deconvolved by a disk cannot be re-blurred into itself: its energy at the disk's spectral
     zeros is not in k * u, and the misfit is a large share of the texture (measured on Kodak
     01-04 and the astronaut with half of the sharp half wrongly in the layer: e above 1.1 on
     90 % of those pixels). A truly blurred layer is explained to the noise, up to the l1
     prior's shrinkage of its strongest edges, which the share of a absorbs (e under 1.4 on
     90 % of the blurred pixels of Kodak; measured in noise units alone, the astronaut's blurred
     edges read up to 18 and were refused). GAMMA = 0.01: with a wrong map that puts 70 % of
     the sharp half in the blurred layer (the astronaut and Kodak 01, 03, 04, 2-6 px), the
     in-focus half keeps within -0.05 dB at 0.01 and falls to -14.6 dB at 0.02, for the same
     gain in the blurred half (+3.7 dB). The check runs twice: a first grey pass says which
     pixels of the layer the kernel explains, and only those are data for the colour restoration
     (the paper's masked model, with the mask the evidence gives: a wrong pixel left in the data
     rings into its neighbours, as the residual c of the paper is meant to prevent); the second
     pass's check, eroded by the kernel's radius, weighs the blend.
   - *The local spectrum*: a 32 px window whose spectrum is clearly sharper than the kernel
     vetoes the pixels it covers: it holds detail above the noise and its Whittle log-likelihood
     ratio for "sharper than the kernel" exceeds :data:`SHARP_SHARE` of what it says at all
     (its likelihood over white noise; :func:`defocus_lab.apps.spectrum.ratio`). One clearly
     blurred like the layer (a ratio below -:data:`EVIDENCE`) offers its centre to the layer
     even where the map said "in focus", when it is told apart from every disk up to the
     photo's own softness + 0.5 px (the disk of the in-focus layer, measured as a layer's), or
     half the layer's radius if more: a sharp photo's own softness (about a pixel) reads as the
     blur of a small layer disk, which half its radius does not tell apart. (Found on a photo of
     the held-out table, McMaster 1, whose in-focus half lost 0.69 dB to windows offered to a
     1.75 px layer, -0.02 dB with the rule; the rule costs nothing on the tuning scenes, but
     that photo is no longer a clean hold-out for it.) Flat windows say neither: there the map
     decides, and there a deconvolution changes little either way. The veto is read relative to
     the window's information because a window of one strong blurred edge can read "sharp" by a
     large absolute ratio: on the tuning scenes (Kodak 01-04, McMaster 2-4 and the astronaut,
     2-6 px, the Zhuo & Sim map) an absolute threshold of 50 refused a third of the astronaut's
     blurred half and cost 0.55 dB of mean gain; 200 let -0.03 dB through in the in-focus half;
     the share 0.1 keeps every in-focus half within -0.005 dB at 0.03 dB of mean gain below
     200's.
   The restored layers are blended into the input by these weights: out = f + sum_i w_i (u_i - f).
3. **The noise sets lambda_1.** sigma is read from the diagonal Haar detail of the grey image
   in the blurred layers' flattest blocks (:func:`noise_sigma`), and lambda_1 = :data:`LAM_NOISE` sigma^2 (a MAP weight of the l1 prior scales with the
   noise variance), clipped to :data:`LAM_RANGE`: 2e-4 at the synthetic scenes' noise (the
   lab's measured best, and the floor: a copy of a large photo averages its noise away, and the
   papers' flower read sigma 0.002 on its working copy, lambda_1 8e-5, whose restoration was
   speckled with amplified JPEG noise).
4. **Photo size.** The kernel is measured, and the deconvolution run, on a working copy of at
   most :data:`MAX_PIXELS` pixels whose largest layer radius is at most :data:`MAX_RADIUS` px (a
   copy is made smaller still when the first measure finds more). Above that size, the
   restoration's detail, w (u - f) of the copy, is brought back to the photo by bicubic
   interpolation and added to it: the photo keeps its own fine detail and noise, and its blurred
   parts gain the detail the copy recovered (edges as sharp as the copy's pixels). A 12 MP photo
   with a blur of tens of pixels is restored at about 1 MP, where its blur is a few pixels
   (``benchmarks/bench_photo_deblur.py`` measures the time and memory). The copy is halved again
   (up to three times) while a layer the map calls clearly blurred (median sigma at least 1 px
   and 1.5 times the in-focus layer's) reads as sharp: the spectrum of a photo that was upsampled,
   or is soft at this scale, ends at its own resolution, and that roll-off is what the windows
   fit (the papers' flower upsampled 1.44 times read 1 px in both layers; at its own size, 7.5 px
   in the blurred one). :data:`MAX_RADIUS` is 4 px because the spectral radius of a real
   photo's strongly blurred background is not stable above that: the flower's background read
   2.1 px on a 320 px copy, 7.5 on its 800 px original and 6 on a 396 px copy, and the restorations
   with 6-8 px disks (MAX_RADIUS 8 or 6) were blotched with ringing, while at 4 its 12 MP copy
   was restored with a 1.5 px disk on a 264 px copy, visibly sharper and without blotches. On
   the synthetic tuning scenes (2-6 px disks) it costs 0.14 dB of mean gain (their 6 px layers
   are restored on a 2/3 copy).

Measured in ``benchmarks/table_deblur.py`` on half-sharp scenes made from photos that were not
used to tune any of the numbers above (Kodak 01-04 were): see ``benchmarks/results/table_deblur.md``
and notebook 03.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .._cache import cached
from .._validate import as_image, check_int, check_positive, to_gray
from ..render import disk_kernel
from . import deblur as db
from .spectrum import EVIDENCE_WINDOW, INFORMATIVE, layer_radius, ratio, window_scores

MIN_RADIUS = 1.5  # px: a layer measured under this is not deconvolved (module docstring)
MAX_RADIUS = 4.0  # px: the largest layer radius the working copy may have (module docstring)
MAX_PIXELS = 1_000_000  # the working copy's size at most
LAM_NOISE = 20.0  # lambda_1 = LAM_NOISE sigma^2 (module docstring)
LAM_RANGE = (2e-4, 5e-3)  # lambda_1 is clipped to this range (module docstring)
NOISE_FLOOR = 0.002  # sigma at least this (8-bit quantisation and JPEG)
GATE = (1.5, 3.0)  # the re-blur check's ramp (reblur_error's units)
GAMMA = 0.01  # the share of the local detail's energy the re-blur misfit is measured against
EVIDENCE = 50.0  # the local spectrum's log-likelihood ratio that counts as evidence of blur
SHARP_SHARE = 0.1  # ... of a window sharper than the kernel: this share of its information (module docstring)
FEATHER = 2.0  # px: the Gaussian that softens the map's layers
ADMM_ITERATIONS = 50  # the u-step's iterations per colour channel


@dataclass
class RestoredPhoto:
    """What :func:`restore_photo` made: the restored ``image`` (the photo's size); on the working
    copy (``scale`` of the photo): the ``labels`` of the map, each deblurred label's ``radii``
    (disk px) and ``kernels``, the ``weights`` (H', W') with which the restoration was blended
    (0 where the input was kept), the ``noise`` sigma and the ``lam1`` used; ``skipped``: the
    labels left as they were and why; the ``seconds`` it took."""
    image: np.ndarray
    labels: np.ndarray
    radii: dict
    kernels: dict
    weights: np.ndarray
    scale: float
    noise: float
    lam1: float
    skipped: dict
    seconds: float


NOISE_BLOCK = 16  # 2x2 cells per side of the blocks of noise_sigma (32 px)
NOISE_QUANTILE = 0.2  # noise_sigma keeps this quantile of the blocks' estimates


def noise_sigma(grey, mask=None) -> float:
    """The noise's standard deviation, at least :data:`NOISE_FLOOR`: the diagonal Haar detail
    d = (a - b - c + d) / 2 of the 2x2 cells holds white noise of the same sigma, and in a block
    without fine texture median |d| / 0.6745 is sigma. Blocks of 32 px inside ``mask`` (all
    blocks when the mask holds fewer than 4) each give that estimate, and the
    :data:`NOISE_QUANTILE` of them is kept: a blurred layer of a 2 px disk still holds fine
    texture, which inflates the plain median over the layer (measured 2x on Kodak 01) and with it
    lambda_1."""
    g = np.asarray(grey, dtype=np.float64)
    H, W = g.shape
    g = g[: H // 2 * 2, : W // 2 * 2]
    d = np.abs(g[0::2, 0::2] - g[0::2, 1::2] - g[1::2, 0::2] + g[1::2, 1::2]) / 2
    inside = np.ones(d.shape, bool)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)[: H // 2 * 2, : W // 2 * 2]
        inside = m[0::2, 0::2] & m[0::2, 1::2] & m[1::2, 0::2] & m[1::2, 1::2]
    b = NOISE_BLOCK
    h, w = d.shape[0] // b, d.shape[1] // b
    if h == 0 or w == 0:
        return max(float(np.median(d)) / 0.6745, NOISE_FLOOR)
    blocks = d[: h * b, : w * b].reshape(h, b, w, b).transpose(0, 2, 1, 3).reshape(h * w, b * b)
    full = inside[: h * b, : w * b].reshape(h, b, w, b).all(axis=(1, 3)).ravel()
    use = blocks[full] if full.sum() >= 4 else blocks
    return max(float(np.quantile(np.median(use, axis=1), NOISE_QUANTILE)) / 0.6745, NOISE_FLOOR)


def _resize(img, shape, order: int = 1):
    from skimage.transform import resize
    return resize(img, tuple(shape) + img.shape[2:], order=order, anti_aliasing=order == 1 and shape[0] < img.shape[0],
                  mode="reflect", preserve_range=True)


def _labels_resized(labels, shape):
    if labels.shape == tuple(shape):
        return labels
    return _resize(labels.astype(np.float64), shape, order=0).astype(np.int64)


def restore_whole(image, k, *, lam1: float, iterations: int = ADMM_ITERATIONS) -> np.ndarray:
    """The u-step (framelet ADMM, :func:`defocus_lab.apps.deblur.u_step`) with kernel ``k`` over the
    whole image, every pixel data, every channel, borders mirrored by the padded grid: the plain
    deconvolution the vetoes are measured against (tests)."""
    return restore_masked(image, k, np.ones(np.asarray(image).shape[:2]), lam1=lam1, iterations=iterations)


def restore_masked(image, k, weights, *, lam1: float, iterations: int = ADMM_ITERATIONS) -> np.ndarray:
    """The u-step with kernel ``k`` whose data term counts pixel x with ``weights`` (H, W) in [0, 1]
    (the paper's masked model: u is free where the weight is 0, so that pixels the kernel does
    not explain do not ring into the others), every channel, on the padded grid of the pixels
    with a weight; elsewhere the input."""
    w = np.asarray(weights, dtype=np.float64)
    return db.on_layer_grid(image, w > 0, k.shape[0], lambda fp, mp, grid: db.u_step(
        fp, k, grid.pad(w, "zero"), lam=lam1, iterations=iterations))


def reblur_error(grey, restored_grey, k, sigma: float, radius: float) -> np.ndarray:
    """The re-blur check's local misfit: e = G_3 * (k * u - f)^2 / (sigma^2 + GAMMA a), with
    a = G_3 * (f - G_radius * f)^2 the local energy of the input's detail at the blur's scale
    (module docstring): in noise units where the input is flat, a share of the detail's energy
    where it is not."""
    g = np.asarray(grey, dtype=np.float64)
    reblur = ndi.convolve(np.asarray(restored_grey, dtype=np.float64), k, mode="mirror")
    detail = ndi.gaussian_filter((g - ndi.gaussian_filter(g, radius)) ** 2, 3.0)
    return ndi.gaussian_filter((reblur - g) ** 2, 3.0) / (sigma ** 2 + GAMMA * detail)


def gate(error, radius: float, *, erode: bool = True) -> np.ndarray:
    """The re-blur check's pass in [0, 1]: 1 for e <= GATE[0], 0 for e >= GATE[1], eroded by the
    kernel's radius (module docstring) unless ``erode`` is False."""
    lo, hi = GATE
    passed = np.clip((hi - error) / (hi - lo), 0.0, 1.0)
    if not erode:
        return passed
    return ndi.minimum_filter(passed, size=int(np.ceil(radius)) + 1, mode="nearest")


def spectral_votes(grey, radius: float, *, native: float = 0.0, threshold: float = EVIDENCE,
                   sharp_share: float = SHARP_SHARE, scores=None):
    """(sharp, blurred): pixel masks of the windows whose spectrum is clearly sharper than a disk
    of ``radius`` (the whole window: an informative window whose log-likelihood ratio for "sharper"
    is above ``sharp_share`` of its information) or clearly blurred like it (the window's central
    half: a ratio below -``threshold`` against every disk up to ``native`` + 0.5 px, the photo's
    own softness, or half the radius if more); :func:`defocus_lab.apps.spectrum.ratio`.
    ``scores``: the :func:`defocus_lab.apps.spectrum.window_scores` of ``grey`` at a step of half
    the window, when already measured (they do not depend on the radius)."""
    w = EVIDENCE_WINDOW
    shape = np.asarray(grey).shape
    if min(shape) < w:
        return np.zeros(shape, bool), np.zeros(shape, bool)
    ws = window_scores(grey, step=w // 2) if scores is None else scores
    sharp = (ws.info > INFORMATIVE) & (ratio(ws, radius) > sharp_share * ws.info)
    below = max(radius / 2, native + 0.5)
    blurred = ratio(ws, radius, below) < -threshold if below < radius else np.zeros_like(sharp)
    out = []
    for flags, side in ((sharp, w), (blurred, w // 2)):
        centres = np.zeros(shape, bool)
        iy, ix = np.nonzero(flags)
        centres[ws.ys[iy] + w // 2, ws.xs[ix] + w // 2] = True
        out.append(ndi.maximum_filter(centres, size=side) if flags.any() else centres)
    return out[0], out[1]


def _map_says_blurred(blur_map, labels, lab) -> bool:
    """Whether the map calls layer ``lab`` clearly blurred: its median sigma at least 1 px and 1.5
    times the in-focus layer's."""
    inside = blur_map[labels == lab]
    if inside.size == 0:
        return False
    focus = blur_map[labels == 0]
    base = float(np.median(focus)) if focus.size else 0.0
    return float(np.median(inside)) >= max(1.0, 1.5 * base)


def working_scale(shape, max_pixels: int = MAX_PIXELS) -> float:
    """The scale of the working copy: 1 up to ``max_pixels``, else sqrt(max_pixels / pixels)."""
    n = shape[0] * shape[1]
    return 1.0 if n <= max_pixels else float(np.sqrt(max_pixels / n))


@cached(ignore=("progress",))
def restore_photo(image, blur_map=None, *, labels=None, n_layers: int = 2, lam1: float | None = None,
                  refine: bool = False, iterations: int = db.ITERATIONS, max_radius: float = MAX_RADIUS,
                  progress: bool | None = None) -> RestoredPhoto:
    """The photo ``image`` (H, W[, 3]) deblurred where the evidence says it is blurred, kept where
    it does not (module docstring).

    ``blur_map``: a defocus map (sigma px) of the photo or of a smaller copy of it (its shape sets
    the working copy: :func:`defocus_lab.pipeline.all_in_focus` estimates it on a copy of at most
    :data:`MAX_PIXELS`), cut into ``n_layers`` by :func:`defocus_lab.apps.deblur.layers_from_map`;
    or ``labels`` ((H', W') int, 0 in focus) as given. ``lam1``: None takes the noise rule.
    ``refine``: run the paper's blind alternation (``iterations`` outer steps) from each layer's
    spectral disk. ``max_radius``: the largest layer radius (px) the working copy may hold;
    larger blur is measured on a smaller copy. ``progress``: a tqdm bar over the layers (None:
    above 1 MP)."""
    t0 = time.perf_counter()
    img = as_image(image)
    n_layers = check_int(n_layers, "n_layers", minimum=2)
    max_radius = check_positive(max_radius, "max_radius")
    if lam1 is not None:
        lam1 = check_positive(lam1, "lam1")
    if labels is None:
        if blur_map is None:
            raise ValueError("restore_photo needs blur_map (sigma px, of the photo or of a smaller copy) or labels; "
                             "defocus_lab.all_in_focus(image) estimates the map for you")
        bm = np.asarray(blur_map, dtype=np.float64)
        if bm.ndim != 2:
            raise ValueError(f"blur_map must be an (H, W) map; got shape {bm.shape}")
        labels = db.layers_from_map(bm, n_layers=n_layers)
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError("labels must be an (H, W) array of non-negative integers (0 = in focus)")
    shape = img.shape[:2]
    ratio = labels.shape[0] / shape[0]
    if labels.shape[0] > shape[0] or abs(labels.shape[1] / shape[1] - ratio) > 0.02:
        raise ValueError(f"the map/labels {labels.shape} must be the photo's shape {shape} or a smaller copy of it "
                         f"(same aspect ratio)")
    small = tuple(labels.shape)
    work = img if small == shape else np.clip(_resize(img, small), 0.0, 1.0)
    grey = to_gray(work) if work.ndim == 3 else work
    # measure every blurred layer's disk; shrink the copy while the largest is above max_radius, or while a
    # layer the map calls blurred reads as sharp (the spectrum of a soft or upsampled photo: module docstring)
    bm_work = None if blur_map is None else np.asarray(blur_map, dtype=np.float64)
    radii, skipped = {}, {}
    for _ in range(4):
        radii, skipped = {}, {}
        for lab in [int(v) for v in np.unique(labels) if v > 0]:
            try:
                r, _ = layer_radius(grey, labels == lab)
            except ValueError as exc:
                skipped[lab] = str(exc)
                continue
            if r < MIN_RADIUS:
                skipped[lab] = f"measured {r:g} px: not blurred"
            else:
                radii[lab] = r
        top = max(radii.values(), default=0.0)
        f = 1.0
        if top > max_radius:
            f = max_radius / top
        elif bm_work is not None and any(_map_says_blurred(bm_work, labels, lab) for lab in skipped):
            f = 0.5
        f = max(f, 128 / min(grey.shape))
        if f >= 1.0:
            break
        small = (max(1, round(grey.shape[0] * f)), max(1, round(grey.shape[1] * f)))
        work = np.clip(_resize(work, small), 0.0, 1.0)
        grey = to_gray(work) if work.ndim == 3 else work
        labels = _labels_resized(labels, small)
        if bm_work is not None:
            bm_work = _resize(bm_work, small, order=1) * f  # sigma in the smaller copy's pixels
    blurred_px = np.isin(labels, list(radii)) if radii else labels > 0
    sigma = noise_sigma(grey, blurred_px)
    lam = float(np.clip(LAM_NOISE * sigma ** 2, *LAM_RANGE)) if lam1 is None else lam1
    show = progress if progress is not None else shape[0] * shape[1] > 1_000_000
    bar = None
    if show and radii:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(radii), desc="deblurring layers", unit="layer")
    target = labels.copy()
    try:  # the photo's own softness: the disk of its in-focus layer
        native = layer_radius(grey, labels == 0)[0] if (labels == 0).any() else 0.0
    except ValueError:
        native = 0.0
    scores = window_scores(grey, step=EVIDENCE_WINDOW // 2) if radii and min(grey.shape) >= EVIDENCE_WINDOW else None
    votes = {lab: spectral_votes(grey, r, native=native, scores=scores) for lab, r in radii.items()}
    for lab in sorted(radii):  # the in-focus layer's windows that show this layer's blur
        target[(labels == 0) & votes[lab][1]] = lab
    weights = np.zeros(grey.shape)
    detail = np.zeros_like(work)
    kernels = {}
    try:
        for lab, r in sorted(radii.items()):
            k = disk_kernel(r)
            if refine:
                d = max(db.KERNEL_SIZE, 2 * int(np.ceil(r)) + 3) | 1
                layer = db.deblur_layer(grey, target == lab, k0=k, kernel_size=d, iterations=iterations, lam1=lam)
                k = layer.k
            kernels[lab] = k
            inside = target == lab
            # pass 1 (grey): which pixels of the layer the kernel explains; pass 2 (colour): only those are data
            first = restore_masked(grey, k, inside, lam1=lam)
            data = inside * gate(reblur_error(grey, first, k, sigma, r), r, erode=False)
            u = restore_masked(work, k, data, lam1=lam) if data.any() else work
            ugrey = to_gray(u) if u.ndim == 3 else u
            w = ndi.gaussian_filter(inside.astype(np.float64), FEATHER) * inside  # feathered on the layer's side only
            w *= gate(reblur_error(grey, ugrey, k, sigma, r), r)
            w *= 1.0 - ndi.gaussian_filter(votes[lab][0].astype(np.float64), FEATHER)
            weights += w
            detail += (w[..., None] if work.ndim == 3 else w) * (u - work)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if small == shape:
        out = work + detail
    else:
        out = img + _resize(detail, shape, order=3)
    return RestoredPhoto(np.clip(out, 0.0, 1.0), labels, radii, kernels, np.clip(weights, 0.0, 1.0),
                         small[0] / shape[0], sigma, lam, skipped, time.perf_counter() - t0)
