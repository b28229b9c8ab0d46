"""Applications of a dense blur map: focus segmentation, defocus magnification."""
from .focus import segment_focus, magnify

__all__ = ["segment_focus", "magnify"]
