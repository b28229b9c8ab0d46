"""Training patches of Galetto & Deng (2022), Sec. 3.1: 32x32 grey patches in 20 classes of
Gaussian blur (sigma 0, 1, ..., 19 px).

How a photo gives patches (the paper's recipe, on the sharp photos this lab has):

1. The photo in grey (ITU-R BT.601 luma, as MATLAB's ``rgb2gray``), on the 0..255 scale.
2. Sharp patches: the photo cut into a grid of non-overlapping 32x32 patches; a patch is sharp
   when the variance of the Laplacian of the photo smoothed by a 3x3 Gaussian (sigma 0.5,
   MATLAB's ``fspecial`` default), over the patch's pixels, exceeds 1000 (:func:`sharpness`).
   The paper smooths each patch alone; here the photo is smoothed whole and the patch cut from
   it (the same inside, no patch-border effect).
3. For each chosen sharp patch, the photo blurred by each sigma (``scipy.ndimage``, mirrored
   borders) and the patch cut from it: the blur is applied to the *image before cropping*, so
   a patch sees the blur of its surroundings as a defocused region would. Only a window of the
   photo around the patch (the patch plus the kernel's reach) is filtered: the same numbers as
   filtering the whole photo, far faster (:func:`blurred_crops`).

Every chosen patch gives all 20 classes, so the classes are balanced by construction. The
paper used DIV2K (800 + 100 2K photos, > 5e5 patches): the training photos' patches split 80/20
*by patch* into training and validation, and the 100 validation photos of DIV2K for the test
set. This lab has the 700 COCO and ImageNet photos of ``DEFOCUS_LAB_DATA/sharp`` (about
640x480), Kodak24 and McMaster, and scikit-image's bundled photos, and offers two protocols
(:func:`patch_dataset`, seeded):

- ``protocol="photo"`` (the lab's default): split *by source photo*, so that no photo lends
  patches to two splits; Kodak24 and McMaster are the test photos (as DIV2K's validation photos
  are the paper's);
- ``protocol="patch"``: every (patch, class) sample of every photo shuffled and cut 80 / 10 / 10,
  as the paper's training / validation split: a test sample's photo, and the same patch at
  the neighbouring blur levels, are in the training split. Comparing the two measures how much a
  patch split flatters a classifier (Table 3 of notebook 05).

Patches are stored in 16-bit fixed point (value x 65535, 256 times finer than 8 bits), so that
a recipe may train on 8-bit patches (:meth:`PatchSet.as_float`'s default: rounded as an 8-bit
photo is, which is what the classifier meets in use) or on float ones, and add noise *after*
the blur (a camera's noise is added after the optics' blur) before that rounding. The cache is
one ``.npz`` per recipe and list of photos on disk (``data.cache_dir()/galetto2022``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

PATCH = 32  # patch side (px)
CLASSES = 20  # blur classes: Gaussian sigma 0, 1, ..., 19 px
SHARP_VARIANCE = 1000.0  # variance of the Laplacian (0..255 scale) above which a patch is sharp
TRUNCATE = 4.0  # scipy.ndimage.gaussian_filter's reach in sigmas
_LUMA = np.array([0.2989, 0.5870, 0.1140])  # ITU-R BT.601, as MATLAB's rgb2gray
_VERSION = 2  # bump when the recipe changes: a new cache file
FIXED = 65535.0  # the patches' 16-bit fixed-point scale
PER_IMAGE = 32  # sharp patches per photo at most: 27.7 on average, 4.1e5 samples from the 746 photos
PROTOCOLS = ("photo", "patch")


def to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 in [0, 1]: the BT.601 luma of a colour image, a grey image as it is."""
    from .._validate import as_image
    img = as_image(image, copy=False)
    return img @ _LUMA if img.ndim == 3 else img


