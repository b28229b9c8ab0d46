"""Synthetic scenes with known blur: step edges, bar images, thin-lens defocus of a real RGB-D pair,
a smooth-surface scene (Kriener et al. Fig. 7), disk-blurred composites (Karaali et al. Fig. 4)."""
from .edges import step_edge_1d, step_edge_image, bar_image, BarImage
from .lens import coc_diameter, defocused_motorcycle, DefocusedScene
from .scenes import smooth_surface_scene, SmoothSurfaceScene
from .karaali import disk_blur, blob_mask, foreground_background, CompositeScene

__all__ = ["step_edge_1d", "step_edge_image", "bar_image", "BarImage", "coc_diameter",
           "defocused_motorcycle", "DefocusedScene", "smooth_surface_scene", "SmoothSurfaceScene",
           "disk_blur", "blob_mask", "foreground_background", "CompositeScene"]
