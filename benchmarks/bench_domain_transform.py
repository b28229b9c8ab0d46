"""Domain-transform recursive filter: defocus_lab (numba) against OpenCV ximgproc.dtFilter.

The same operation on both sides: a colour image filtered along its own domain transform
(mode DTF_RF, Gastal & Oliveira's recursive filter), sigma_s 20, sigma_r 0.2 (image in [0, 1]),
3 iterations; OpenCV works in float32, defocus_lab in float64 (its default) and in float32
(``dtype=np.float32``); psi = 0 (OpenCV has no depth-edge penalty). All after a warm-up call;
best of n. Prints seconds, the ratios to OpenCV and max |difference|.

    python benchmarks/bench_domain_transform.py [--sizes 800x536 4000x3000] [--iterations 3]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from bench_guided import best_of, coffee_at, ximgproc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["800x536", "4000x3000"])
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--sigma-s", type=float, default=20.0)
    ap.add_argument("--sigma-r", type=float, default=0.2)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    from defocus_lab.kernels.domain_transform import recursive_filter
    cv2 = ximgproc()
    print(f"sigma_s {a.sigma_s}, sigma_r {a.sigma_r}, {a.iterations} iterations, colour image filtered by "
          f"itself; ratio = defocus_lab time / OpenCV time")
    print(f"{'size':>10} {'float64 s':>10} {'float32 s':>10} {'OpenCV s':>9} {'ratio64':>8} {'ratio32':>8} "
          f"{'max|diff|':>10}")
    for size in a.sizes:
        _, _, img = coffee_at(size)
        run = {dt: (lambda dt=dt: recursive_filter(img, sigma_s=a.sigma_s, sigma_r=a.sigma_r,
                                                   iterations=a.iterations, dtype=dt))
               for dt in (np.float64, np.float32)}
        t64, ours = best_of(run[np.float64], a.repeat)
        t32, _ = best_of(run[np.float32], a.repeat)
        if cv2 is not None:
            i32 = img.astype(np.float32)
            t_cv, cv = best_of(lambda: cv2.ximgproc.dtFilter(i32, i32, a.sigma_s, a.sigma_r,
                                                            mode=cv2.ximgproc.DTF_RF, numIters=a.iterations),
                               a.repeat)
            diff = float(np.abs(ours - cv).max())
            print(f"{size:>10} {t64:10.3f} {t32:10.3f} {t_cv:9.3f} {t64 / t_cv:8.2f} {t32 / t_cv:8.2f} {diff:10.2e}")
        else:
            print(f"{size:>10} {t64:10.3f} {t32:10.3f} {'-':>9}  (opencv-contrib not installed)")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import record
    with record(__file__):
        main()
