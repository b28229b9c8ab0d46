"""Matting-Laplacian propagation: defocus_lab against pymatting and scipy's direct solver.

One problem per size: scikit-image's coffee resized, sparse blur from the Zhuo & Sim estimator at
Canny edges (the values the lab really propagates; above 1 MP without the bilateral refinement,
whose 10 %-of-the-side kernel would dominate the set-up), lambda 0.005, epsilon 1e-7, radius 1
(the exact setting), CG to a relative residual of 1e-6. Every method runs in its own process
(after a warm-up solve, so that JIT compilation is not timed); time includes building the
Laplacian and the preconditioner; memory is the peak resident memory added during the solve
(sampled every 5 ms). Errors are max |d - d_direct| (scipy's SuperLU) and max |d - d_pymatting|
(pymatting's V-cycle CG), both clipped at 0 as defocus_lab's map is; speed-up = pymatting V-cycle
time / this time.
"defocus_lab-half" and "defocus_lab-auto" are Kriener et al.'s acceleration (solve at half size,
or at the power-of-two reduction that brings the problem under 2^18 pixels, then guided
upsampling): approximations, so their differences are not solver errors.

    python benchmarks/bench_propagation.py [--sizes 360x360 800x536] [--skip-direct-above 600000]
    python benchmarks/bench_propagation.py --scaling   # 0.5, 2, 6, 12 MP; plot in benchmarks/results/
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

LAM, EPS, RADIUS, RTOL = 0.005, 1e-7, 1, 1e-6
METHODS = ["defocus_lab", "defocus_lab-half", "defocus_lab-auto", "pymatting-vcycle", "pymatting-ichol",
           "scipy-direct"]
SCALING = {"sizes": ["866x577", "1732x1155", "3000x2000", "4243x2828"],
           "limits": {"defocus_lab": 2_100_000, "pymatting-vcycle": 2_100_000}}


def problem(h, w):
    from skimage import data, transform
    from defocus_lab.estimate import zhuo2011
    img = np.clip(transform.resize(data.coffee(), (h, w), anti_aliasing=True), 0, 1)
    sb = zhuo2011(img, bilateral="joint" if h * w <= 1_000_000 else None)
    return img, sb.values, sb.mask


def _load_measure():
    """experiments/_measure.py on its own: pymatting's workers must not import defocus_lab (it
    selects numba's threading layer)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "defocus_lab", "experiments",
                        "_measure.py")
    spec = importlib.util.spec_from_file_location("_measure", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PeakRSS = _load_measure().PeakRSS


def solve(method, img, vals, mask):
    """(solution (H, W), iterations)."""
    h, w = mask.shape
    if method.startswith("defocus_lab"):
        from defocus_lab.propagate import matting
        ds = {"defocus_lab": 1, "defocus_lab-half": 2, "defocus_lab-auto": "auto"}[method]
        d, info = matting(img, vals, mask, lam=LAM, eps=EPS, radius=RADIUS, tol=RTOL, maxiter=5000,
                          downsample=ds, return_info=True)
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


def run_size(size, methods, tmp, skip_direct_above, limits=None):
    """Solve one size with every method (own process each); rows of dicts."""
    w, h = (int(v) for v in size.lower().split("x"))
    prob = os.path.join(tmp, f"problem-{size}.npz")
    img, vals, mask = problem(h, w)  # made here: pymatting's workers never import defocus_lab
    np.savez(prob, image=img, values=vals, mask=mask)
    sols, res = {}, {}
    for m in methods:
        if m == "scipy-direct" and h * w > skip_direct_above:
            continue
        if limits and h * w > limits.get(m, np.inf):
            continue
        out = os.path.join(tmp, f"{m}-{size}.npy")
        p = subprocess.run([sys.executable, __file__, "--worker", m, prob, out], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{m} {size} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
            continue
        res[m] = json.loads(p.stdout.strip().splitlines()[-1])
        sols[m] = np.maximum(np.load(out), 0.0)  # all clipped at 0, as defocus_lab's map is
        os.remove(out)
    direct, pm = sols.get("scipy-direct"), sols.get("pymatting-vcycle")
    rows = []
    for m, r in res.items():
        rows.append({"size": size, "pixels": h * w, "method": m, **r,
                     "err_direct": float(np.abs(sols[m] - direct).max()) if direct is not None else np.nan,
                     "err_pymatting": float(np.abs(sols[m] - pm).max()) if pm is not None else np.nan,
                     "speedup": res["pymatting-vcycle"]["seconds"] / r["seconds"] if pm is not None else np.nan})
    return rows


def print_rows(rows):
    print(f"lambda {LAM}, epsilon {EPS}, radius {RADIUS}, CG rtol {RTOL}; "
          f"speed-up = pymatting V-cycle time / this time")
    print(f"{'size':>9} {'method':>17} {'seconds':>8} {'iters':>6} {'peak MB':>8} {'max|d-direct|':>14} "
          f"{'max|d-pymatting|':>17} {'speed-up':>9} {'constraints':>11}")
    for r in rows:
        print(f"{r['size']:>9} {r['method']:>17} {r['seconds']:8.2f} {r['iterations']:6d} {r['mem_mb']:8.0f} "
              f"{r['err_direct']:14.2e} {r['err_pymatting']:17.2e} {r['speedup']:9.2f} {100 * r['constraints']:10.1f}%")


def plot_scaling(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for m in sorted({r["method"] for r in rows}):
        rr = sorted((r for r in rows if r["method"] == m), key=lambda r: r["pixels"])
        mp = [r["pixels"] / 1e6 for r in rr]
        ax[0].loglog(mp, [r["seconds"] for r in rr], "o-", label=m)
        ax[1].loglog(mp, [max(r["mem_mb"], 1) for r in rr], "o-", label=m)
    ax[0].set_ylabel("seconds"); ax[1].set_ylabel("peak memory added (MB)")
    for a in ax:
        a.set_xlabel("megapixels"); a.grid(alpha=0.3, which="both"); a.legend(fontsize=8)
    ax[0].axhline(20, color="0.5", ls="--", lw=0.8); ax[1].axhline(4096, color="0.5", ls="--", lw=0.8)
    fig.suptitle(f"matting propagation, exact setting, CG rtol {RTOL} (dashed: 20 s, 4 GB)", fontsize=10)
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["360x360", "800x536"])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--skip-direct-above", type=int, default=10 ** 7, help="pixels")
    ap.add_argument("--scaling", action="store_true", help="0.5, 2, 6, 12 MP; log-log plot and JSON")
    ap.add_argument("--worker", nargs=3, metavar=("METHOD", "PROBLEM", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker)
        return
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if a.scaling:
            methods = ["defocus_lab", "defocus_lab-auto", "pymatting-vcycle"]
            for size in SCALING["sizes"]:
                new = run_size(size, methods, tmp, 0, SCALING["limits"])
                print_rows(new)  # as it goes: the large sizes take minutes
                rows += new
        else:
            for size in a.sizes:
                rows += run_size(size, a.methods, tmp, a.skip_direct_above)
    if not any(r["method"].startswith("pymatting") for r in rows):
        print("pymatting is not installed (pip install -e '.[bench]'): no ratios", file=sys.stderr)
    print_rows(rows)
    if a.scaling:
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
        os.makedirs(out, exist_ok=True)
        plot_scaling(rows, os.path.join(out, "scaling.png"))
        with open(os.path.join(out, "scaling.json"), "w") as f:
            json.dump(rows, f, indent=1)
        print(f"plot and numbers in {out}/scaling.png, scaling.json")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import record
    with record(__file__):
        main()
