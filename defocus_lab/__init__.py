"""defocus_lab: single-image defocus blur estimation, the papers' methods as a lab.

The pipeline: an estimator gives blur at some pixels (:class:`SparseBlur`), a propagator fills
the whole image, an application uses the dense map. Blur is Gaussian sigma in pixels.
"""
from . import apps, data, estimate, kernels, metrics, propagate, synth
from .pipeline import ESTIMATORS, PROPAGATORS, estimate_defocus
from .types import SparseBlur

__version__ = "0.1.0"
__all__ = ["apps", "data", "estimate", "kernels", "metrics", "propagate", "synth",
           "estimate_defocus", "ESTIMATORS", "PROPAGATORS", "SparseBlur", "__version__"]
