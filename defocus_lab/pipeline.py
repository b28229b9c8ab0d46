"""Registries of estimators and propagators, and the whole pipeline in one call."""
from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from .estimate.karaali import karaali2022
from .estimate.kriener import kriener
from .estimate.zhuo_sim import gradient_ratio
from .propagate.domain_transform import domain_transform
from .propagate.matting import matting
from .types import SparseBlur

ESTIMATORS: dict[str, Callable[..., SparseBlur]] = {
    "zhuo-sim": gradient_ratio, "kriener": kriener, "karaali2022": karaali2022}
PROPAGATORS: dict[str, Callable[..., np.ndarray]] = {
    "matting": matting, "domain-transform": domain_transform}

# The propagator each estimator's paper uses (estimate_defocus(propagation=None) picks it).
METHOD_PROPAGATION: dict[str, str] = {
    "zhuo-sim": "matting", "kriener": "matting", "karaali2022": "domain-transform"}

# The propagation settings that go with each estimator unless the caller overrides them:
# Zhuo & Sim (2011) use the propagator's defaults (3x3 windows, eps 1e-7, lambda 0.005, full
# resolution); Kriener et al. (2013, Sec. 2.3) 7x7 windows, eps 0.001, lambda 0.1, solved at half
# resolution and brought up by the guided fit (21x21, eps 0.01, the propagator's defaults).
# Karaali et al. (2022) the domain transform's defaults (their code: psi 20, sigma_r 3.75, ...).
# They apply only when the method runs with its paper's propagator.
METHOD_PROPAGATOR_OPTIONS: dict[str, dict] = {
    "zhuo-sim": {},
    "kriener": {"radius": 3, "eps": 1e-3, "lam": 0.1, "downsample": 2},
    "karaali2022": {},
}


def _takes(func, name: str) -> bool:
    return name in inspect.signature(func).parameters


def convert_units(blur, src: str, dst: str, mask=None):
    """Blur from unit ``src`` to ``dst`` ("sigma" or "disk") through the RTF table (linear
    interpolation); entries outside ``mask`` stay 0."""
    from .data import disk_to_sigma, sigma_to_disk
    for u in (src, dst):
        if u not in ("sigma", "disk"):
            raise ValueError(f"units must be 'sigma' or 'disk'; got {u!r}")
    if src == dst:
        return np.asarray(blur, dtype=np.float64)
    out = sigma_to_disk(blur) if src == "sigma" else disk_to_sigma(blur)
    return out if mask is None else np.where(mask, out, 0.0)


def estimate_defocus(image, *, method: str = "zhuo-sim", propagation: str | None = None, edges=None,
                     exclude=None, estimator_options: dict | None = None,
                     propagator_options: dict | None = None,
                     units: str | None = None) -> tuple[np.ndarray, SparseBlur]:
    """Sparse estimate, then propagation: returns (dense map, SparseBlur).

    ``method`` picks the estimator; ``propagation`` the propagator (default: the one of the
    method's paper, ``METHOD_PROPAGATION``). With the paper's propagator the paper's settings
    apply (``METHOD_PROPAGATOR_OPTIONS``; "kriener" is the preset of Kriener et al. 2013);
    ``propagator_options`` override them key by key. Depth edges found by the estimator go to
    propagators that take them. ``exclude`` (bool (H, W)) drops the sparse estimates inside a
    region before propagating (Zhuo & Sim, Fig. 10).

    ``units``: None returns the estimator's own unit (``sparse.units``: Gaussian sigma for
    Zhuo & Sim and Kriener, disk radius for Karaali 2022); "sigma" or "disk" converts the dense
    map and the sparse values through the RTF table (:func:`convert_units`).
    """
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(ESTIMATORS)}")
    if propagation is None:
        propagation = METHOD_PROPAGATION.get(method, "matting")
    if propagation not in PROPAGATORS:
        raise ValueError(f"unknown propagation {propagation!r}; choose one of {sorted(PROPAGATORS)}")
    if units not in (None, "sigma", "disk"):
        raise ValueError(f"units must be None, 'sigma' or 'disk'; got {units!r}")
    sparse = ESTIMATORS[method](image, edges=edges, **(estimator_options or {}))
    if exclude is not None:
        sparse = sparse.excluding(exclude)
    own = METHOD_PROPAGATION.get(method) == propagation
    options = {**(METHOD_PROPAGATOR_OPTIONS.get(method, {}) if own else {}), **(propagator_options or {})}
    prop = PROPAGATORS[propagation]
    if sparse.depth_edges is not None and _takes(prop, "depth_edges") and "depth_edges" not in options:
        options["depth_edges"] = sparse.depth_edges
    dense = prop(image, sparse.values, sparse.mask, **options)
    if units is not None and units != sparse.units:
        dense = convert_units(dense, sparse.units, units)
        raw = None if sparse.raw_values is None else convert_units(
            sparse.raw_values, sparse.units, units, sparse.edges if sparse.edges is not None else sparse.raw_values > 0)
        sparse = SparseBlur(convert_units(sparse.values, sparse.units, units, sparse.mask), sparse.mask,
                            sparse.edges, sparse.depth_edges, units, raw)
    return dense, sparse
