"""Propagators: fill a sparse blur map over the whole image."""
from .cg import ConvergenceWarning, SolveInfo, pcg
from .matting import MattingSolver, matting

__all__ = ["matting", "MattingSolver", "pcg", "SolveInfo", "ConvergenceWarning"]
