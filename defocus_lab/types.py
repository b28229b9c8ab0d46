"""Small data types that join the stages of the pipeline (estimator -> propagator -> application).

The contract between the stages, stated once:

- an estimator is ``f(image, *, edges=None, ...) -> SparseBlur``;
- a propagator is ``g(image, sparse: SparseBlur, *, ...) -> ndarray (H, W)``: it reads the fields
  of :class:`SparseBlur` it understands (``values`` and ``mask`` always; ``confidence`` and
  ``depth_edges`` where its method has a use for them) and ignores the rest;
- an application takes the image and a dense map.

:class:`Method` ties an estimator to its paper's propagator and settings (its preset).
"""
from __future__ import annotations

__all__ = ["SparseBlur", "as_sparse", "Method"]

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from ._validate import as_map, as_mask
from .conventions import check_units


@dataclass
class SparseBlur:
    """Blur known at some pixels (the parameters are kept as attributes of the same names).

    Parameters
    ----------
    values : ndarray (H, W) float64
        Blur (Gaussian sigma in pixels unless ``units`` says otherwise); 0 where ``mask`` is False.
    mask : ndarray (H, W) bool
        Where ``values`` are defined.
    edges : ndarray (H, W) bool or None
        The edge map the estimate was taken on (a superset of ``mask``).
    depth_edges : ndarray (H, W) bool or None
        Edge pixels classified as depth edges (Karaali 2022); None for methods without them.
    units : str
        "sigma" (Gaussian std, px) or "disk" (disk radius, px: the RTF convention).
    raw_values : ndarray (H, W) float64 or None
        The estimator's value at every edge pixel, before any are dropped (Karaali 2022: B-NET's
        class value at depth edges too); 0 elsewhere. None when it equals ``values``.
    confidence : ndarray (H, W) float64 or None
        How much each sparse value is trusted (>= 0; None: all equally). The matting propagator
        makes it the per-pixel weight of its data term; propagators without such a term ignore it.

    Notes
    -----
    Blur is never negative: a negative or non-finite value where ``mask`` is True is a ValueError
    (an estimator clips or drops such estimates itself and says which in its docstring).
    Construction makes ``values`` float64 and ``mask`` bool and zeroes ``values`` off the mask.

    Examples
    --------
    >>> import numpy as np
    >>> sb = SparseBlur(np.array([[1.0, 0.0], [0.0, 2.0]]), np.eye(2, dtype=bool))
    >>> sb.shape, int(sb.mask.sum())
    ((2, 2), 2)
    >>> SparseBlur(np.array([[-1.0]]), np.ones((1, 1), bool))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: sparse blur values must be >= 0 where mask is True (blur is never negative); ...
    """
    values: np.ndarray
    mask: np.ndarray
    edges: np.ndarray | None = None
    depth_edges: np.ndarray | None = None
    units: str = "sigma"
    raw_values: np.ndarray | None = None
    confidence: np.ndarray | None = None

    def __post_init__(self):
        shape = np.shape(self.values)
        if len(shape) != 2:
            raise ValueError(f"SparseBlur values must be a 2-D (H, W) map; got shape {shape}")
        self.mask = as_mask(self.mask, shape, name="mask")
        vals = np.asarray(self.values)
        if vals.dtype.kind not in "fiu":
            raise ValueError(f"SparseBlur values must be real numbers; got dtype {vals.dtype}")
        vals = np.where(self.mask, vals, 0.0).astype(np.float64)  # NaN off the mask is harmless
        if not np.all(np.isfinite(vals)):
            raise ValueError("sparse blur values contain NaN or infinite values where mask is True: "
                             "leave those pixels out of the mask")
        neg = vals < 0
        if neg.any():
            raise ValueError(f"sparse blur values must be >= 0 where mask is True (blur is never negative); "
                             f"{int(neg.sum())} pixel(s) are negative, minimum {vals.min():.4g}: clip them "
                             f"(np.maximum(values, 0)) or leave them out of the mask")
        self.values = vals
        check_units(self.units)
        for name in ("edges", "depth_edges"):
            if getattr(self, name) is not None:
                setattr(self, name, as_mask(getattr(self, name), shape, name=name))
        if self.raw_values is not None:
            self.raw_values = as_map(self.raw_values, shape, name="raw_values")
        if self.confidence is not None:
            conf = as_map(self.confidence, shape, name="confidence")
            if conf.min() < 0:
                raise ValueError("confidence must be >= 0 (0: ignore the value, 1: the default weight)")
            self.confidence = conf

    @property
    def shape(self):
        return self.values.shape

    def excluding(self, region) -> "SparseBlur":
        """A copy with the estimates inside ``region`` (bool (H, W)) removed (Zhuo & Sim, Fig. 10)."""
        region = np.asarray(region, dtype=bool)
        if region.shape != self.shape:
            raise ValueError(f"region must have shape {self.shape}; got {region.shape}")
        return self.replace(mask=self.mask & ~region)

    def replace(self, **changes) -> "SparseBlur":
        """A copy with the given fields changed (validated like a new SparseBlur)."""
        return dataclasses.replace(self, **changes)

    def all_values(self) -> np.ndarray:
        """``raw_values`` when the estimator kept them, else ``values``."""
        return self.values if self.raw_values is None else self.raw_values


