"""One registry of every named image and dataset.

Three kinds of source:

- bundled: scikit-image's ``coffee``, ``chelsea`` and the ``motorcycle`` stereo pair with its
  disparity (installed with scikit-image, always there);
- synthesised: bar images, step edges and the thin-lens defocused motorcycle (``defocus_lab.synth``);
- external: the papers' photos, RTF, CUHK, DUT, the Karaali 2022 weights. They are read from the
  folder named by the environment variable ``DEFOCUS_LAB_DATA`` (laid out as ``photos/``, ``rtf/``,
  ``cuhk/``, ``dut/``, ``weights/``, ``sharp/``), else from a local download cache, else
  downloaded from a pinned URL and checked against its sha256 (``registry.txt``), else a
  :class:`DataMissing` error names the variable and the URL.

Notebooks never download (``download=False``): run ``defocus-lab fetch`` once, or set
``DEFOCUS_LAB_DATA``; they fall back to the bundled images and say what they skipped.
"""
from __future__ import annotations

__all__ = ["DataMissing", "data_dir", "fetch", "available", "read_image", "image_names", "load_image", "load_rtf",
           "rtf_ids", "load_mask", "working_copy"]

import hashlib
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

ENV = "DEFOCUS_LAB_DATA"
_REGISTRY_FILE = Path(__file__).with_name("registry.txt")


class DataMissing(FileNotFoundError):
    """An external file is neither under DEFOCUS_LAB_DATA nor downloadable here.

    Examples
    --------
    >>> issubclass(DataMissing, FileNotFoundError)  # an `except FileNotFoundError` catches it too
    True
    """


@lru_cache(maxsize=1)
def registry() -> dict[str, tuple[str, str]]:
    """{relative path: (sha256, url)} of every external file."""
    out = {}
    for line in _REGISTRY_FILE.read_text().splitlines():
        if line and not line.startswith("#"):
            rel, sha, url = line.split()
            out[rel] = (sha, url)
    return out


def data_dir() -> Path | None:
    """The folder named by DEFOCUS_LAB_DATA, or None when unset.

    A value that is not a folder is ignored with a :class:`UserWarning` that says so (once per
    value), so that a typo does not silently turn every notebook to its fallback images.

    Returns
    -------
    pathlib.Path or None
        The folder, or None.

    Examples
    --------
    >>> folder = data_dir()
    >>> folder is None or folder.is_dir()
    True
    """
    v = os.environ.get(ENV)
    if not v:
        return None
    p = Path(v).expanduser()
    if p.is_dir():
        return p
    _warn_not_a_folder(v)
    return None


@lru_cache(maxsize=8)
def _warn_not_a_folder(value: str) -> None:
    what = "a file" if Path(value).expanduser().exists() else "missing"
    warnings.warn(f"{ENV}={value!r} is not a folder ({what}): it is ignored. Point it at the data folder "
                  f"laid out as shared/data (photos/, rtf/, ...), or unset it", UserWarning, stacklevel=3)


