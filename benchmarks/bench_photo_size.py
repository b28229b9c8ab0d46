"""Photo size: each method's default pipeline, ``estimate_defocus(image, method=...)``, at 0.5, 2,
12 and 24 MP, time and peak memory, each run in its own process; the scaling ratios the issue
asks for (time(12 MP) / time(0.5 MP) <= 30, time(24 MP) / time(12 MP) <= 2.2).

Two kinds of photo, both made from real photos (there is no 24 MP photo in the data):

- ``tiled``: a paper's photo (pumpkin, 800x600) repeated to the size: a real photo's edge
  density at every size, the hard case for the edge-pixel stages;
- ``real``: a paper's photo (bird, 800x600) enlarged to the size (bicubic): real content at
  photo resolution, with the fewer edges per pixel of a real high-resolution photo.

``--config before`` runs what the default did before the photo-size work (the exact sparse
bilateral filter and the paper's resolution for every size: ``bilateral_method="exact"``,
``max_pixels=None`` for the matting solve and for Karaali's networks, Jacobi for Kriener's 7x7
windows), with a time limit per run (``--limit``, 300 s): the row says so when the
limit or the exact filter's work limit stops it. ``--accuracy`` compares the fast default's map
with the exact pipeline's (exact bilateral, full-resolution matting) at 2 MP on the real photo
(the largest size where the exact solve fits in a few GB) and at 1 MP on the tiled one (whose
exact bilateral sum would take 24 minutes at 2 MP): mean and 99th percentile of the absolute
difference, in px of sigma.

    python benchmarks/bench_photo_size.py                          # after, every method and size
    python benchmarks/bench_photo_size.py --config before --methods zhuo2011 kriener2013
    python benchmarks/bench_photo_size.py --accuracy                  # real 2 MP, tiled 1 MP
    python benchmarks/bench_photo_size.py --preconditioners    # Kriener's 7x7 solve: jacobi, amg, amg3x3
    python benchmarks/bench_photo_size.py --render             # the magnification: row steps against FFTs
    python benchmarks/bench_photo_size.py --crossover          # one disk radius at 0.5 MP: steps against FFT

``--render`` times what the focus explorer's magnification does at each size (``magnify(photo,
map, 2, in_focus=Otsu's threshold of the map)``, the lens renderer with photo-size layers) with
each way of convolving a layer (``lens_blur(method="auto")``, the default, ``"runs"`` and
``"fft"``, the renderer before), each in its own process, and the largest difference between
the runs and FFT images. The map is the default pipeline's on the 0.5 MP photo, enlarged with the photo (values
times the scale): the benchmark times the renderer, not the estimate.

Peak memory is the child's peak resident set (``ru_maxrss``) less its resident set after the
imports and the photo were made: what the call itself added. Times are of the call alone
(numba's cache is warm: each child first runs the method on a 64x64 image).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402

SIZES = (0.5, 2.0, 12.0, 24.0)
METHODS = ("zhuo2011", "kriener2013", "karaali2022")
KINDS = ("tiled", "real")
# (estimator options, propagator options) that restore the paper-resolution behaviour of before
BEFORE = {"zhuo2011": ({"bilateral_method": "exact"}, {"max_pixels": None}),
          "kriener2013": ({}, {"max_pixels": None, "preconditioner": "jacobi"}),
          "karaali2022": ({"max_pixels": None}, {})}


def photo(kind: str, megapixels: float):
    """A 4:3 photo of about ``megapixels`` MP (module docstring), float in [0, 1]."""
    import numpy as np
    from defocus_lab import data
    h = int(round(np.sqrt(megapixels * 1e6 * 3 / 4)))
    w = int(round(h * 4 / 3))
    name = "pumpkin" if kind == "tiled" else "bird"
    src = data.load_image(name) if data.available(data.PHOTOS[name]) else data.load_image("coffee")
    if kind == "tiled":
        reps = (-(-h // src.shape[0]), -(-w // src.shape[1]), 1)
        return np.ascontiguousarray(np.tile(src, reps)[:h, :w])
    from skimage.transform import resize
    return np.clip(resize(src, (h, w), order=3, anti_aliasing=False), 0.0, 1.0)


def _rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak() -> bool:
    """Start the peak resident set (VmHWM) afresh (Linux: /proc/self/clear_refs), so that it
    measures the call alone, not the photo's making; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    """The peak resident set since :func:`_reset_peak` (VmHWM), else since the start."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    return _rss_mb()