def sharpness(grey: np.ndarray, size: int = PATCH) -> np.ndarray:
    """Variance of the Laplacian (0..255 scale, after a 3x3 Gaussian of sigma 0.5) of each
    patch of the non-overlapping ``size`` grid of ``grey`` (in [0, 1]): (H // size, W // size)."""
    g = ndi.gaussian_filter(np.asarray(grey, dtype=np.float64) * 255.0, 0.5, truncate=2.0, mode="nearest")
    lap = ndi.laplace(g, mode="nearest")
    h, w = lap.shape[0] // size, lap.shape[1] // size
    blocks = lap[:h * size, :w * size].reshape(h, size, w, size)
    return blocks.var(axis=(1, 3))


def sharp_positions(grey: np.ndarray, size: int = PATCH, threshold: float = SHARP_VARIANCE) -> np.ndarray:
    """(n, 2) top-left corners (y, x) of the sharp patches of the ``size`` grid (:func:`sharpness`)."""
    iy, ix = np.nonzero(sharpness(grey, size) > threshold)
    return np.stack([iy * size, ix * size], axis=1)


def blurred_crops(grey: np.ndarray, positions, sigmas=range(CLASSES), size: int = PATCH) -> np.ndarray:
    """(n, len(sigmas), size, size) float32: the patches at ``positions`` cut from ``grey``
    blurred by each Gaussian sigma (px; 0 = as it is), with mirrored borders.

    Each patch's blur is computed on a window of the image reaching the kernel's extent
    (``TRUNCATE`` sigmas) past the patch, clipped to the image: every pixel of the patch sees
    exactly the input it sees when the whole image is filtered (the window's cut edges are
    beyond the kernel's reach; its image edges are the image's own)."""
    grey = np.asarray(grey, dtype=np.float64)
    H, W = grey.shape
    positions = np.asarray(positions, dtype=np.int64).reshape(-1, 2)
    sigmas = [float(s) for s in sigmas]
    out = np.empty((len(positions), len(sigmas), size, size), np.float32)
    for i, (y, x) in enumerate(positions):
        for j, s in enumerate(sigmas):
            if s == 0:
                out[i, j] = grey[y:y + size, x:x + size]
                continue
            m = int(TRUNCATE * s + 0.5)  # scipy's kernel radius
            y0, y1, x0, x1 = max(y - m, 0), min(y + size + m, H), max(x - m, 0), min(x + size + m, W)
            win = ndi.gaussian_filter(grey[y0:y1, x0:x1], s, truncate=TRUNCATE, mode="reflect")
            out[i, j] = win[y - y0:y - y0 + size, x - x0:x - x0 + size]
    return out


def photo_patches(grey: np.ndarray, n: int, rng: np.random.Generator, sigmas=range(CLASSES)) -> np.ndarray:
    """(k, len(sigmas), PATCH, PATCH) uint16: up to ``n`` sharp patches of one photo, drawn by
    ``rng`` without replacement, in every blur class (16-bit fixed point: value x ``FIXED``)."""
    pos = sharp_positions(grey)
    if len(pos) > n:
        pos = pos[np.sort(rng.choice(len(pos), n, replace=False))]
    crops = blurred_crops(grey, pos, sigmas)
    return np.clip(np.rint(crops * FIXED), 0, FIXED).astype(np.uint16)


def to_network(x16: np.ndarray, *, bits: int = 8, noise: float = 0.0, rng=None) -> np.ndarray:
    """(n, 1, 32, 32) float32 in [0, 1], the network's input, from (n, 32, 32) fixed-point
    patches: plus, when ``noise`` > 0, Gaussian noise of a standard deviation drawn per patch
    uniformly in [0, ``noise``] (``rng``), then rounded to ``bits`` bits (8: as an 8-bit photo;
    16: as stored, float)."""
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 (rounded as an 8-bit photo) or 16 (float); got {bits!r}")
    x = np.asarray(x16, dtype=np.float32) / np.float32(FIXED)
    if noise > 0:
        if rng is None:
            raise ValueError("noise needs a seeded rng (numpy.random.Generator)")
        sd = rng.uniform(0.0, noise, len(x)).astype(np.float32)
        x = x + sd[:, None, None] * rng.standard_normal(x.shape, dtype=np.float32)
    if bits == 8:
        x = np.rint(x * 255.0) / np.float32(255.0)
    return np.clip(x, 0.0, 1.0)[:, None]