def as_sparse(sparse, mask=None) -> SparseBlur:
    """The propagators' second argument as a :class:`SparseBlur`.

    A SparseBlur is returned as it is (``mask`` must then be None); a values array with its
    ``mask`` (the array form, kept as a convenience: ``matting(image, values, mask)``) is wrapped.

    Parameters
    ----------
    sparse : SparseBlur or ndarray (H, W)
        What an estimator returned, or blur values.
    mask : ndarray (H, W) bool, optional
        Where the values are defined; only with a values array.

    Returns
    -------
    SparseBlur
        ``sparse`` itself, or the values and mask wrapped.

    Raises
    ------
    ValueError
        A SparseBlur given with a mask, or an array without one.

    Examples
    --------
    >>> import numpy as np
    >>> sb = as_sparse(np.array([[0.0, 2.0]]), np.array([[False, True]]))
    >>> sb.units, sb.values.tolist()
    ('sigma', [[0.0, 2.0]])
    >>> as_sparse(sb) is sb
    True
    """
    if isinstance(sparse, SparseBlur):
        if mask is not None:
            raise ValueError("pass either a SparseBlur or (values, mask), not both: the SparseBlur has "
                             "its mask; use sparse.replace(mask=...) to change it")
        return sparse
    if mask is None:
        raise ValueError(f"expected a SparseBlur (what the estimators return) or a values array followed "
                         f"by its mask; got {type(sparse).__name__} without a mask")
    return SparseBlur(sparse, mask)


@dataclass(frozen=True)
class Method:
    """A paper's method: its estimator and its preset (the propagator and the settings the paper
    uses with it). The parameters are kept as attributes of the same names.

    Parameters
    ----------
    name : str
        The registry key; by the naming rule (README, "Architecture") it is the estimator
        function's name: first author and year, lower case (``zhuo2011``).
    estimate : callable
        ``f(image, *, edges=None, ...) -> SparseBlur``.
    propagator : str
        Registry key of the paper's propagator.
    options : mapping
        The paper's settings for that propagator (key by key, over its defaults).
    citation : str
        How the notebooks and the CLI name the paper ("Zhuo & Sim 2011").

    Examples
    --------
    >>> from defocus_lab import METHODS
    >>> m = METHODS["zhuo2011"]
    >>> m.propagator, m.options["lam"]
    ('matting', 0.005)
    """
    name: str
    estimate: Callable[..., SparseBlur]
    propagator: str
    options: Mapping = field(default_factory=dict)
    citation: str = ""
