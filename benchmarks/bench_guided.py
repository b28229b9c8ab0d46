"""Guided filter: defocus_lab (numba) against OpenCV ximgproc.guidedFilter, side by side.

Colour guide, radius 8, epsilon 0.01 (guide in [0, 1]), at 800x536 and 4000x3000 (12 MP).
Both after a warm-up call; the two run alternately, 30 times each (5 at 12 MP), and the best
time of each is kept (alternating puts both under the same load when the machine is shared).
Prints seconds, the ratio, and max |difference| on the interior (OpenCV's border handling
differs: reflection instead of clipped windows).

    python benchmarks/bench_guided.py [--sizes 800x536 4000x3000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def best_of(f, n=10):
    f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def paired_best(f, g, n=30):
    """(best time of f, best time of g, f's result, g's result), f and g called alternately."""
    out_f, out_g = f(), g()
    tf, tg = [], []
    for _ in range(n):
        t = time.perf_counter()
        out_f = f()
        tf.append(time.perf_counter() - t)
        t = time.perf_counter()
        out_g = g()
        tg.append(time.perf_counter() - t)
    return min(tf), min(tg), out_f, out_g


def ximgproc():
    """OpenCV's cv2 module when its contrib ximgproc filters are installed, else None."""
    try:
        import cv2
    except ImportError:
        return None
    return cv2 if hasattr(cv2, "ximgproc") else None


def coffee_at(size: str):
    """scikit-image's coffee resized to ``size`` ("WxH"), float RGB in [0, 1]: (h, w, image)."""
    from skimage import data, transform
    w, h = (int(v) for v in size.lower().split("x"))
    return h, w, np.clip(transform.resize(data.coffee(), (h, w), order=1, anti_aliasing=False), 0, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["800x536", "4000x3000"])
    ap.add_argument("--radius", type=int, default=8)
    ap.add_argument("--eps", type=float, default=0.01)
    a = ap.parse_args()
    from defocus_lab.kernels.guided import guided_filter
    cv2 = ximgproc()
    print(f"radius {a.radius}, eps {a.eps}; ratio = defocus_lab time / OpenCV time")
    print(f"{'size':>10} {'defocus_lab s':>14} {'OpenCV s':>9} {'ratio':>6} {'max|diff| interior':>19}")
    for size in a.sizes:
        h, w, g = coffee_at(size)
        p = np.ascontiguousarray(g.mean(axis=2) + 0.05 * np.random.default_rng(0).standard_normal((h, w)))
        ours_f = lambda: guided_filter(g, p, a.radius, a.eps)  # noqa: E731
        if cv2 is not None:
            g32, p32 = g.astype(np.float32), p.astype(np.float32)
            t_ours, t_cv, ours, cv = paired_best(ours_f, lambda: cv2.ximgproc.guidedFilter(g32, p32, a.radius, a.eps),
                                                 n=30 if h * w < 4_000_000 else 5)
            r = 2 * a.radius
            diff = float(np.abs(ours[r:-r, r:-r] - cv[r:-r, r:-r]).max())
            print(f"{size:>10} {t_ours:14.3f} {t_cv:9.3f} {t_ours / t_cv:6.2f} {diff:19.2e}")
        else:
            t_ours, ours = best_of(ours_f)
            print(f"{size:>10} {t_ours:14.3f} {'-':>9} {'-':>6} {'-':>19}  (opencv-contrib not installed)")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import record
    with record(__file__):
        main()