@dataclass
class PatchSet:
    """Patches ``x`` (N, 32, 32) uint16 (16-bit fixed point, value x ``FIXED``), classes ``y``
    (N,) int64 (= blur sigma in px), the index of each patch's source photo ``source`` (N,) into
    ``sources`` (names), per split."""
    x: np.ndarray
    y: np.ndarray
    source: np.ndarray
    sources: list

    def __len__(self) -> int:
        return len(self.y)

    def balance(self) -> np.ndarray:
        """Patches per class."""
        return np.bincount(self.y, minlength=CLASSES)

    def as_float(self, sel=None, *, bits: int = 8, noise: float = 0.0, rng=None) -> np.ndarray:
        """(n, 1, 32, 32) float32 in [0, 1]: the network's input (:func:`to_network`; by default
        rounded to 8 bits, as a photo is)."""
        return to_network(self.x if sel is None else self.x[sel], bits=bits, noise=noise, rng=rng)


SPLITS = ("train", "validation", "test")


def _sources():
    """(name, loader) of every source photo: DEFOCUS_LAB_DATA/sharp's four sets and the bundled
    photos (or the bundled photos alone without the data)."""
    from .. import data

    def read(p):
        import warnings
        with warnings.catch_warnings():  # one ImageNet photo's empty EXIF block: the pixels are fine
            warnings.filterwarnings("ignore", message="Corrupt EXIF data")
            return data.read_image(p)

    out = []
    for p in data.sharp_image_paths(data.SHARP_SETS, suffixes=data.ALL_PHOTO_SUFFIXES):
        out.append((f"{p.parent.name}/{p.name}", lambda p=p: read(p)))
    for name, img in zip(data.BUNDLED_SHARP, data.bundled_sharp_images()):
        out.append((f"bundled/{name}", lambda img=img: img))
    return out


