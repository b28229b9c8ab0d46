"""Numba kernels, one concern per module.

Each module holds private ``_name`` kernels compiled lazily with ``cache=True`` (no eager
signatures, so ``import defocus_lab`` compiles nothing) and thin public wrappers that validate,
make arrays contiguous float64, allocate outputs and call the kernel. Every kernel has a plain
NumPy reference in ``tests/naive.py``.
"""
from .boxfilter import box_sum, box_mean
from .matting import MattingWindows
from .gradient_ratio import blur_from_ratio
from .bilateral import sparse_bilateral
from .domain_transform import recursive_filter

__all__ = ["box_sum", "box_mean", "MattingWindows", "blur_from_ratio", "sparse_bilateral", "recursive_filter"]