def cache_dir() -> Path:
    """Where downloads go: $XDG_CACHE_HOME/defocus_lab (or ~/.cache/defocus_lab)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "defocus_lab"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@lru_cache(maxsize=256)
def _verified(path: str, sha: str, mtime: float) -> bool:
    return _sha256(Path(path)) == sha


def fetch(relpath: str, *, download: bool = True) -> Path:
    """Local path of an external file, checked against its pinned sha256.

    Parameters
    ----------
    relpath : str
        The file's path relative to the data folder, as in the registry (``registry()``), e.g.
        ``"rtf/image_01.png"``.
    download : bool
        Download it into the cache (:func:`cache_dir`) when it is not on this machine.


    Returns
    -------
    pathlib.Path
        Where the verified file is: under ``DEFOCUS_LAB_DATA``, else in the cache.


    Raises
    ------
    KeyError
        ``relpath`` is not in the registry.
    DataMissing
        The file is not available locally and ``download`` is False or failed.
    ValueError
        A local copy exists but its sha256 differs (a wrong or damaged file).

    Examples
    --------
    >>> if available("rtf/image_01.png"):  # DEFOCUS_LAB_DATA or `defocus-lab fetch`
    ...     assert fetch("rtf/image_01.png", download=False).is_file()
    >>> fetch("photos/no-such-photo.png")
    Traceback (most recent call last):
    ...
    KeyError: "'photos/no-such-photo.png' is not a registered data file; see defocus_lab.data.registry()"
    """
    reg = registry()
    if relpath not in reg:
        raise KeyError(f"{relpath!r} is not a registered data file; see defocus_lab.data.registry()")
    sha, url = reg[relpath]
    for root in (data_dir(), cache_dir()):
        if root is None:
            continue
        p = root / relpath
        if p.is_file():
            if not _verified(str(p), sha, p.stat().st_mtime):
                raise ValueError(f"{p} does not match its pinned sha256 {sha[:12]}...: replace it with "
                                 f"the file from {url}")
            return p
    if download:
        try:
            import pooch
            target = cache_dir() / relpath
            pooch.retrieve(url, known_hash=f"sha256:{sha}", fname=target.name, path=target.parent,
                           progressbar=False)
            return target
        except Exception as exc:  # network refused, timeout, hash mismatch
            raise DataMissing(_missing_message(relpath, url, f" (download failed: {exc})")) from None
    raise DataMissing(_missing_message(relpath, url, ""))


def _missing_message(relpath, url, why):
    return (f"{relpath} is not available{why}. Set the environment variable {ENV} to a folder laid out "
            f"as shared/data (it must contain {relpath}), or run `defocus-lab fetch {relpath}` with network access, "
            f"or download it yourself from {url}")


def available(relpath: str) -> bool:
    """True when the file is present locally (no download attempted).

    Parameters
    ----------
    relpath : str
        The file's path relative to the data folder (see :func:`fetch`).

    Returns
    -------
    bool
        True when a copy with the pinned sha256 is under ``DEFOCUS_LAB_DATA`` or in the cache.

    Examples
    --------
    >>> available("photos/pumpkin.png") in (True, False)
    True
    """
    try:
        fetch(relpath, download=False)
        return True
    except (DataMissing, ValueError):
        return False


# ----------------------------------------------------------------------------- images

def read_image(path) -> np.ndarray:
    """An image file as float64 in [0, 1], (H, W) or (H, W, 3).

    Scaled by the file's real sample type: 1-bit (bool) as 0/1, uint8 by 255, uint16 by 65535,
    float (TIFF, EXR...) taken as it is when it lies in [0, 1]. An alpha channel is dropped (grey
    + alpha gives grey). The EXIF orientation of a JPEG or TIFF (a phone's portrait photo is
    stored sideways with a tag saying so) is applied, so the image is the right way up. Anything else is refused with a ValueError that says what the file is:
    not an image, an animation or a multi-page file, signed or 32-bit integers, float data
    outside [0, 1], or an unexpected number of channels.

    Parameters
    ----------
    path : str or pathlib.Path
        An image file (PNG, JPEG, TIFF, BMP, PPM, ...).

    Returns
    -------
    ndarray
        float64 in [0, 1]: (H, W) grey or (H, W, 3) colour.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a still image of a supported sample type (the message says what it is).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, imageio.v3 as iio
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "grey.png"
    ...     iio.imwrite(path, np.array([[0, 255]], np.uint8))
    ...     read_image(path).tolist()
    [[0.0, 1.0]]
    """
    import imageio.v3 as iio
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        # our own file handle: imageio leaves its own open when no plugin can read the file; and
        # its legacy plugins' deprecation notes are not the user's business
        with open(p, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            img = np.asarray(iio.imread(fh, extension=p.suffix or None))
    except Exception as exc:  # imageio tries every plugin; its message suggests installing more
        with open(p, "rb") as fh:
            head = fh.read(16)
        raise ValueError(f"cannot read {path} as an image: it is not a picture file that imageio "
                         f"recognises (PNG, JPEG, TIFF, BMP, PPM, GIF...; the file starts with {head!r}). "
                         f"({type(exc).__name__})") from None
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim in (2, 3):
        img = _apply_exif_orientation(img, _exif_orientation(p))
    if img.ndim == 4 or (img.ndim == 3 and img.shape[-1] not in (1, 2, 3, 4)):
        raise ValueError(f"{path} holds {img.shape[0]} frames/pages of {img.shape[1:]} (an animation or a "
                         f"multi-page file): save the one frame to use as a still image")
    if img.ndim == 3 and img.shape[2] in (2, 4):
        img = img[..., :-1]  # drop alpha
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim != 2 and not (img.ndim == 3 and img.shape[2] == 3):
        raise ValueError(f"{path} has shape {img.shape}; a grey (H, W) or colour (H, W, 3) image is needed")
    dt = img.dtype
    if dt == np.bool_:
        return img.astype(np.float64)
    if dt == np.uint8:
        return img.astype(np.float64) / 255.0
    if dt == np.uint16:
        return img.astype(np.float64) / 65535.0
    if dt.kind == "f":
        out = img.astype(np.float64)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{path} holds NaN or infinite samples: it is not a photo")
        lo, hi = float(out.min()), float(out.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"{path} holds {dt} samples in [{lo:.4g}, {hi:.4g}]; float images must lie in "
                             f"[0, 1] (rescale it, e.g. (x - x.min()) / (x.max() - x.min()), and pass the array)")
        return out
    raise ValueError(f"{path} holds {dt} samples; 1-bit, 8-bit or 16-bit unsigned, or float in [0, 1] can "
                     f"be read as a photo (convert it, or load it yourself and scale it to [0, 1])")


def _exif_orientation(path: Path) -> int:
    """The EXIF orientation tag (1-8) of an image file; 1 (as stored) when it has none or
    Pillow cannot read it."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            o = int(im.getexif().get(0x0112, 1))
    except Exception:  # not a Pillow format, or no EXIF: nothing to apply
        return 1
    return o if 1 <= o <= 8 else 1


