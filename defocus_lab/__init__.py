"""defocus_lab: single-image defocus blur estimation, the papers' methods as a lab.

The pipeline: an estimator gives blur at some pixels (:class:`SparseBlur`), a propagator fills
the whole image, an application uses the dense map. Blur is Gaussian sigma in pixels.
"""
import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ:
    # OpenMP's worker threads spin after each parallel kernel and, on a 2-core laptop, take the
    # core from the serial NumPy/SciPy steps between kernels (a propagation ran nearly twice as
    # long: benchmarks/design-notes.md); no nested parallelism here needs OpenMP.
    # Set NUMBA_THREADING_LAYER to choose another.
    import numba as _numba

    _numba.config.THREADING_LAYER = "workqueue"

from . import apps, conventions, data, estimate, kernels, metrics, propagate, synth
from .pipeline import ESTIMATORS, METHODS, PROPAGATORS, all_in_focus, estimate_defocus
from .types import SparseBlur

__version__ = "0.1.0"
__all__ = ["apps", "conventions", "data", "estimate", "kernels", "metrics", "propagate", "synth",
           "estimate_defocus", "all_in_focus", "METHODS", "ESTIMATORS", "PROPAGATORS", "SparseBlur", "__version__"]
