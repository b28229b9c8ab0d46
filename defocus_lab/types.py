"""Small data types that join the stages of the pipeline (estimator -> propagator -> application)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SparseBlur:
    """Blur known at some pixels.

    Attributes
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
    """
    values: np.ndarray
    mask: np.ndarray
    edges: np.ndarray | None = None
    depth_edges: np.ndarray | None = None
    units: str = "sigma"
    raw_values: np.ndarray | None = None

    def __post_init__(self):
        if self.values.shape != self.mask.shape:
            raise ValueError(f"values {self.values.shape} and mask {self.mask.shape} must share a shape")
        if self.units not in ("sigma", "disk"):
            raise ValueError(f"units must be 'sigma' or 'disk'; got {self.units!r}")

    @property
    def shape(self):
        return self.values.shape

    def excluding(self, region) -> "SparseBlur":
        """A copy with the estimates inside ``region`` (bool (H, W)) removed (Zhuo & Sim, Fig. 10)."""
        region = np.asarray(region, dtype=bool)
        if region.shape != self.shape:
            raise ValueError(f"region must have shape {self.shape}; got {region.shape}")
        mask = self.mask & ~region
        return SparseBlur(np.where(mask, self.values, 0.0), mask, self.edges, self.depth_edges, self.units,
                          self.raw_values)

    def all_values(self) -> np.ndarray:
        """``raw_values`` when the estimator kept them, else ``values``."""
        return self.values if self.raw_values is None else self.raw_values