def _apply_exif_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """``img`` (H, W[, C]) turned as EXIF ``orientation`` says (the operations of Pillow's
    ``ImageOps.exif_transpose``; a test checks the eight against it)."""
    t = (1, 0) + tuple(range(2, img.ndim))
    ops = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.transpose(t), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].transpose(t),
           8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(ops[orientation](img))


BUNDLED = ("coffee", "chelsea", "motorcycle")
PHOTOS = {  # name -> file under DEFOCUS_LAB_DATA
    "pumpkin": "photos/pumpkin.png", "flower": "photos/flower.png", "building": "photos/building.png",
    "bird": "photos/bird.png", "boy": "photos/boy.png", "iphone": "photos/iphone.ppm",
    "zhuo_coffee": "photos/coffee.ppm", "galetto_bird": "photos/galetto_bird.png",
    "rtf01": "rtf/image_01.png", "rtf05": "rtf/image_05.png",
    **{f"cuhk{n}": f"cuhk/image/out_of_focus00{n}.jpg" for n in ("08", "09", "11", "15", "31", "35")},
    **{f"dut{n}": f"dut/image/dut_{n}.jpg" for n in ("1", "2", "3")},
}


def image_names() -> list[str]:
    """Every name :func:`load_image` takes.

    Returns
    -------
    list of str
        The bundled names first (always available), then the external photos' (which need the data).

    Examples
    --------
    >>> image_names()[:3]
    ['coffee', 'chelsea', 'motorcycle']
    """
    return list(BUNDLED) + list(PHOTOS)


def load_image(name: str, *, download: bool = True) -> np.ndarray:
    """A named image as float64 RGB in [0, 1].

    Bundled: ``coffee``, ``chelsea``, ``motorcycle`` (left view). External (DEFOCUS_LAB_DATA):
    the papers' photos (``pumpkin``, ``flower``, ``building``, ``bird``, ``boy``, ``iphone``,
    ``zhuo_coffee``, ``galetto_bird``), ``rtf01``/``rtf05``, ``cuhk08``.., ``dut1``...

    Parameters
    ----------
    name : str
        One of :func:`image_names`.
    download : bool
        For an external photo not on this machine: download it (True) or raise
        :class:`DataMissing` (False; what the notebooks do).

    Returns
    -------
    ndarray (H, W, 3) float64
        The photo, RGB in [0, 1].

    Raises
    ------
    KeyError
        An unknown name (the message lists the names).
    DataMissing
        An external photo that is not here (and not downloaded).

    Examples
    --------
    >>> load_image("coffee").shape
    (400, 600, 3)
    """
    if name in BUNDLED:
        from skimage import data as skdata
        if name == "motorcycle":
            return skdata.stereo_motorcycle()[0].astype(np.float64) / 255.0
        return getattr(skdata, name)().astype(np.float64) / 255.0
    if name not in PHOTOS:
        raise KeyError(f"unknown image {name!r}; choose one of {image_names()}")
    return read_image(fetch(PHOTOS[name], download=download))