def worker(method: str, mp: float, kind: str, config: str) -> dict:
    import numpy as np
    import defocus_lab as dl
    est, prop = BEFORE[method] if config == "before" else ({}, {})
    img = photo(kind, mp)
    # numba's cache and torch's first call, on the middle of the photo (colour: Karaali's hue
    # edges; a corner of the enlarged photo may be sky without an edge)
    h, w = img.shape[0] // 2, img.shape[1] // 2
    try:
        dl.estimate_defocus(np.ascontiguousarray(img[h - 96:h + 96, w - 128:w + 128]), method=method,
                            estimator_options=est, propagator_options=prop)
    except ValueError:  # no edge there: the call below compiles what is left
        pass
    base = _current_rss_mb()
    t = time.perf_counter()
    dense, sparse, info = dl.estimate_defocus(img, method=method, estimator_options=est, propagator_options=prop,
                                              return_info=True, progress=False)
    seconds = time.perf_counter() - t
    out = {"seconds": seconds, "peak_mb": _rss_mb() - base, "shape": list(img.shape[:2]),
           "edges": info["edges"], "downsample": info.get("downsample"),
           "estimate_s": info["seconds"]["estimate"], "propagate_s": info["seconds"]["propagate"]}
    if config == "accuracy":
        np.save(os.environ["BENCH_OUT"], dense.astype(np.float32))
    return out


def worker_exact(mp: float, kind: str) -> dict:
    """The exact zhuo2011 pipeline (exact bilateral, full resolution), its map saved."""
    import numpy as np
    import defocus_lab as dl
    from defocus_lab.kernels import bilateral
    bilateral.MAX_PAIRS = float("inf")  # the reference: wait for it
    img = photo(kind, mp)
    t = time.perf_counter()
    dense, _ = dl.estimate_defocus(img, estimator_options={"bilateral_method": "exact"},
                                   propagator_options={"max_pixels": None}, progress=False)
    np.save(os.environ["BENCH_OUT"], dense.astype(np.float32))
    return {"seconds": time.perf_counter() - t}


def worker_render(mp: float, method: str) -> dict:
    """The focus explorer's magnification of the ``real`` photo at ``mp`` MP (module docstring)."""
    import numpy as np
    from skimage.filters import threshold_otsu
    from skimage.transform import resize
    import defocus_lab as dl
    from defocus_lab import render
    small = photo("real", 0.5)
    m = dl.estimate_defocus(small, progress=False)[0]
    img = photo("real", mp)
    scale = img.shape[0] / small.shape[0]
    dense = np.clip(resize(m, img.shape[:2], order=1), 0, None) * scale
    t_f = float(threshold_otsu(dense))
    lens = render.lens_blur
    render.lens_blur = lambda *a, **k: lens(*a, method=method, **k)
    h, w = img.shape[0] // 2, img.shape[1] // 2  # compiles every path: a photo-size crop
    crop = (slice(h - 384, h + 384), slice(w - 512, w + 512))
    dl.apps.magnify(np.ascontiguousarray(img[crop]), np.ascontiguousarray(dense[crop]), 2.0, in_focus=t_f)
    _reset_peak()
    base = _current_rss_mb()
    t = time.perf_counter()
    out = dl.apps.magnify(img, dense, 2.0, in_focus=t_f)
    seconds = time.perf_counter() - t
    peak = _peak_mb() - base
    np.save(os.environ["BENCH_OUT"], out.astype(np.float32))
    extra = 2 * np.sqrt(3) * np.clip(dense - t_f, 0, None)
    return {"seconds": seconds, "peak_mb": peak, "shape": list(img.shape[:2]),
            "max_radius": float(extra.max()), "layers": len(render.layer_radii(float(extra.max()), 0.5, img.shape))}


