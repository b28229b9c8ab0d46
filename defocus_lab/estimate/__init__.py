"""Estimators: blur at some pixels (edges) of one image."""
from .edges import canny
from .kriener import kriener
from .zhuo_sim import gradient_ratio

__all__ = ["canny", "gradient_ratio", "kriener"]
