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
    """
    values: np.ndarray
    mask: np.ndarray
    edges: np.ndarray | None = None
    depth_edges: np.ndarray | None = None
    units: str = "sigma"

    def __post_init__(self):
        if self.values.shape != self.mask.shape:
            raise ValueError(f"values {self.values.shape} and mask {self.mask.shape} must share a shape")

    @property
    def shape(self):
        return self.values.shape

    def excluding(self, region) -> "SparseBlur":
        """A copy with the estimates inside ``region`` (bool (H, W)) removed (Zhuo & Sim, Fig. 10)."""
        region = np.asarray(region, dtype=bool)
        if region.shape != self.shape:
            raise ValueError(f"region must have shape {self.shape}; got {region.shape}")
        mask = self.mask & ~region
        return SparseBlur(np.where(mask, self.values, 0.0), mask, self.edges, self.depth_edges, self.units)
