"""Training and illustration scenes of Karaali, Harte & Jung (2022), Sec. IV-A.

- :func:`disk_blur`: a sharp image convolved with a disk of radius R (Eq. 4; B-NET's data);
- :func:`blob_mask`: a random smooth closed shape, a stand-in for the salient-object masks the
  authors cut foregrounds with (none are at hand here);
- :func:`foreground_background`: a foreground blurred by R1 laid over a background blurred by
  R2 (Fig. 4; E-NET's depth edges lie on the shape's outline, its pattern edges inside and
  outside). The foreground's colour and coverage are blurred together and composited over the
  blurred background (occlusion-aware: the sharp foreground does not take the background's blur).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import fftconvolve

from .._validate import as_image, check_positive
from ..conventions import KARAALI_BLUR_LEVELS, KARAALI_PAD, KARAALI_PATCH
from ..render import disk_kernel

FIG4_LEVELS = ((0, 1), (0, 3), (0, 5), (1, 3), (1, 5), (3, 5))  # (R1 foreground, R2 background)


def disk_blur(image, radius: float) -> np.ndarray:
    """``image`` convolved with a normalised disk of ``radius`` px (symmetric borders).

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        uint8, uint16 or float in [0, 1].
    radius : float
        The disk's radius, px (0: a copy of the image).

    Returns
    -------
    ndarray
        The blurred image, float in [0, 1], of the input's shape.

    Examples
    --------
    >>> import numpy as np
    >>> dot = np.zeros((9, 9)); dot[4, 4] = 1.0
    >>> out = disk_blur(dot, 2.0)
    >>> round(float(out.sum()), 6), bool(out[4, 4] < 1)  # the light is spread, none lost
    (1.0, True)
    """
    return _disk_blur(as_image(image), check_positive(radius, "radius", allow_zero=True))


def _disk_blur(img: np.ndarray, radius: float) -> np.ndarray:
    """Disk blur of an (H, W) or (H, W, C) float array, any number of channels."""
    k = disk_kernel(radius)
    n = k.shape[0] // 2
    if n == 0:
        return img.copy()
    pad = ((n, n), (n, n)) + ((0, 0),) * (img.ndim - 2)
    p = np.pad(img, pad, mode="symmetric")
    kk = k if img.ndim == 2 else k[..., None]
    return np.clip(fftconvolve(p, kk, mode="valid", axes=(0, 1)), 0.0, 1.0)


def blob_mask(shape, *, seed=0, size: float = 0.35, wobble: float = 0.25, harmonics: int = 5) -> np.ndarray:
    """A random star-convex blob (bool (H, W)) centred near the middle: radius
    ``size * min(H, W) * (1 + sum of random low harmonics)``.

    Parameters
    ----------
    shape : tuple of int
        (H, W).
    seed : int
        The seed of the harmonics and the centre.
    size : float
        The mean radius, as a fraction of the smaller side.
    wobble : float
        The harmonics' amplitude (0: a disk).
    harmonics : int
        How many harmonics.

    Returns
    -------
    ndarray (H, W) bool

    Examples
    --------
    >>> m = blob_mask((64, 64), seed=1)
    >>> m.shape, bool(m[32, 32]), bool(m[0, 0])
    ((64, 64), True, False)
    """
    rng = np.random.default_rng(seed)
    H, W = shape
    cy, cx = H * (0.5 + 0.1 * rng.uniform(-1, 1)), W * (0.5 + 0.1 * rng.uniform(-1, 1))
    yy, xx = np.mgrid[:H, :W]
    th = np.arctan2(yy - cy, xx - cx)
    r = np.ones_like(th)
    for k in range(1, harmonics + 1):
        r += wobble / k * rng.normal() * np.cos(k * th + rng.uniform(0, 2 * np.pi))
    return np.hypot(yy - cy, xx - cx) <= size * min(H, W) * np.clip(r, 0.3, None)


@dataclass
class CompositeScene:
    """A foreground layer over a background, each blurred by its own disk (Karaali et al.'s
    Fig. 4); the parameters are kept as attributes of the same names.

    Parameters
    ----------
    image : ndarray (H, W, 3)
        The composite, float in [0, 1].
    mask : ndarray (H, W) bool
        The foreground.
    blur : ndarray (H, W)
        The disk radius (px) of the layer seen at each pixel (``mask`` decides).
    depth_edges : ndarray (H, W) bool
        The outline of the foreground (1 px).
    r_fg, r_bg : float
        The foreground's and the background's disk radius, px.

    Examples
    --------
    >>> import numpy as np
    >>> grey = np.full((32, 32, 3), 0.5)
    >>> scene = foreground_background(grey, grey, blob_mask((32, 32)), r_fg=0.0, r_bg=3.0)
    >>> sorted(np.unique(scene.blur).tolist()), bool(np.allclose(scene.image, 0.5))
    ([0.0, 3.0], True)
    """
    image: np.ndarray
    mask: np.ndarray
    blur: np.ndarray
    depth_edges: np.ndarray
    r_fg: float
    r_bg: float


def foreground_background(foreground, background, mask, r_fg: float, r_bg: float) -> CompositeScene:
    """Fig. 4: ``foreground`` inside ``mask`` blurred by ``r_fg`` over ``background`` blurred by ``r_bg``.

    Parameters
    ----------
    foreground, background : ndarray (H, W, 3)
        The two layers' sharp images (colour).
    mask : ndarray (H, W) bool
        The foreground's support (:func:`blob_mask`).
    r_fg, r_bg : float
        Their blur, disk radius in pixels.

    Returns
    -------
    CompositeScene
        The blurred foreground is composited over the blurred background with its own blurred
        mask as alpha, so its edge is soft as a lens would make it.

    Raises
    ------
    ValueError
        Layers and mask of different sizes.

    Examples
    --------
    >>> from defocus_lab.data import load_image, working_copy
    >>> photo, _ = working_copy(load_image("coffee"), 64)
    >>> scene = foreground_background(photo, photo[:, ::-1], blob_mask(photo.shape[:2]), 1.0, 4.0)
    >>> scene.image.shape, scene.r_fg, scene.r_bg
    ((43, 64, 3), 1.0, 4.0)
    """
    fg = as_image(foreground, name="foreground", allow_gray=False)
    bg = as_image(background, name="background", allow_gray=False)
    m = np.asarray(mask, dtype=bool)
    if fg.shape != bg.shape or m.shape != fg.shape[:2]:
        raise ValueError(f"foreground {fg.shape}, background {bg.shape} and mask {m.shape} must share "
                         f"their height and width")
    layer = _disk_blur(np.concatenate([fg * m[..., None], m[..., None].astype(float)], axis=2), r_fg)
    a = layer[..., 3:]
    img = np.clip(layer[..., :3] + (1.0 - a) * disk_blur(bg, r_bg), 0.0, 1.0)
    outline = m & ~ndi.binary_erosion(m)
    return CompositeScene(img, m, np.where(m, float(r_fg), float(r_bg)), outline, float(r_fg), float(r_bg))


# ---------------------------------------------------------------------------- training patches

PATCH = KARAALI_PATCH
HALF = KARAALI_PAD
MARGIN = 6  # px of real context around a patch: the widest disk (R = 6) sees no padding
E_LEVELS = (0.0, 1.0, 3.0, 5.0)  # the paper's E-NET blur levels (R1 < R2 at depth edges)


class SharpPool:
    """Sharp colour photos with their grey Canny edge maps, loaded lazily and cached.

    ``sources``: paths or (H, W, 3) arrays in [0, 1]. Edge pixels closer than 26 px to the border
    are not used as patch centres (a 41x41 patch plus the 6 px context fits inside).
    """

    def __init__(self, sources):
        self.sources = list(sources)
        if not self.sources:
            raise ValueError("no training images: pass paths or arrays")
        self._cache: dict[int, tuple] = {}

    def __len__(self):
        return len(self.sources)

    def draw(self, k: int, rng) -> "SharpPool":
        """A pool of ``k`` of these images drawn at random (a chunk of training data comes from
        a few images: loading and edge detection are paid k times, not once per patch)."""
        idx = rng.choice(len(self.sources), size=min(k, len(self.sources)), replace=False)
        return SharpPool([self.sources[i] for i in idx])

    def get(self, i: int):
        if i not in self._cache:
            import warnings

            from ..data import read_image
            from ..edges import canny
            s = self.sources[i]
            if isinstance(s, np.ndarray):
                img = np.asarray(s, dtype=np.float64)
            else:
                with warnings.catch_warnings():  # some COCO JPEGs carry truncated EXIF blocks
                    warnings.simplefilter("ignore", UserWarning)
                    img = read_image(s)
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, 2)
            e = canny(img, sigma=1.0)
            b = HALF + MARGIN
            e[:b], e[-b:], e[:, :b], e[:, -b:] = False, False, False, False
            ys, xs = np.nonzero(e)
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[i] = (img, ys, xs)
        return self._cache[i]


def _augment(p: np.ndarray, rng) -> np.ndarray:
    """A random rotation by a multiple of 90 degrees and a random flip of (n, 3, 41, 41) patches."""
    k = int(rng.integers(4))
    p = np.rot90(p, k, axes=(2, 3))
    if rng.random() < 0.5:
        p = p[:, :, :, ::-1]
    return np.ascontiguousarray(p)


def blur_patches(pool: SharpPool, n: int, rng, *, levels=None) -> tuple[np.ndarray, np.ndarray]:
    """B-NET's training data (Sec. IV-A, Eq. 4): patches centred on edges of sharp photos blurred
    by a disk of radius 0.5 + 0.25 k, classes k balanced; float32 (n, 3, 41, 41) and int64 (n,).

    Each patch is cut from a (41 + 12)^2 crop blurred as a whole, so the blur sees real context.
    """
    levels = KARAALI_BLUR_LEVELS if levels is None else np.asarray(levels)
    labels = rng.integers(0, len(levels), n)
    out = np.empty((n, 3, PATCH, PATCH), np.float32)
    size = PATCH + 2 * MARGIN
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        crops = np.empty((size, size, 3 * len(idx)))
        for j, _ in enumerate(idx):
            img, ys, xs = _pick_with_edges(pool, rng)
            c = int(rng.integers(len(ys)))
            y0, x0 = ys[c] - HALF - MARGIN, xs[c] - HALF - MARGIN
            crops[..., 3 * j:3 * j + 3] = img[y0:y0 + size, x0:x0 + size]
        blurred = _disk_blur(crops, float(levels[k]))[MARGIN:MARGIN + PATCH, MARGIN:MARGIN + PATCH]
        out[idx] = blurred.reshape(PATCH, PATCH, len(idx), 3).transpose(2, 3, 0, 1)
    return _augment(out, rng), labels.astype(np.int64)


def _pick_with_edges(pool, rng):
    for _ in range(100):
        img, ys, xs = pool.get(int(rng.integers(len(pool))))
        if len(ys):
            return img, ys, xs
    raise ValueError("the training images have no usable edges")


def _mask_crop(rng, size: int, disparity=None) -> np.ndarray:
    """A foreground mask: a random blob, or (when ``disparity`` is given, half of the time) the
    near layer of a random crop of the motorcycle's disparity map."""
    if disparity is not None and rng.random() < 0.5:
        H, W = disparity.shape
        for _ in range(20):
            y0, x0 = int(rng.integers(H - size)), int(rng.integers(W - size))
            d = disparity[y0:y0 + size, x0:x0 + size]
            m = d > np.quantile(d, rng.uniform(0.3, 0.7))
            m = ndi.binary_opening(m, iterations=2)
            if 0.15 < m.mean() < 0.85:
                return m
    return blob_mask((size, size), seed=int(rng.integers(2**31)), size=rng.uniform(0.25, 0.4))


