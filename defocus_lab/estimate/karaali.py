"""Blur at edge pixels by B-NET, depth edges by E-NET (Karaali, Harte & Jung 2022, Sec. III).

Edges come from the authors' detector (Canny on the HSV hue channel, sigma sqrt(2), absolute
thresholds 0.05 / 0.06, scikit-image), a grey Canny with the same parameters, or a precomputed
map. E-NET calls each edge pixel a pattern or a depth edge; B-NET gives its blur class, a disk
radius 0.5 + 0.25 k px. The sparse blur keeps pattern edges only; the depth edges are handed to
the propagator (:func:`defocus_lab.propagate.domain_transform` stops at them).

Both networks run on every edge pixel through :func:`defocus_lab.models.karaali.edge_logits`
(dense shared convolutions over tiles of the image, then the head per edge pixel, in batches):
memory stays bounded however many edges there are (the authors' script builds one array of all
41x41 patches and runs out of 24 GB at 13k edges).

At photo size (above 0.52 MP) the networks classify a halved copy: see :func:`karaali2022`.

Decisions: a grey image is fed as three equal channels (the networks read RGB); an image with
no depth edge keeps all its edges (the authors' script divides by zero there).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .._validate import as_image, check_int, check_positive
from ..conventions import KARAALI_BLUR_LEVELS, KARAALI_PAD, KARAALI_PATCH, PHOTO_ABOVE_PIXELS, PHOTO_WORKING_PIXELS
from ..kernels.pyramid import photo_factor, shrink
from ..types import Method, SparseBlur
from ..edges import as_edge_map

log = logging.getLogger("defocus_lab")
SQRT2 = float(np.sqrt(2.0))
DETECTORS = ("hue", "grey")


def edge_map(image, *, detector: str = "hue", sigma: float = SQRT2, low: float = 0.05,
             high: float = 0.06) -> np.ndarray:
    """Canny edges as the authors compute them (``detector="hue"``) or on the grey image.

    Thresholds are absolute, on scikit-image's gradient magnitude of the smoothed channel
    (hue and grey both lie in [0, 1]). A grey image has no hue: it takes the grey detector
    whatever ``detector`` says.
    """
    from skimage import color, feature
    img = as_image(image)
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}; got {detector!r}")
    sigma = check_positive(sigma, "sigma")
    high = check_positive(high, "high")
    low = check_positive(low, "low", allow_zero=True)
    if low > high:
        raise ValueError(f"low ({low}) must not exceed high ({high})")
    if img.ndim == 2:
        chan = img
    elif detector == "hue":
        chan = color.rgb2hsv(img)[..., 0]
    else:
        chan = color.rgb2gray(img)
    return feature.canny(chan, sigma, low, high)


def extract_patches(image, ys, xs) -> np.ndarray:
    """The 41x41 RGB patches centred on (ys, xs), (N, 3, 41, 41) float32, image padded by 20 px
    with reflection (``numpy.pad(mode="symmetric")``), gathered without a Python loop."""
    img = _rgb(as_image(image)).astype(np.float32)
    pad = KARAALI_PAD
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    win = np.lib.stride_tricks.sliding_window_view(padded, (KARAALI_PATCH,) * 2, axis=(0, 1))
    return np.ascontiguousarray(win[np.asarray(ys), np.asarray(xs)])


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


@dataclass
class EdgeClassification:
    """B-NET and E-NET outputs at the edge pixels of one image.

    Attributes
    ----------
    ys, xs : int arrays (N,)
        The edge pixels.
    blur_logits : float32 (N, 23)
        B-NET logits; ``blur_probabilities`` is their softmax.
    edge_logits : float32 (N, 2)
        E-NET logits (column 1: depth edge).
    shape : (H, W)
    edges : bool (H, W)
    """
    ys: np.ndarray
    xs: np.ndarray
    blur_logits: np.ndarray
    edge_logits: np.ndarray
    shape: tuple
    edges: np.ndarray

    @property
    def blur(self) -> np.ndarray:
        """B-NET's class value (disk radius, px) per edge pixel."""
        return KARAALI_BLUR_LEVELS[np.argmax(self.blur_logits, axis=1)]

    @property
    def blur_probabilities(self) -> np.ndarray:
        return _softmax(self.blur_logits)

    @property
    def depth_probability(self) -> np.ndarray:
        """E-NET's probability that each edge pixel is a depth edge."""
        return _softmax(self.edge_logits)[:, 1]

    @property
    def is_depth(self) -> np.ndarray:
        """E-NET's decision (its arg-max: probability above 0.5)."""
        return self.edge_logits[:, 1] > self.edge_logits[:, 0]

    def sparse(self) -> SparseBlur:
        """SparseBlur in disk radius: values at pattern edges, raw values at every edge pixel."""
        H, W = self.shape
        raw = np.zeros((H, W))
        raw[self.ys, self.xs] = self.blur
        depth = np.zeros((H, W), bool)
        depth[self.ys, self.xs] = self.is_depth
        mask = self.edges & ~depth
        return SparseBlur(np.where(mask, raw, 0.0), mask, edges=self.edges, depth_edges=depth,
                          units="disk", raw_values=raw)


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def classify_edges(image, *, edges=None, detector: str = "hue", canny_sigma: float = SQRT2,
                   canny_low: float = 0.05, canny_high: float = 0.06, bnet="authors", enet="authors",
                   zero_branches=(), tile: int = 192, batch: int = 4096, progress=None,
                   download: bool = True, device="auto") -> EdgeClassification:
    """Run B-NET and E-NET at every edge pixel of ``image``.

    Parameters
    ----------
    image : ndarray (H, W, 3) (or grey), float in [0, 1] (uint8 is scaled)
    edges : ndarray (H, W), optional
        Precomputed edge map (bool, 0/1 or 0/255), e.g. the authors' RTF edge maps.
    detector, canny_sigma, canny_low, canny_high :
        The edge detector when ``edges`` is None (:func:`edge_map`).
    bnet, enet : "authors", a path to an .npz, or a :class:`~defocus_lab.models.MultiScaleNet`
        The networks (default: the paper's trained weights).
    zero_branches : tuple of str
        B-NET branches ("41", "27", "15") whose output is replaced by zeros (the multi-scale
        ablation); E-NET is left whole.
    tile, batch : int
        Memory bounds of :func:`~defocus_lab.models.karaali.edge_logits`.
    progress : bool or None
        A tqdm bar over the image tiles; None: shown when there are more than 100 000 edges.
    download : bool
        Allow downloading the authors' weights when they are not on this machine.
    device : "auto", "cpu", "cuda", ...
        Where the networks run (:func:`defocus_lab.models.device.resolve_device`: CUDA when
        present); the tile bound holds there too.

    Returns
    -------
    EdgeClassification
        The edge pixels and both networks' logits there; ``.sparse()`` turns them into the
        :class:`~defocus_lab.types.SparseBlur` of :func:`karaali2022`.

    Examples
    --------
    The lab's own trained networks (``data/karaali2022/``; ``"authors"``, the default, reads the
    paper's weights from ``DEFOCUS_LAB_DATA`` or downloads them):

    >>> from defocus_lab.data import load_image, working_copy
    >>> image, _ = working_copy(load_image("coffee"), 96)
    >>> ec = classify_edges(image, bnet="self-trained", enet="self-trained")
    >>> ec.blur_logits.shape == (len(ec.ys), 23), ec.edge_logits.shape[1]
    (True, 2)
    """
    from ..models.device import resolve_device
    from ..models.karaali import edge_logits, load_network
    device = resolve_device(device)  # a bad device is refused before the edges are found
    img = as_image(image, copy=False)  # only read
    tile = check_int(tile, "tile", minimum=16)
    batch = check_int(batch, "batch", minimum=1)
    if edges is None:
        # on the image as given: a grey image has no hue, and edge_map then uses the grey Canny
        e = edge_map(img, detector=detector, sigma=canny_sigma, low=canny_low, high=canny_high)
    else:
        e = as_edge_map(edges, img.shape[:2])
    img = _rgb(img)
    b = load_network(bnet, "bnet", download=download)
    n = load_network(enet, "enet", download=download)
    ys, xs = np.nonzero(e)
    bar = callback = None
    if progress or (progress is None and len(ys) > 100_000):
        from tqdm.auto import tqdm
        bar = tqdm(desc="B-NET/E-NET tiles", unit="tile")

        def _tick(done, total):
            bar.total = total
            bar.update(done - bar.n)
        callback = _tick
    try:
        lb, le = edge_logits(img, ys, xs, [b, n], zero_branches=[tuple(zero_branches), ()],
                             tile=tile, batch=batch, progress=callback, device=device)
    finally:
        if bar is not None:
            bar.close()
    return EdgeClassification(ys, xs, lb, le, img.shape[:2], e)