def render_table(args):
    import tempfile
    import numpy as np
    print("the focus explorer's magnification (factor 2) of the real photo; each run in its own process; "
          "peak = the call's peak resident memory above what the process held before it (VmHWM reset)")
    print("runs: each layer's disks as row steps from its own pixels; fft: every layer's full planes convolved "
          "by FFT (float32, every core), the renderer before; auto (the default): the cheaper per layer")
    print(f"{'size':>11} {'MP':>5} {'radius':>6} {'layers':>6} {'auto s':>7} {'runs s':>7} {'fft s':>7} "
          f"{'fft/auto':>8} {'auto GB':>7} {'fft GB':>7} {'max|runs-fft|':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for mp in args.sizes:
            r = {}
            for method in ("auto", "runs", "fft"):
                r[method] = run_child(["render", str(mp), method, "render"], args.limit,
                                      env={**os.environ, "BENCH_OUT": os.path.join(tmp, method + ".npy")})
            errors = [v["error"] for v in r.values() if "error" in v]
            if errors:
                print(f"{mp:5.1f} MP -- {errors[0]}", flush=True)
                continue
            d = np.abs(np.load(os.path.join(tmp, "runs.npy")) - np.load(os.path.join(tmp, "fft.npy"))).max()
            a, u, b = r["auto"], r["runs"], r["fft"]
            h, w = a["shape"]
            print(f"{f'{w}x{h}':>11} {h * w / 1e6:5.1f} {a['max_radius']:6.1f} {a['layers']:6d} {a['seconds']:7.2f} "
                  f"{u['seconds']:7.2f} {b['seconds']:7.2f} {b['seconds'] / a['seconds']:8.2f} "
                  f"{a['peak_mb'] / 1024:7.2f} {b['peak_mb'] / 1024:7.2f} {d:13.2e}", flush=True)


def crossover(args):
    """The radius above which lens_blur(method="auto") convolves by FFT at full resolution
    (render.STEPS_PER_FFT_PIXEL): one layer of a constant radius on the 0.5 MP photo, both ways."""
    import numpy as np
    from defocus_lab import render
    img = photo("real", 0.5)
    print(f"one disk radius over the whole 0.5 MP photo ({img.shape[1]}x{img.shape[0]}), coarse layers off; "
          f"best of 3 s")
    print(f"{'radius':>6} {'steps s':>8} {'fft s':>8} {'fft/steps':>9}")
    for r in (2, 4, 8, 16, 24, 32, 48):
        rad = np.full(img.shape[:2], float(r))
        t = {}
        for method in ("runs", "fft"):
            render.lens_blur(img, rad, coarse=False, method=method)
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                render.lens_blur(img, rad, coarse=False, method=method)
                best = min(best, time.perf_counter() - t0)
            t[method] = best
        print(f"{r:6d} {t['runs']:8.3f} {t['fft']:8.3f} {t['fft'] / t['runs']:9.2f}", flush=True)


def run_child(args: list[str], limit: float, env=None) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"not finished in {limit:.0f} s"}
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
        return {"error": last[:150]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def table(args):
    rows = {}
    print(f"config {args.config}; each run in its own process; peak = resident memory the call added")
    print("solve: the resolution of the matting solve (-: the domain transform has none); karaali2022's networks "
          "classify a copy of at most 0.26 MP above 0.52 MP")
    print(f"{'method':>12} {'kind':>6} {'size':>11} {'MP':>5} {'edges':>8} {'solve':>6} {'estimate':>9} "
          f"{'propagate':>9} {'total s':>8} {'peak GB':>8}")
    for method in args.methods:
        for kind in args.kinds:
            for mp in args.sizes:
                r = run_child([method, str(mp), kind, args.config], args.limit)
                rows[(method, kind, mp)] = r
                if "error" in r:
                    print(f"{method:>12} {kind:>6} {'':>11} {mp:5.1f}  -- {r['error']}", flush=True)
                    continue
                h, w = r["shape"]
                d = r.get("downsample")  # None: a propagator without a solve (domain transform)
                at = "-" if d is None else "full" if d == 1 else f"1/{d}"
                print(f"{method:>12} {kind:>6} {f'{w}x{h}':>11} {h * w / 1e6:5.1f} {r['edges']:8d} {at:>6} "
                      f"{r['estimate_s']:9.2f} {r['propagate_s']:9.2f} {r['seconds']:8.2f} {r['peak_mb'] / 1024:8.2f}",
                      flush=True)
    print()
    print("scaling (goals: 12 MP / 0.5 MP <= 30, 24 MP / 12 MP <= 2.2; 12 MP <= 20 s and 4 GB, 24 MP <= 45 s and 6 GB)")
    for method in args.methods:
        for kind in args.kinds:
            t = {mp: rows[(method, kind, mp)].get("seconds") for mp in args.sizes}
            parts = []
            for a, b in ((12.0, 0.5), (24.0, 12.0)):
                if t.get(a) and t.get(b):
                    parts.append(f"time({a:g} MP) / time({b:g} MP) = {t[a] / t[b]:.2f}")
            print(f"  {method:>12} {kind:>6}: " + ("; ".join(parts) if parts else "(sizes missing)"))


def accuracy(args):
    """The fast default against the exact pipeline, on each ``--cases`` KIND:MP. The exact
    bilateral sum grows with the square of the size: the tiled photo's 2 MP (320k edge pixels)
    would take 24 minutes, so that kind is measured at 1 MP."""
    import tempfile
    import numpy as np
    print("zhuo2011: the fast default (bilateral grid, solve at a fraction above 0.52 MP) against the exact "
          "pipeline (every bilateral pair, full-resolution solve); |difference| in px of sigma")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            kind, mp = case.split(":")
            fa, fb = os.path.join(tmp, "fast.npy"), os.path.join(tmp, "exact.npy")
            fast = run_child(["zhuo2011", mp, kind, "accuracy"], args.limit, env={**os.environ, "BENCH_OUT": fa})
            exact = run_child(["exact", mp, kind, "exact"], args.limit * 4, env={**os.environ, "BENCH_OUT": fb})
            if "error" in fast or "error" in exact:
                print(f"  {kind} {mp} MP: -- {fast.get('error') or exact.get('error')}")
                continue
            a, b = np.load(fa).astype(np.float64), np.load(fb).astype(np.float64)
            d = np.abs(a - b)
            print(f"  {kind:>6} {float(mp):g} MP ({b.shape[1]}x{b.shape[0]}): mean {d.mean():.4f}, 99th percentile "
                  f"{np.percentile(d, 99):.4f}, max {d.max():.3f} (map {b.min():.2f}..{b.max():.2f} px); fast "
                  f"{fast['seconds']:.1f} s (solved at 1/{fast['downsample']}), exact {exact['seconds']:.1f} s",
                  flush=True)


def preconditioners(args):
    """Kriener's propagation (7x7 windows, eps 1e-3, lambda 0.1) of the same sparse estimates,
    each preconditioner in one run: the paper-size solve (0.5 MP at 1/2) and a photo's (12 MP at
    1/8), on the ``real`` photo."""
    import numpy as np
    from defocus_lab.estimate.kriener import kriener2013
    from defocus_lab.propagate.matting import matting
    print("kriener2013's propagation, real photo; seconds of the whole call (set-up, CG to 1e-6, upsampling)")
    print(f"{'size':>5} {'solve':>6} {'preconditioner':>15} {'iterations':>10} {'seconds':>8} {'vs jacobi':>9} "
          f"{'max|d - jacobi|':>15}")
    for mp in (0.5, 12.0):
        img = photo("real", mp)
        sb = kriener2013(img)
        ref = None
        for pc in ("jacobi", "amg3x3", "amg"):
            t = time.perf_counter()
            d, info = matting(img, sb, radius=3, eps=1e-3, lam=0.1, downsample=2, max_pixels=1 << 18,
                              preconditioner=pc, maxiter=5000, return_info=True)
            sec = time.perf_counter() - t
            if ref is None:
                ref, ref_sec = d, sec
            print(f"{mp:5.1f} {'1/' + str(info.downsample):>6} {pc:>15} {info.iterations:10d} {sec:8.2f} "
                  f"{ref_sec / sec:9.2f} {np.abs(d - ref).max():15.2e}", flush=True)


def main():
    if "--worker" in sys.argv:
        i = sys.argv.index("--worker")
        method, mp, kind, config = sys.argv[i + 1: i + 5]
        if method == "render":
            r = worker_render(float(mp), kind)
        elif method == "exact":
            r = worker_exact(float(mp), kind)
        else:
            r = worker(method, float(mp), kind, config)
        print(json.dumps(r))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=list(SIZES), help="megapixels")
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--config", choices=("after", "before"), default="after")
    ap.add_argument("--limit", type=float, default=300.0, help="seconds per run before it is stopped")
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--cases", nargs="+", default=["real:2", "tiled:1"], help="--accuracy: KIND:MP")
    ap.add_argument("--preconditioners", action="store_true")
    ap.add_argument("--render", action="store_true", help="the magnification's renderer (module docstring)")
    ap.add_argument("--crossover", action="store_true", help="one disk radius at 0.5 MP: steps against FFT")
    ap.add_argument("--tag", default="", help="appended to the results file's name (a partial rerun)")
    args = ap.parse_args()
    what = ("accuracy" if args.accuracy else "preconditioners" if args.preconditioners else "render" if args.render
            else "crossover" if args.crossover else args.config)
    with record(__file__, "bench_photo_size_" + what + (f"_{args.tag}" if args.tag else "")):
        {"accuracy": accuracy, "preconditioners": preconditioners, "render": render_table,
         "crossover": crossover}.get(what, table)(args)


if __name__ == "__main__":
    main()
