"""Interactive correction: how long the map takes to follow a box marked sharp or excluded.

A 0.5 MP photo (Zhuo & Sim's flower, 800x600, when DEFOCUS_LAB_DATA has it; else scikit-image's
coffee at 800x534), Kriener's sparse estimates, MattingSolver at reduced resolution (2 and 4). For
each setting, reduction and preconditioner: the first solve (set-up included), then three edits (a box marked
sharp, a box excluded, the first box removed), each solved from the previous map (warm start)
and, side by side, from scratch (cold) with the same solver object. Reported: milliseconds and
CG iterations; ratio = cold / warm; err = max |map - converged map| (px at the working size; the
converged map is solved to 1e-10 beforehand, untimed).

    python benchmarks/bench_scribble.py [--tol 1e-3 1e-4] [--downsample 2 4]
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
import warnings

import numpy as np


def photo():
    from skimage import data as skdata, transform
    from defocus_lab import data
    try:
        return "flower", data.load_image("flower", download=False)
    except data.DataMissing:
        img = transform.resize(skdata.coffee(), (534, 800), anti_aliasing=True)
        return "coffee (resized)", np.clip(img, 0, 1)


def edits(shape):
    H, W = shape
    a = np.zeros((H, W), bool); a[H // 10:H // 4, W // 10:W // 4] = True
    b = np.zeros((H, W), bool); b[H // 2:3 * H // 4, W // 2:3 * W // 4] = True
    return [("sharp box", [(a, "sharp")]), ("+ excluded box", [(a, "sharp"), (b, "exclude")]),
            ("- sharp box", [(b, "exclude")])]




def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tol", type=float, nargs="+", default=[1e-3, 1e-4],
                    help="CG tolerances (the notebook's scribble tool uses 1e-3)")
    ap.add_argument("--downsample", type=int, nargs="+", default=[2, 4])
    a = ap.parse_args()
    from defocus_lab.apps import apply_boxes
    from defocus_lab.estimate import kriener2013
    from defocus_lab.experiments.kriener import EXACT_SETTING, PAPER_SETTING
    from defocus_lab.propagate import MattingSolver
    from defocus_lab.propagate.cg import ConvergenceWarning
    warnings.simplefilter("ignore", ConvergenceWarning)
    name, img = photo()
    sparse = kriener2013(img)
    H, W = img.shape[:2]
    MattingSolver(img[:64, :64], downsample=2).solve(sparse.values[:64, :64], sparse.mask[:64, :64] | True)  # JIT
    print(f"{name} {W}x{H} ({H * W / 1e6:.2f} MP), boxes weigh 100")
    print(f"{'setting':>8} {'down':>4} {'precond':>8} {'tol':>6} {'edit':>16} {'warm ms':>8} {'its':>5} "
          f"{'cold ms':>8} {'its':>5} {'ratio':>6} {'err px':>8}")
    for (sname, s), ds, pc, tol in itertools.product((("Kriener", PAPER_SETTING), ("exact", EXACT_SETTING)),
                                                     a.downsample, ("jacobi", "amg"), a.tol):
        t = time.perf_counter()
        ms = MattingSolver(img, eps=s["eps"], radius=s["radius"], downsample=ds, preconditioner=pc)
        d, info = ms.solve(sparse.values, sparse.mask, lam=s["lam"], tol=tol, maxiter=3000)
        first = time.perf_counter() - t
        shown = ms.last  # the (reduced-resolution) solution behind the map the user looks at
        print(f"{sname:>8} {ds:4d} {pc:>8} {tol:6.0e} {'first solve':>16} {1000 * first:8.0f} {info.iterations:5d}")
        for label, boxes in edits((H, W)):
            sb = apply_boxes(sparse, boxes)  # what the notebook's ScribbleExplorer solves
            ref, _ = ms.solve(sb, lam=s["lam"], tol=1e-10, maxiter=6000)
            t = time.perf_counter()
            _, cold = ms.solve(sb, lam=s["lam"], tol=tol, maxiter=3000)
            t_cold = time.perf_counter() - t
            ms.last = shown
            t = time.perf_counter()
            d, warm = ms.solve(sb, lam=s["lam"], tol=tol, maxiter=3000, warm=True)
            t_warm = time.perf_counter() - t
            shown = ms.last
            print(f"{sname:>8} {ds:4d} {pc:>8} {tol:6.0e} {label:>16} {1000 * t_warm:8.0f} {warm.iterations:5d} "
                  f"{1000 * t_cold:8.0f} {cold.iterations:5d} {t_cold / t_warm:6.2f} {np.abs(d - ref).max():8.4f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import record
    with record(__file__):
        main()