def load_stereo_motorcycle(*, fill: bool = True):
    """scikit-image's motorcycle pair: (left, right, disparity), images float RGB in [0, 1].

    The disparity (px) is inf where unknown; ``fill=True`` replaces those by the nearest known
    value (what a thin-lens rendering needs, see :func:`defocus_lab.synth.defocused_motorcycle`).
    """
    from skimage import data as skdata
    left, right, disp = skdata.stereo_motorcycle()
    disp = disp.astype(np.float64)
    return (left.astype(np.float64) / 255.0, right.astype(np.float64) / 255.0,
            fill_unknown(disp) if fill else disp)


def fill_unknown(disparity: np.ndarray) -> np.ndarray:
    """Replace non-finite or non-positive disparities by the nearest known value."""
    from scipy import ndimage as ndi
    bad = ~np.isfinite(disparity) | (disparity <= 0)
    if bad.all():
        raise ValueError("the disparity map has no valid value")
    _, (iy, ix) = ndi.distance_transform_edt(bad, return_indices=True)
    return disparity[iy, ix]


def load_first_available(names, fallback: str = "coffee"):
    """(name, image, skipped): the first of ``names`` available locally, else ``fallback``.

    ``skipped`` lists the names that were not available, for a notebook to say so.
    """
    skipped = []
    for n in names:
        try:
            return n, load_image(n, download=False), skipped
        except DataMissing:
            skipped.append(n)
    return fallback, load_image(fallback), skipped


# ----------------------------------------------------------------------------- ground truth

