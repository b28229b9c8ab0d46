"""Synthetic scenes with known blur: step edges, bar images, thin-lens defocus of a real RGB-D pair,
a smooth-surface scene (Kriener et al. Fig. 7)."""
from .edges import step_edge_1d, step_edge_image, bar_image, BarImage
from .lens import coc_diameter, defocused_motorcycle, DefocusedScene
from .scenes import smooth_surface_scene, SmoothSurfaceScene

__all__ = ["step_edge_1d", "step_edge_image", "bar_image", "BarImage", "coc_diameter",
           "defocused_motorcycle", "DefocusedScene", "smooth_surface_scene", "SmoothSurfaceScene"]
