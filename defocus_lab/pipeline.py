"""Registries of methods, estimators and propagators, and the whole pipeline in one call.

Naming rule (README, "Architecture"): a method's registry key is its estimator function's name,
the first author's surname and the year in lower case (``zhuo2011``, ``kriener2013``,
``karaali2022``); a propagator's key is its function's name (``matting``,
``domain_transform``). The notebooks write the paper as ``Method.citation`` ("Zhuo & Sim 2011")
followed by the key in code font.
"""
from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np

from ._cache import cached
from ._validate import as_image
from .conventions import convert_units
from .estimate import galetto as _galetto
from .estimate import karaali as _karaali
from .estimate import kriener as _kriener
from .estimate import zhuo_sim as _zhuo_sim
from .propagate.domain_transform import domain_transform
from .propagate.matting import matting
from .propagate.wgif import wgif
from .types import Method, SparseBlur

# Each paper's method and preset is defined beside its estimator; this is the one table.
METHODS: dict[str, Method] = {m.name: m for m in (_zhuo_sim.METHOD, _kriener.METHOD, _karaali.METHOD,
                                                  _galetto.METHOD)}
ESTIMATORS: dict[str, Callable[..., SparseBlur]] = {k: m.estimate for k, m in METHODS.items()}
PROPAGATORS: dict[str, Callable[..., np.ndarray]] = {"matting": matting, "domain_transform": domain_transform,
                                                     "wgif": wgif}

# Names used before the naming rule (0.1.0): accepted with a FutureWarning.
RENAMED = {"zhuo-sim": "zhuo2011", "kriener": "kriener2013", "domain-transform": "domain_transform"}

__all__ = ["METHODS", "ESTIMATORS", "PROPAGATORS", "estimate_defocus", "all_in_focus", "convert_units"]


def _resolve(name, table, what):
    if name in RENAMED:
        new = RENAMED[name]
        warnings.warn(f"{what} {name!r} is now called {new!r}; the old name will be removed",
                      FutureWarning, stacklevel=3)
        name = new
    if name not in table:
        raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(table)}")
    return name


PROGRESS_PIXELS = 2_000_000  # estimate_defocus shows its stages above this size (progress=None)


def _resolution_note(prop, image, options) -> str:
    """" at 1/8 resolution" when the propagator will solve below full resolution (its
    ``resolution(shape, **options)``), else ""."""
    resolution = getattr(prop, "resolution", None)
    if resolution is None:
        return ""
    d = resolution(image.shape[:2], **options)
    return f" at 1/{d} resolution" if d > 1 else " at full resolution"


def explain_empty(image, sparse: SparseBlur) -> str:
    """Why ``sparse`` holds no value, in words a user can act on."""
    if sparse.edges is not None and not sparse.edges.any():
        img = np.asarray(image)
        if float(np.ptp(img)) < 1e-6:
            return (f"the image has no edges: it is constant (every pixel {float(img.flat[0]):.4g}), so "
                    f"there is no blur to measure")
        return ("the edge detector found no edge in this image: lower its thresholds (e.g. "
                "estimator_options={'canny_high': 0.05}) or pass an edge map (edges=...)")
    if sparse.edges is not None:
        return (f"none of the {int(sparse.edges.sum())} edge pixels gave a valid estimate (all were "
                f"dropped as out of range): try the other variant or inversion, or other thresholds")
    return "the estimator returned no sparse value"


