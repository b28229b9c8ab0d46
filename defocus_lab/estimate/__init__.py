"""Estimators: blur at some pixels (edges) of one image."""
from .edges import canny
from .karaali import classify_edges, karaali2022
from .kriener import kriener
from .zhuo_sim import gradient_ratio

__all__ = ["canny", "gradient_ratio", "kriener", "karaali2022", "classify_edges"]