def edge_patches(pool: SharpPool, n: int, rng, *, size: int = 96, disparity=None,
                 pattern_radius_step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """E-NET's training data (Sec. IV-A): label 1 = depth edge, 0 = pattern edge, balanced.

    Depth edges: the outline of a foreground (crop of one photo, cut by a mask) blurred by R1
    over a background (crop of another photo) blurred by R2, R1 < R2 in {0, 1, 3, 5} (the
    paper's levels). Pattern edges: Canny edges of one photo blurred uniformly or step-wise
    (two levels ``pattern_radius_step`` apart across a mask, the paper's "small blur changes at
    the same depth"), at least 8 px from any blur change of more than that step.
    """
    from ..edges import canny
    labels = rng.integers(0, 2, n)
    out = np.empty((n, 3, PATCH, PATCH), np.float32)
    lo, hi = HALF, size - HALF
    for i in range(n):
        for _ in range(50):
            m = _mask_crop(rng, size, disparity)
            a, ys_a, xs_a = _pick_with_edges(pool, rng)
            fg = _crop(a, size, rng)
            if labels[i] == 1:
                b = pool.get(int(rng.integers(len(pool))))[0]
                r1, r2 = sorted(rng.choice(E_LEVELS, 2, replace=False))
                s = foreground_background(fg, _crop(b, size, rng), m, r1, r2)
                cand = s.depth_edges
            else:
                r = float(rng.uniform(0.5, 6.0))
                r2 = r + pattern_radius_step if rng.random() < 0.5 else r
                s = foreground_background(fg, fg, m, r, r2)
                cand = canny(s.image, sigma=1.0) & (ndi.distance_transform_edt(~s.depth_edges) >= 8)
            cand = cand.copy()
            cand[:lo], cand[hi:], cand[:, :lo], cand[:, hi:] = False, False, False, False
            ys, xs = np.nonzero(cand)
            if len(ys):
                c = int(rng.integers(len(ys)))
                y, x = ys[c], xs[c]
                out[i] = s.image[y - HALF:y + HALF + 1, x - HALF:x + HALF + 1].transpose(2, 0, 1)
                break
        else:
            raise ValueError("could not place an edge patch: are the training images large enough?")
    return _augment(out, rng), labels.astype(np.int64)


def _crop(img, size, rng):
    H, W = img.shape[:2]
    if H < size or W < size:
        raise ValueError(f"training images must be at least {size}x{size}; got {H}x{W}")
    y0, x0 = int(rng.integers(H - size + 1)), int(rng.integers(W - size + 1))
    return img[y0:y0 + size, x0:x0 + size]