@cached(ignore=("progress",))
def estimate_defocus(image, *, method: str = "zhuo2011", propagation: str | None = None, edges=None,
                     exclude=None, estimator_options: dict | None = None,
                     propagator_options: dict | None = None,
                     units: str | None = None, return_info: bool = False, progress: bool | None = None,
                     sparse: SparseBlur | None = None):
    """Estimate a dense defocus map: a method's sparse estimate, then a propagator.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        uint8, uint16 or float in [0, 1].
    method : str
        Registry key of the estimator (:data:`METHODS`): ``"zhuo2011"`` (default),
        ``"kriener2013"``, ``"karaali2022"`` or ``"galetto2022"``.
    propagation : str, optional
        Registry key of the propagator (:data:`PROPAGATORS`): ``"matting"``,
        ``"domain_transform"`` or ``"wgif"`` (Galetto & Deng's refinement). Default: the method's own (its preset).
    edges : ndarray (H, W) bool, optional
        A precomputed edge map for the estimator (default: the method's detector).
    exclude : ndarray (H, W) bool, optional
        Sparse estimates inside this region are dropped before propagating (Zhuo & Sim, Fig. 10).
    estimator_options : dict, optional
        Keyword arguments of the estimator (e.g. ``{"variant": "code"}`` for ``zhuo2011``).
    propagator_options : dict, optional
        Keyword arguments of the propagator. With the method's own propagator they override its
        preset key by key; with another propagator they are the only options.
    units : {None, "sigma", "disk"}
        None returns the estimator's own unit (``sparse.units``: Gaussian sigma for Zhuo & Sim,
        Kriener and Galetto & Deng, disk radius for Karaali 2022); "sigma" or "disk" converts the dense map and
        the sparse values through the RTF table (:func:`defocus_lab.conventions.convert_units`).
    progress : bool or None
        A tqdm bar (the notebook's bar in Jupyter) over the two stages, naming the one under way
        and the resolution of the propagation; None: shown above :data:`PROGRESS_PIXELS`
        pixels (where the whole call takes more than about 2 s on 2 cores).
    sparse : SparseBlur, optional
        The method's sparse estimate of this image, already computed (with the same ``edges`` and
        ``estimator_options``): the estimator is skipped and only the propagation runs (what a
        sweep over propagator options does, :mod:`defocus_lab.sweep`). Its shape must be the
        image's; ``info["seconds"]["estimate"]`` is then 0.
    return_info : bool
        Also return a dict of what ran: ``method``, ``propagation``, the propagator's
        ``options`` (the preset merged with yours), ``seconds`` per stage (``estimate``,
        ``propagate``), ``edges`` (sparse pixels) and, from the matting propagator, ``solve``
        (its :class:`~defocus_lab.propagate.cg.SolveInfo`) and ``downsample`` (1: solved at full
        resolution; more at photo size, see the presets' ``max_pixels``).

    Returns
    -------
    dense : ndarray (H, W) float64
        The defocus map, >= 0, in ``units``.
    sparse : SparseBlur
        The estimator's output (after ``exclude``, in ``units``).
    info : dict
        Only with ``return_info``.

    Raises
    ------
    ValueError
        Unknown method, propagator or unit; bad image or options (the message says how to fix
        the call); no sparse estimate at all (the message says why: a constant image, no edge
        found, every estimate out of range); a problem too large for this machine's memory
        (the message names the options that fit).

    Notes
    -----
    The propagator receives the whole :class:`SparseBlur` and reads what it understands: the
    matting propagator ``confidence``, the domain transform ``depth_edges``. A propagator may
    carry a ``preflight(shape, **options)`` check (the matting propagator's memory estimate);
    it runs before the estimator, so that a photo too large for the machine is refused at once. Old names
    ("zhuo-sim", "kriener", "domain-transform") still work with a FutureWarning.

    Examples
    --------
    >>> import numpy as np
    >>> from defocus_lab.synth import step_edge_image
    >>> image = step_edge_image(48, sigma=2.0)
    >>> dense, sparse = estimate_defocus(image, estimator_options={"bilateral": None})
    >>> dense.shape, sparse.units
    ((48, 48), 'sigma')
    >>> bool(abs(np.median(dense) - 2.0) < 0.2)
    True
    >>> disk, _ = estimate_defocus(image, estimator_options={"bilateral": None}, units="disk")
    >>> bool(disk.max() > dense.max())
    True
    """
    method = _resolve(method, METHODS, "method")
    preset = METHODS[method]
    propagation = preset.propagator if propagation is None else _resolve(propagation, PROPAGATORS,
                                                                           "propagation")
    if units not in (None, "sigma", "disk"):
        raise ValueError(f"units must be None, 'sigma' or 'disk'; got {units!r}")
    img = as_image(image)
    own = propagation == preset.propagator
    options = {**(preset.options if own else {}), **(propagator_options or {})}
    prop = PROPAGATORS[propagation]
    preflight = getattr(prop, "preflight", None)
    if preflight is not None:  # refuse what cannot fit before minutes of estimation
        preflight(img.shape[:2], **options)
    bar = None
    if progress or (progress is None and img.shape[0] * img.shape[1] > PROGRESS_PIXELS):
        from tqdm.auto import tqdm
        bar = tqdm(total=2, desc=f"{method}: estimating", unit="stage")
    try:
        t0 = time.perf_counter()
        if sparse is None:
            sparse = preset.estimate(img, edges=edges, **(estimator_options or {}))
        elif not isinstance(sparse, SparseBlur) or sparse.shape != img.shape[:2]:
            raise ValueError(f"sparse must be the SparseBlur of this {img.shape[1]}x{img.shape[0]} image "
                             f"(from {method}'s estimator); got {type(sparse).__name__} "
                             f"{getattr(sparse, 'shape', '')}")
        if exclude is not None:
            sparse = sparse.excluding(exclude)
        if not sparse.mask.any():
            raise ValueError(f"no sparse blur estimate to propagate: {explain_empty(img, sparse)}")
        t1 = time.perf_counter()
        if bar is not None:
            bar.set_description(f"{method}: {propagation} propagation{_resolution_note(prop, img, options)}")
            bar.update(1)
        info = {"method": method, "propagation": propagation, "options": dict(options),
                "edges": int(sparse.mask.sum())}
        if getattr(prop, "returns_info", False):
            dense, solve = prop(img, sparse, **options, return_info=True)
            info.update(solve=solve, downsample=getattr(solve, "downsample", 1))
        else:
            dense = prop(img, sparse, **options)
        info["seconds"] = {"estimate": t1 - t0, "propagate": time.perf_counter() - t1}
        if bar is not None:
            bar.set_description(f"{method}: done")
            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if units is not None and units != sparse.units:
        dense = convert_units(dense, sparse.units, units)
        raw = None if sparse.raw_values is None else convert_units(
            sparse.raw_values, sparse.units, units, sparse.edges if sparse.edges is not None else sparse.raw_values > 0)
        sparse = sparse.replace(values=convert_units(sparse.values, sparse.units, units, sparse.mask),
                                raw_values=raw, units=units)
    return (dense, sparse, info) if return_info else (dense, sparse)