def karaali2022(image, *, edges=None, max_pixels: int | None = PHOTO_WORKING_PIXELS,
                photo_above: int | None = PHOTO_ABOVE_PIXELS, device="auto", **options) -> SparseBlur:
    """Sparse blur (disk radius, px) at the pattern edges, depth edges marked (Karaali et al. 2022).

    Takes the options of :func:`classify_edges`; ``device`` is where the networks run ("auto":
    CUDA when present, :func:`defocus_lab.models.device.resolve_device`). The SparseBlur's ``raw_values`` hold B-NET's
    value at every edge pixel, depth edges included; ``depth_edges`` marks E-NET's depth edges.

    Photo size: the networks cost ~16 us per pixel of the image on 2 cores (they run densely
    over every tile with an edge), 200 s for a 12 MP photo, and B-NET's classes stop at a disk
    radius of 6 px, which a photo's background blur passes at full resolution. Images of more
    than ``photo_above`` pixels (0.52 MP: every RTF, CUHK and DUT image is classified as it is)
    have their edges found and classified on a copy of at most ``max_pixels`` (0.26 MP;
    :data:`defocus_lab.conventions.PHOTO_SIZE`), f times smaller (f a power of two: 8 for 12 MP,
    16 for 24 MP; halved by Kriener's bicubic decimation), and the result is brought back as a
    full-resolution SparseBlur (:func:`to_full_resolution`): each classified pixel i of the copy
    gives its value times f at the pixel it sits on (f i), and a depth edge marks the
    copy pixel's whole f x f block, so that depth-edge lines stay closed for the domain
    transform. The cost: blur under about one pixel of the copy (f / 2 px at full resolution)
    cannot be told apart from sharp. ``max_pixels=None`` classifies every pixel of the photo;
    ``photo_above=None`` applies ``max_pixels`` at any size.
    A given ``edges`` map is brought to the copy (a copy pixel is an edge when its block holds
    one).

    Parameters
    ----------
    image : ndarray (H, W, 3) or (H, W)
        uint8, uint16 or float in [0, 1].
    edges : ndarray (H, W) bool, optional
        A precomputed edge map (default: Canny on the hue, the authors' choice).
    max_pixels : int or None
        The largest copy a photo is classified on (see above).
    photo_above : int or None
        Images of at most this many pixels are classified as they are.
    device : "auto", "cpu", "cuda", ...
        Where the networks run.
    **options
        The options of :func:`classify_edges` (``bnet``, ``enet``, ``detector``, ``tile``, ...).

    Returns
    -------
    SparseBlur
        Units "disk": blur as disk radius in pixels at the pattern edges, ``depth_edges`` and
        ``raw_values`` set.

    Raises
    ------
    defocus_lab.data.DataMissing
        The authors' weights are needed, not on this machine, and cannot be downloaded.

    References
    ----------
    A. Karaali, N. Harte, C. R. Jung, "Deep multi-scale feature learning for defocus blur
    estimation", IEEE Transactions on Image Processing 31, 2022.

    Examples
    --------
    With the authors' weights, ``karaali2022(image)`` (read from ``DEFOCUS_LAB_DATA`` or
    downloaded once); here with the lab's own trained networks, which ship with it:

    >>> from skimage import data as skdata
    >>> image = skdata.chelsea()[::4, ::4]
    >>> sb = karaali2022(image, bnet="self-trained", enet="self-trained")
    >>> sb.units, sb.shape, bool(sb.mask.any() and sb.depth_edges.any())
    ('disk', (75, 113), True)
    >>> bool(0.5 <= sb.values[sb.mask].min() and sb.values.max() <= 6.0)  # B-NET's disk radii
    True
    """
    img = as_image(image, copy=False)  # only read
    max_pixels = None if max_pixels is None else check_int(max_pixels, "max_pixels", minimum=1024)
    photo_above = None if photo_above is None else check_int(photo_above, "photo_above", minimum=0)
    f = photo_factor(img.shape[:2], max_pixels, photo_above=photo_above)
    if f == 1:
        return classify_edges(img, edges=edges, device=device, **options).sparse()
    log.info("karaali2022: the %dx%d image is classified on a copy at 1/%d (photo size: max_pixels=%d)",
             img.shape[0], img.shape[1], f, max_pixels)
    small_edges = None if edges is None else block_any(as_edge_map(edges, img.shape[:2]), f)
    small = classify_edges(shrink(img, f), edges=small_edges, device=device, **options).sparse()
    return to_full_resolution(small, f, img.shape[:2])


