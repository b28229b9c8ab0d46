"""Propagators: fill a sparse blur map over the whole image."""
from .cg import ConvergenceWarning, SolveInfo, pcg
from .domain_transform import domain_transform
from .matting import MattingSolver, matting
from .wgif import wgif

__all__ = ["matting", "MattingSolver", "domain_transform", "wgif", "pcg", "SolveInfo", "ConvergenceWarning"]
