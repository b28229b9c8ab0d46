"""Synthetic scenes with known blur: step edges, bar images, thin-lens defocus of a real RGB-D pair."""
from .edges import step_edge_1d, step_edge_image, bar_image, BarImage
from .lens import coc_diameter, defocused_motorcycle, DefocusedScene

__all__ = ["step_edge_1d", "step_edge_image", "bar_image", "BarImage", "coc_diameter",
           "defocused_motorcycle", "DefocusedScene"]
