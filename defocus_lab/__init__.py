"""defocus_lab: single-image defocus blur estimation, the papers' methods as a lab.

The pipeline: an estimator gives blur at some pixels (:class:`SparseBlur`), a propagator fills
the whole image, an application uses the dense map. Blur is Gaussian sigma in pixels.
"""
# numba's threading layer is numba's own choice (TBB, else OpenMP, else workqueue; set
# NUMBA_THREADING_LAYER to choose). The package pinned the workqueue layer until the explorers
# began to refine in a worker thread: workqueue aborts the process when two threads launch
# parallel kernels at once, OpenMP and TBB do not, and OpenMP is now also the faster here
# (benchmarks/bench_threading.py). Where numba falls back to workqueue, the explorers refine on
# the main thread instead (ui.base.Explorer.background).

from . import apps, conventions, data, estimate, kernels, metrics, propagate, synth
from .pipeline import ESTIMATORS, METHODS, PROPAGATORS, all_in_focus, estimate_defocus
from .types import SparseBlur

__version__ = "0.1.0"
__all__ = ["apps", "conventions", "data", "estimate", "kernels", "metrics", "propagate", "synth",
           "estimate_defocus", "all_in_focus", "METHODS", "ESTIMATORS", "PROPAGATORS", "SparseBlur", "__version__"]
