"""Propagators: fill a sparse blur map over the whole image."""
from .cg import ConvergenceWarning, SolveInfo, pcg
from .matting import matting

__all__ = ["matting", "pcg", "SolveInfo", "ConvergenceWarning"]
