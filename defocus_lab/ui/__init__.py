"""Widget builders for the notebooks: each returns an explorer with ``.controls`` (name ->
ipywidget), ``.widget`` (what the notebook displays), ``.result`` (the numbers behind the figure)
and ``.update()``; tests set ``.value`` on a control and read ``.result``. No algorithm lives here.
"""
from .base import Explorer, ImageExplorer, PhotoPicker, pick_image, progress, show_note, show_skipped, working_copy
from . import karaali, kriener, zhuo_sim

__all__ = ["Explorer", "ImageExplorer", "PhotoPicker", "progress", "working_copy", "pick_image", "show_note", "show_skipped",
           "karaali", "kriener", "zhuo_sim"]
