"""Small torch networks and their weight loading (``.mat`` and ``.npz`` only: no pickle)."""
from .karaali import BLUR_LEVELS, MultiScaleNet, edge_logits, load_karaali2022, load_network

__all__ = ["MultiScaleNet", "load_karaali2022", "load_network", "edge_logits", "BLUR_LEVELS"]
