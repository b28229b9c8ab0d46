"""numba's threading layer: the workqueue layer against OpenMP, side by side, same work.

The package used to pin numba to its workqueue layer (OpenMP's spinning threads had made a
240x160 propagation 1.7x slower, ``design-notes.md``). The explorers now refine in a worker thread
while the notebook's main thread stays free, and the workqueue layer aborts the process when two
threads launch parallel kernels at once ("Concurrent access has been detected"), so the package
now leaves numba its own choice (TBB, else OpenMP, else workqueue; ``defocus_lab/__init__.py``).
This measures what that costs or saves: each layer in its own process (the layer is fixed at a
process's first parallel launch), alternated ``--rounds`` times, each case the best of 3 after a
warm-up; the table gives the median over rounds and the ratio workqueue / OpenMP (> 1: OpenMP is
faster).

Cases: the exact-setting matting propagation (Zhuo & Sim's sparse blur of scikit-image's coffee,
radius 1, eps 1e-7, CG to 1e-6) at 240x160 and 800x536; Kriener's 7x7 setting solved for 200
multigrid-preconditioned CG iterations at 320x240 (notebook 04's Fig. 5 direct map); Galetto &
Deng's whole method at stride 16 on a 480x320 coffee (torch's threads beside numba's).

    python benchmarks/bench_threading.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402

LAYERS = ("workqueue", "omp")


def worker():
    warnings.simplefilter("ignore")
    import numba
    import numpy as np
    from skimage import data, transform
    from defocus_lab.estimate import kriener2013, zhuo2011
    from defocus_lab.pipeline import estimate_defocus
    from defocus_lab.propagate import MattingSolver, matting

    def best(fn, n=3):
        fn()  # warm-up (compilation, caches)
        out = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return min(out)

    coffee = data.coffee()
    res = {}
    for h, w in ((160, 240), (536, 800)):
        img = np.clip(transform.resize(coffee, (h, w), anti_aliasing=True), 0, 1)
        sb = zhuo2011(img)
        res[f"matting, exact setting, {w}x{h}"] = best(
            lambda: matting(img, sb.values, sb.mask, lam=0.005, eps=1e-7, radius=1, tol=1e-6, maxiter=5000))
    img = np.clip(transform.resize(coffee, (240, 320), anti_aliasing=True), 0, 1)
    sb = kriener2013(img)
    ms = MattingSolver(img, eps=1e-3, radius=3)
    res["Kriener 7x7, 200 CG iterations, 320x240"] = best(lambda: ms.solve(sb, lam=0.1, tol=1e-14, maxiter=200), 2)
    img = np.clip(transform.resize(coffee, (320, 480), anti_aliasing=True), 0, 1)
    res["galetto2022 stride 16, 480x320"] = best(
        lambda: estimate_defocus(img, method="galetto2022", estimator_options={"stride": 16}), 2)
    print(json.dumps({"layer": numba.threading_layer(), "seconds": res}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs = {layer: [] for layer in LAYERS}
    for _ in range(args.rounds):
        for layer in LAYERS:
            env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
            out = subprocess.run([sys.executable, __file__, "--worker"], env=env, capture_output=True, text=True,
                                 check=True)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            assert got["layer"] == layer, got
            runs[layer].append(got["seconds"])
    print(f"median of {args.rounds} rounds, each case the best of 3 (2 for the slower ones) after a warm-up")
    print("| case | workqueue (s) | OpenMP (s) | workqueue / OpenMP |")
    print("|---|---|---|---|")
    for case in runs[LAYERS[0]][0]:
        wq = statistics.median(r[case] for r in runs["workqueue"])
        omp = statistics.median(r[case] for r in runs["omp"])
        print(f"| {case} | {wq:.3f} | {omp:.3f} | {wq / omp:.2f} |")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        with record(__file__):
            main()