def rtf_table(*, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The RTF conversion table read from ``convertion.mat``: (Gaussian sigma, disk radius), 23 rows.

    The package converts units with the same table held as constants
    (:mod:`defocus_lab.conventions`, which works offline); this loader is what the test that
    checks those constants against the file reads."""
    from scipy.io import loadmat
    t = loadmat(fetch("rtf/convertion.mat", download=download))["convertion"].astype(np.float64)
    return t[:, 0].copy(), t[:, 1].copy()


def load_rtf(n: int | str, *, download: bool = True) -> dict:
    """RTF image ``n`` (1 or 5 here): {"image", "blur_disk" (ground truth, disk radius), "edges"}.

    Parameters
    ----------
    n : int or str
        The image number (see :func:`rtf_ids`).
    download : bool
        Download what is missing (else :class:`DataMissing`).

    Returns
    -------
    dict
        ``image`` (H, W, 3) float in [0, 1], ``blur_disk`` (H, W) the true blur as disk radius in
        pixels, ``edges`` (H, W) bool the authors' edge map.

    Examples
    --------
    >>> if available("rtf/image_01.png") and available("rtf/map_01.mat"):
    ...     rtf = load_rtf(1, download=False)
    ...     assert rtf["blur_disk"].shape == rtf["edges"].shape == rtf["image"].shape[:2]
    """
    from scipy.io import loadmat
    nn = f"{int(n):02d}"
    img = read_image(fetch(f"rtf/image_{nn}.png", download=download))
    gt = loadmat(fetch(f"rtf/map_{nn}.mat", download=download))["blurMap"].astype(np.float64)
    edges = read_image(fetch(f"rtf/edges/edge_{nn}.png", download=download))
    if edges.ndim == 3:
        edges = edges[..., 0]
    return {"image": img, "blur_disk": gt, "edges": edges > 0.5}


def rtf_ids() -> list[str]:
    """The numbers of the RTF images the lab registers, as two-digit strings.

    Returns
    -------
    list of str
        Sorted, e.g. ``["01", "05"]``.

    Examples
    --------
    >>> rtf_ids()
    ['01', '05']
    """
    return sorted({p.split("_")[1][:2] for p in registry() if p.startswith("rtf/image_")})


def load_mask(name: str, *, download: bool = True) -> np.ndarray:
    """Defocus mask of a CUHK (``cuhk08``..) or DUT (``dut1``..) image: True = out of focus (255).

    Parameters
    ----------
    name : str
        A CUHK (``"cuhk08"``, ...) or DUT (``"dut1"``, ...) name of :func:`image_names`.
    download : bool
        Download what is missing (else :class:`DataMissing`).

    Returns
    -------
    ndarray (H, W) bool
        True where the image is out of focus.

    Raises
    ------
    KeyError
        A name without a mask.

    Examples
    --------
    >>> if available("cuhk/gt/out_of_focus0008.png") and available("cuhk/image/out_of_focus0008.jpg"):
    ...     assert load_mask("cuhk08", download=False).shape == load_image("cuhk08", download=False).shape[:2]
    """
    if name.startswith("cuhk"):
        rel = f"cuhk/gt/out_of_focus00{name[4:]}.png"
    elif name.startswith("dut"):
        rel = f"dut/gt/dut_{name[3:]}.bmp"
    else:
        raise KeyError(f"masks exist for cuhk* and dut* images; got {name!r}")
    m = read_image(fetch(rel, download=download))
    if m.ndim == 3:
        m = m[..., 0]
    return m > 0.5


def detection_names(dataset: str = "cuhk") -> list[str]:
    return [n for n in PHOTOS if n.startswith(dataset)]


# ----------------------------------------------------------------------------- sharp photos (training)

SHARP_SETS = ("coco", "imagenet", "kodak24", "mcmaster")
BUNDLED_SHARP = ("astronaut", "rocket", "chelsea", "motorcycle")  # scikit-image photos in focus


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")  # what the Karaali 2022 trainer reads (its reports were made so)
ALL_PHOTO_SUFFIXES = PHOTO_SUFFIXES + (".tif", ".tiff")  # McMaster's crops are TIFF


def sharp_image_paths(sets=("coco", "imagenet"), suffixes=PHOTO_SUFFIXES) -> list[Path]:
    """All-in-focus photos under ``DEFOCUS_LAB_DATA/sharp/<set>/`` (sorted; empty when absent).

    These are training material (Karaali 2022, Sec. IV-A: 350 COCO + 350 ImageNet photos chosen
    as blur-free by Karaali; Kodak24's PNGs and McMaster's TIFF crops). ``suffixes``: the files
    read; the default leaves McMaster's TIFFs out, as the Karaali 2022 trainer always has (its
    committed reports' validation set is Kodak24's); Galetto & Deng's patches read
    :data:`ALL_PHOTO_SUFFIXES`. They are not pinned in the registry:
    ``shared/data/SOURCES.md`` names the repositories they come from.
    """
    bad = [s for s in sets if s not in SHARP_SETS]
    if bad:
        raise ValueError(f"unknown sharp sets {bad}; choose from {SHARP_SETS}")
    root = data_dir()
    if root is None:
        return []
    out = []
    for s in sets:
        d = root / "sharp" / s
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.suffix.lower() in tuple(suffixes))
    return out


def bundled_sharp_images() -> list[np.ndarray]:
    """scikit-image's in-focus colour photos (the training fallback without DEFOCUS_LAB_DATA)."""
    from skimage import data as skdata
    out = []
    for name in BUNDLED_SHARP:
        img = skdata.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skdata, name)()
        out.append(img.astype(np.float64) / 255.0)
    return out


WORKING_SIDE = 240  # px: the larger side of the copy the explorers' sliders work on


def working_copy(image: np.ndarray, side: int = WORKING_SIDE):
    """(copy, factor): ``image`` downsampled (anti-aliased, clipped to [0, 1]) so that its larger
    side is at most ``side`` px; the image itself and 1.0 when it is already that small.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        Float in [0, 1].
    side : int
        The largest side of the copy, px.

    Returns
    -------
    copy : ndarray
        The downsampled image (or ``image`` itself).
    factor : float
        The copy's scale (``copy`` side / ``image`` side, <= 1).

    Examples
    --------
    >>> copy, factor = working_copy(load_image("coffee"), side=240)
    >>> copy.shape, factor
    ((160, 240, 3), 0.4)
    """
    from skimage.transform import rescale
    big = max(image.shape[:2])
    if big <= side:
        return image, 1.0
    f = side / big
    ch = -1 if image.ndim == 3 else None
    return np.clip(rescale(image, f, channel_axis=ch, anti_aliasing=True), 0, 1), f
