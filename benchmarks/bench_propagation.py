"""Matting-Laplacian propagation: defocus_lab against pymatting and scipy's direct solver.

One problem per size: scikit-image's coffee resized, sparse blur from the Zhuo & Sim estimator at
Canny edges (the values the lab really propagates), lambda 0.005, epsilon 1e-7, radius 1, CG to a
relative residual of 1e-7. Every method runs in its own process (after a warm-up solve, so that
JIT compilation is not timed); time includes building the Laplacian and the preconditioner;
memory is the peak resident memory added during the solve (sampled every 5 ms). The error is
max |d - d_direct|. "defocus_lab-half" is Kriener et al.'s acceleration (solve at half size,
guided upsampling): an approximation, so its difference to the direct solution is not a
solver error.

    python benchmarks/bench_propagation.py [--sizes 360x360 800x536] [--skip-direct-above 600000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

LAM, EPS, RADIUS, RTOL = 0.005, 1e-7, 1, 1e-7
METHODS = ["defocus_lab", "defocus_lab-half", "pymatting-vcycle", "pymatting-ichol", "scipy-direct"]


def problem(h, w):
    from skimage import data, transform
    from defocus_lab.estimate import gradient_ratio
    img = np.clip(transform.resize(data.coffee(), (h, w), anti_aliasing=True), 0, 1)
    sb = gradient_ratio(img)
    return img, sb.values, sb.mask


class PeakRSS:
    """Peak resident memory above the level at start, sampled in a thread."""

    def __enter__(self):
        self.base = self._rss()
        self.peak = self.base
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    @staticmethod
    def _rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self.peak = max(self.peak, self._rss())
        self.added = self.peak - self.base


def solve(method, img, vals, mask):
    """(solution (H, W), iterations)."""
    h, w = mask.shape
    if method.startswith("defocus_lab"):
        from defocus_lab.propagate import matting  # selects numba's workqueue layer (see its __init__)
        d, info = matting(img, vals, mask, lam=LAM, eps=EPS, radius=RADIUS, tol=RTOL, maxiter=5000,
                          downsample=2 if method.endswith("half") else 1, return_info=True)
        return d, info.iterations
    import scipy.sparse as sp
    from pymatting import cf_laplacian
    L = cf_laplacian(img, epsilon=EPS, radius=RADIUS)
    D = sp.diags(LAM * mask.ravel().astype(np.float64))
    A = (L + D).tocsr()
    b = LAM * (mask * vals).ravel()
    if method == "scipy-direct":
        import scipy.sparse.linalg as spla
        return spla.spsolve(A.tocsc(), b).reshape(h, w), 0
    from pymatting import cg, ichol, vcycle
    M = vcycle(A, (h, w)) if method == "pymatting-vcycle" else ichol(A)
    count = [0]
    x = cg(A, b, M=M, rtol=RTOL, maxiter=5000, callback=lambda *a: count.__setitem__(0, count[0] + 1))
    return x.reshape(h, w), count[0]


def worker(method, problem_path, out_path):
    z = np.load(problem_path)
    img, vals, mask = z["image"], z["values"], z["mask"]
    h, w = mask.shape
    s = slice(0, min(h, 64)), slice(0, min(w, 64))
    if mask[s].any():
        solve(method, img[s], vals[s], mask[s])  # warm-up: JIT compilation is not timed
    with PeakRSS() as mem:
        t = time.perf_counter()
        d, its = solve(method, img, vals, mask)
        sec = time.perf_counter() - t
    np.save(out_path, d)
    print(json.dumps({"seconds": sec, "iterations": its, "mem_mb": mem.added / 2 ** 20,
                      "constraints": float(mask.mean())}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["360x360", "800x536"])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--skip-direct-above", type=int, default=10 ** 7, help="pixels")
    ap.add_argument("--worker", nargs=3, metavar=("METHOD", "PROBLEM", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker)
        return
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in a.sizes:
            w, h = (int(v) for v in size.lower().split("x"))
            prob = os.path.join(tmp, f"problem-{size}.npz")
            img, vals, mask = problem(h, w)  # made here: pymatting's workers never import defocus_lab
            np.savez(prob, image=img, values=vals, mask=mask)
            sols, res = {}, {}
            for m in a.methods:
                if m == "scipy-direct" and h * w > a.skip_direct_above:
                    continue
                out = os.path.join(tmp, f"{m}-{size}.npy")
                p = subprocess.run([sys.executable, __file__, "--worker", m, prob, out],
                                   capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"{m} {size} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
                    continue
                res[m] = json.loads(p.stdout.strip().splitlines()[-1])
                sols[m] = np.load(out)
            ref = sols.get("scipy-direct")
            best_pm = min((res[m]["seconds"] for m in res if m.startswith("pymatting")), default=None)
            if best_pm is None:
                print("pymatting is not installed (pip install -e '.[bench]'): no ratios", file=sys.stderr)
            for m, r in res.items():
                err = float(np.abs(sols[m] - ref).max()) if ref is not None else float("nan")
                rows.append((size, m, r["seconds"], r["iterations"], r["mem_mb"], err,
                             best_pm / r["seconds"] if best_pm else float("nan"), r["constraints"]))
    print(f"lambda {LAM}, epsilon {EPS}, radius {RADIUS}, CG rtol {RTOL}; "
          f"speed-up = best pymatting time / this time")
    print(f"{'size':>8} {'method':>17} {'seconds':>8} {'iters':>6} {'peak MB':>8} "
          f"{'max|d-direct|':>14} {'speed-up':>9} {'constraints':>11}")
    for size, m, sec, its, mb, err, ratio, c in rows:
        print(f"{size:>8} {m:>17} {sec:8.2f} {its:6d} {mb:8.0f} {err:14.2e} {ratio:9.2f} {100 * c:10.1f}%")


if __name__ == "__main__":
    main()
