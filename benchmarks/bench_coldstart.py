"""Cold start: what a fresh install costs before the first result, defocus_lab against pymatting.

Each measurement runs in a new process with its own empty numba cache (NUMBA_CACHE_DIR), then
again with that cache filled (a warm start, as on every later launch):

- defocus_lab: ``import defocus_lab``, then the whole Zhuo & Sim pipeline on a 120x160 image
  (full resolution and half resolution), which compiles every kernel on that path;
- pymatting: ``import pymatting`` (it compiles its kernels at import) and one closed-form matte
  of a small image.

The cold column is the compile cost; ``make install`` pays it once (``defocus-lab warmup``),
so a user's first session after installing starts with the warm column.

    python benchmarks/bench_coldstart.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CODE = {
    "defocus_lab": """
import time, json
t0 = time.perf_counter()
import defocus_lab as dl
t1 = time.perf_counter()
img = dl.data.load_image("coffee")[100:220, 200:360]
dense, sparse = dl.estimate_defocus(img)
dl.propagate.matting(img, sparse.values, sparse.mask, downsample=2)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_result": t2 - t1}))
""",
    "pymatting": """
import time, json
t0 = time.perf_counter()
import pymatting
t1 = time.perf_counter()
import numpy as np
from skimage import data
img = data.coffee()[100:220, 200:360] / 255.0
trimap = np.full(img.shape[:2], 0.5); trimap[:, :20] = 0; trimap[:, -20:] = 1
pymatting.estimate_alpha_cf(img, trimap)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_result": t2 - t1}))
""",
}


def run(name, cache):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    p = subprocess.run([sys.executable, "-c", CODE[name]], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    rows = {}
    for name in CODE:
        try:
            with tempfile.TemporaryDirectory() as cache:
                rows[name] = (run(name, cache), run(name, cache))
        except (RuntimeError, ModuleNotFoundError) as exc:
            print(f"{name}: skipped ({exc})", file=sys.stderr)
    print(f"{'package':>12} {'cold import s':>13} {'cold first s':>12} {'cold total s':>12} "
          f"{'warm import s':>13} {'warm first s':>12}")
    for name, (cold, warm) in rows.items():
        print(f"{name:>12} {cold['import']:13.2f} {cold['first_result']:12.2f} "
              f"{cold['import'] + cold['first_result']:12.2f} {warm['import']:13.2f} {warm['first_result']:12.2f}")
    if len(rows) == 2:
        a = sum(rows["defocus_lab"][0].values())
        b = sum(rows["pymatting"][0].values())
        print(f"cold total ratio pymatting / defocus_lab: {b / a:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import record
    with record(__file__):
        main()
