"""Estimators: blur at some pixels (edges) of one image."""
from ..edges import canny
from .galetto import galetto2022
from .karaali import classify_edges, karaali2022
from .kriener import kriener2013
from .zhuo_sim import zhuo2011

__all__ = ["canny", "zhuo2011", "kriener2013", "karaali2022", "galetto2022", "classify_edges"]
