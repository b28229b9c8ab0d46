"""Registries of estimators and propagators, and the whole pipeline in one call."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .estimate.kriener import kriener
from .estimate.zhuo_sim import gradient_ratio
from .propagate.matting import matting
from .types import SparseBlur

ESTIMATORS: dict[str, Callable[..., SparseBlur]] = {"zhuo-sim": gradient_ratio, "kriener": kriener}
PROPAGATORS: dict[str, Callable[..., np.ndarray]] = {"matting": matting}

# The propagation settings that go with each estimator unless the caller overrides them:
# Zhuo & Sim (2011) use the propagator's defaults (3x3 windows, eps 1e-7, lambda 0.005, full
# resolution); Kriener et al. (2013, Sec. 2.3) 7x7 windows, eps 0.001, lambda 0.1, solved at half
# resolution and brought up by the guided fit (21x21, eps 0.01, the propagator's defaults).
METHOD_PROPAGATOR_OPTIONS: dict[str, dict] = {
    "zhuo-sim": {},
    "kriener": {"radius": 3, "eps": 1e-3, "lam": 0.1, "downsample": 2},
}


def estimate_defocus(image, *, method: str = "zhuo-sim", propagation: str = "matting", edges=None,
                     exclude=None, estimator_options: dict | None = None,
                     propagator_options: dict | None = None) -> tuple[np.ndarray, SparseBlur]:
    """Sparse estimate, then propagation: returns (dense map, SparseBlur), sigma in px.

    ``method`` picks the estimator and the propagation settings that go with it
    (``METHOD_PROPAGATOR_OPTIONS``; "kriener" is the preset of Kriener et al. 2013);
    ``propagator_options`` override them key by key. ``exclude`` (bool (H, W)) drops the sparse estimates inside a region before propagating
    (Zhuo & Sim, Fig. 10).
    """
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(ESTIMATORS)}")
    if propagation not in PROPAGATORS:
        raise ValueError(f"unknown propagation {propagation!r}; choose one of {sorted(PROPAGATORS)}")
    sparse = ESTIMATORS[method](image, edges=edges, **(estimator_options or {}))
    if exclude is not None:
        sparse = sparse.excluding(exclude)
    options = {**METHOD_PROPAGATOR_OPTIONS.get(method, {}), **(propagator_options or {})}
    dense = PROPAGATORS[propagation](image, sparse.values, sparse.mask, **options)
    return dense, sparse
