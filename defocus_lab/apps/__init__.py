"""Applications of a dense blur map (focus segmentation, defocus magnification) and the user's
corrections of a sparse one (boxes)."""
from .focus import magnify, segment_focus
from .scribble import apply_boxes

__all__ = ["segment_focus", "magnify", "apply_boxes"]