SCHEMES = ("guarded", "paper")


def all_in_focus(image, *, method: str = "zhuo2011", propagation: str | None = None, scheme: str = "guarded",
                 max_pixels: int | None = None, **options):
    """An all-in-focus image from one photo: a defocus map by :func:`estimate_defocus` with
    ``method`` (in sigma px), then the deblurring.

    ``scheme="guarded"`` (default, what `defocus-lab deblur` runs): the map is estimated on a copy
    of at most ``max_pixels`` (default :data:`defocus_lab.apps.restore.MAX_PIXELS`) and handed to
    :func:`defocus_lab.apps.restore.restore_photo`, which restores only where the evidence says
    the photo is blurred; returns its :class:`~defocus_lab.apps.restore.RestoredPhoto`.
    ``scheme="paper"``: the paper's layers at full size, every pixel of a blurred layer
    deconvolved (:func:`defocus_lab.apps.deblur.deblur`); returns its
    :class:`~defocus_lab.apps.deblur.DeblurResult`. ``options`` pass through to either
    (``n_layers``, ``lam1``, ``progress``; ``refine`` for the first, ``k0``, ``iterations``, ...
    for the second).

    The default method is Zhuo & Sim 2011. On the lab's held-out half-sharp scenes
    (``benchmarks/results/table_deblur_photo.md``) its map meets the goals on every scene (whole
    image at least +1.48 dB, in-focus half at least -0.12 dB); Karaali 2022's map does a little
    better on average (+2.70 against +2.46 dB) but needs the authors' trained weights (a download)
    and takes longer; Kriener 2013's and Galetto 2022's maps leave some scene unrestored.

    Parameters
    ----------
    image : ndarray (H, W) or (H, W, 3)
        The photo (uint8, uint16 or float in [0, 1]).
    method : str
        The estimator of the map (:data:`METHODS`).
    propagation : str, optional
        Its propagator (default: the method's own).
    scheme : {"guarded", "paper"}
        Restore where the evidence says the photo is blurred, or deconvolve every blurred layer.
    max_pixels : int, optional
        The largest copy the map is estimated on (the guarded scheme).
    **options
        Passed to the deblurring (see above).

    Returns
    -------
    RestoredPhoto or DeblurResult
        Its ``image`` is the all-in-focus photo, float in [0, 1], of the input's shape.

    Raises
    ------
    ValueError
        An unknown scheme or method, bad options, or an image too small to estimate a map on.

    Examples
    --------
    >>> from defocus_lab.synth.layers import layered_scene, motorcycle_layers
    >>> sharp, bands = motorcycle_layers(scale=0.15)
    >>> scene = layered_scene(sharp, bands, (0, 3, 5), kind="pupil", noise=0.0, seed=0)
    >>> restored = all_in_focus(scene.blurred)
    >>> restored.image.shape == scene.blurred.shape
    True
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}; got {scheme!r}")
    if scheme == "paper":
        from .apps.deblur import deblur
        if max_pixels is not None:
            raise ValueError('max_pixels is for scheme="guarded"; the paper\'s scheme runs at full size')
        blur_map, _ = estimate_defocus(image, method=method, propagation=propagation, units="sigma")
        return deblur(image, blur_map=blur_map, **options)
    from skimage.transform import resize

    from .apps import restore
    img = as_image(image)
    limit = restore.MAX_PIXELS if max_pixels is None else int(max_pixels)
    if limit < 4096:
        raise ValueError(f"max_pixels must be at least 4096 (a 64x64 copy); got {max_pixels}")
    f = restore.working_scale(img.shape[:2], limit)
    copy = img
    if f < 1:
        shape = (max(64, round(img.shape[0] * f)), max(64, round(img.shape[1] * f)))
        copy = np.clip(resize(img, shape + img.shape[2:], order=1, anti_aliasing=True), 0.0, 1.0)
    blur_map, _ = estimate_defocus(copy, method=method, propagation=propagation, units="sigma")
    return restore.restore_photo(img, blur_map, **options)
