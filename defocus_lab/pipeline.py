"""Registries of estimators and propagators, and the whole pipeline in one call."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .estimate.zhuo_sim import gradient_ratio
from .propagate.matting import matting
from .types import SparseBlur

ESTIMATORS: dict[str, Callable[..., SparseBlur]] = {"zhuo-sim": gradient_ratio}
PROPAGATORS: dict[str, Callable[..., np.ndarray]] = {"matting": matting}


def estimate_defocus(image, *, method: str = "zhuo-sim", propagation: str = "matting", edges=None,
                     exclude=None, estimator_options: dict | None = None,
                     propagator_options: dict | None = None) -> tuple[np.ndarray, SparseBlur]:
    """Sparse estimate, then propagation: returns (dense map, SparseBlur), sigma in px.

    ``exclude`` (bool (H, W)) drops the sparse estimates inside a region before propagating
    (Zhuo & Sim, Fig. 10).
    """
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(ESTIMATORS)}")
    if propagation not in PROPAGATORS:
        raise ValueError(f"unknown propagation {propagation!r}; choose one of {sorted(PROPAGATORS)}")
    sparse = ESTIMATORS[method](image, edges=edges, **(estimator_options or {}))
    if exclude is not None:
        sparse = sparse.excluding(exclude)
    dense = PROPAGATORS[propagation](image, sparse.values, sparse.mask, **(propagator_options or {}))
    return dense, sparse