def block_any(mask: np.ndarray, f: int) -> np.ndarray:
    """(ceil(H / f), ceil(W / f)) bool: copy pixel i is True when its footprint, the f x f block
    of fine pixels f i - f/2 .. f i + f/2 (as :func:`to_full_resolution`), holds a True pixel;
    the last row and column also take the fine pixels beyond their block."""
    H, W = mask.shape
    h, w = -(-H // f), -(-W // f)
    lo = f // 2
    padded = np.zeros(((h + 1) * f, (w + 1) * f), bool)
    padded[lo:lo + H, lo:lo + W] = mask
    blocks = padded.reshape(h + 1, f, w + 1, f).any(axis=(1, 3))
    blocks[h - 1] |= blocks[h]
    blocks[:, w - 1] |= blocks[:, w]
    return blocks[:h, :w]


def to_full_resolution(sparse: SparseBlur, f: int, shape) -> SparseBlur:
    """A SparseBlur of a copy f times smaller, as a SparseBlur of the full-resolution ``shape``:
    values and raw values times f at fine pixel (f i, f j), depth edges over the f x f block
    centred there (see :func:`karaali2022`)."""
    H, W = shape
    ys, xs = np.nonzero(sparse.edges)
    fy, fx = ys * f, xs * f
    keep = (fy < H) & (fx < W)
    ys, xs, fy, fx = ys[keep], xs[keep], fy[keep], fx[keep]
    values = np.zeros((H, W))
    raw = np.zeros((H, W))
    mask = np.zeros((H, W), bool)
    edges = np.zeros((H, W), bool)
    edges[fy, fx] = True
    mask[fy, fx] = sparse.mask[ys, xs]
    values[fy, fx] = np.where(sparse.mask[ys, xs], sparse.values[ys, xs] * f, 0.0)
    raw[fy, fx] = sparse.all_values()[ys, xs] * f
    depth = None
    if sparse.depth_edges is not None:
        lo = f // 2  # fine pixel p lies in the block of copy pixel (p + f/2) // f
        up = np.repeat(np.repeat(sparse.depth_edges, f, axis=0), f, axis=1)
        depth = np.ascontiguousarray(np.pad(up, ((0, lo), (0, lo)), mode="edge")[lo:lo + H, lo:lo + W])
    return SparseBlur(values, mask, edges=edges, depth_edges=depth, units=sparse.units, raw_values=raw)


# The authors' code: the depth-edge-aware domain transform with its defaults (psi 20, sigma_r 3.75,
# sigma_s min(H, W) / 8, 5 iterations), depth edges from E-NET.
# The keyword options a parameter sweep may set (defocus_lab.sweep routes each name by them;
# tests/test_sweep.py checks them against the signature).
# karaali2022 passes its other keywords on to classify_edges.
karaali2022.option_names = frozenset({"max_pixels", "photo_above", "device", "detector", "canny_sigma", "canny_low",
                                      "canny_high", "bnet", "enet", "zero_branches", "tile", "batch", "download"})
METHOD = Method("karaali2022", karaali2022, "domain_transform", MappingProxyType({}),
                "Karaali, Harte & Jung 2022")