def split_sources(names, seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> dict:
    """Source photos -> split, seeded: Kodak24 and McMaster (held-out test photos of a different
    kind, as the paper tests on DIV2K's separate validation photos) go to the test split;
    the others are shuffled and cut ``fractions[0]`` : ``fractions[1]`` into train and
    validation, and when there is no Kodak24 / McMaster photo, ``fractions[2]`` of them to test.
    A photo's patches all go to its split."""
    rng = np.random.default_rng([seed, 7])
    names = list(names)
    held = [n for n in names if n.split("/")[0] in ("kodak24", "mcmaster")]
    rest = [n for n in names if n not in set(held)]
    order = [rest[i] for i in rng.permutation(len(rest))]
    f = np.asarray(fractions, dtype=np.float64)
    if held:
        f = f[:2] / f[:2].sum()
        n_train = int(round(f[0] * len(order)))
        n_val = len(order) - n_train
        cut = {"train": order[:n_train], "validation": order[n_train:n_train + n_val], "test": held}
    else:
        f = f / f.sum()
        n_train = max(1, int(round(f[0] * len(order))))
        n_val = max(1, int(round(f[1] * len(order)))) if len(order) > 2 else 0
        cut = {"train": order[:n_train], "validation": order[n_train:n_train + n_val],
               "test": order[n_train + n_val:]}
    return {n: s for s, ns in cut.items() for n in ns}


def patch_dataset(split: str = "train", *, per_image: int = PER_IMAGE, seed: int = 0, protocol: str = "photo",
                  cache: bool = True, progress: bool = True, cache_root=None) -> PatchSet:
    """The ``split`` ("train", "validation", "test") of Galetto & Deng's patch dataset, made
    from every source photo (module docstring) and cached (``cache_root``, default
    ``data.cache_dir()/galetto2022``; one ``.npz`` per recipe and list of photos).

    ``per_image`` sharp patches at most per photo, each in all 20 classes; ``seed`` draws them
    and splits the photos (or the samples); ``protocol`` "photo" or "patch" (module docstring:
    both read the same cached patches). The first call makes all three splits (a progress bar
    over the photos: a few minutes for the 700-odd photos of DEFOCUS_LAB_DATA/sharp); later calls
    read the cache."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}; got {protocol!r}")
    if isinstance(per_image, bool) or int(per_image) < 1:
        raise ValueError(f"per_image must be a positive number of patches; got {per_image!r}")
    from .. import data
    sources = _sources()
    names = [n for n, _ in sources]
    key = json.dumps({"v": _VERSION, "per_image": int(per_image), "seed": int(seed), "names": names})
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    root = Path(cache_root) if cache_root is not None else data.cache_dir() / "galetto2022"
    path = root / f"patches-{digest}.npz"
    if cache and path.is_file():
        with np.load(path) as z:
            return _pick(z, split, names, protocol, seed)
    assign = split_sources(names, seed)
    xs, ys, src = [], [], []
    it = enumerate(sources)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, total=len(sources), desc="galetto2022 patches", unit="photo")
    for i, (name, load) in it:
        _add_photo(xs, ys, src, i, load, int(per_image), seed)
    x = np.concatenate(xs) if xs else np.zeros((0, PATCH, PATCH), np.uint16)
    y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
    source = np.concatenate(src) if src else np.zeros(0, np.int32)
    split_of = np.array([SPLITS.index(assign[n]) for n in names], np.int8)
    arrays = {"x": x, "y": y.astype(np.int8), "source": source, "split_of": split_of}
    if cache:
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    return _pick(arrays, split, names, protocol, seed)


def _add_photo(xs, ys, src, i, load, per_image, seed):
    """Photo ``i``'s patches in all classes appended to the lists (its own seeded draw)."""
    p = photo_patches(to_grey(load()), per_image, np.random.default_rng([seed, i]))
    if len(p):
        xs.append(p.reshape(-1, PATCH, PATCH))
        ys.append(np.tile(np.arange(CLASSES), len(p)))
        src.append(np.full(len(p) * CLASSES, i, np.int32))


def split_patches(split: str = "test", *, per_image: int = PER_IMAGE, seed: int = 0) -> PatchSet:
    """One split of :func:`patch_dataset` (protocol "photo"), the same patches, made from that
    split's photos only and not cached (the test split: 42 photos, a few seconds, where the
    whole set takes minutes)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    sources = _sources()
    names = [n for n, _ in sources]
    assign = split_sources(names, seed)
    xs, ys, src = [], [], []
    for i, (name, load) in enumerate(sources):
        if assign[name] == split:
            _add_photo(xs, ys, src, i, load, int(per_image), seed)
    if not xs:
        return PatchSet(np.zeros((0, PATCH, PATCH), np.uint16), np.zeros(0, np.int64), np.zeros(0, np.int32), names)
    return PatchSet(np.concatenate(xs), np.concatenate(ys).astype(np.int64), np.concatenate(src), names)


def sample_split(n: int, seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> np.ndarray:
    """(n,) int8 split index (0 train, 1 validation, 2 test) of each of ``n`` samples for the
    patch protocol: a seeded shuffle cut by ``fractions``."""
    f = np.asarray(fractions, dtype=np.float64) / np.sum(fractions)
    order = np.random.default_rng([seed, 11]).permutation(n)
    cuts = np.rint(np.cumsum(f)[:2] * n).astype(np.int64)
    out = np.empty(n, np.int8)
    out[order[:cuts[0]]], out[order[cuts[0]:cuts[1]]], out[order[cuts[1]:]] = 0, 1, 2
    return out


def _pick(z, split, names, protocol="photo", seed=0) -> PatchSet:
    source = np.asarray(z["source"])
    if protocol == "patch":
        sel = sample_split(len(source), seed) == SPLITS.index(split)
    else:
        sel = np.asarray(z["split_of"])[source] == SPLITS.index(split)
    return PatchSet(x=np.asarray(z["x"])[sel], y=np.asarray(z["y"])[sel].astype(np.int64), source=source[sel],
                    sources=names)
