"""The deblurring of a user's photo at photo size: `defocus-lab deblur PHOTO --out SHARP.png`'s
guarded scheme (apps.restore, the map and kernels on a 1 MP copy, the detail brought back) on a
12 MP photo, beside the paper's scheme (every layer pixel deconvolved blind at full size) at 1 MP,
where it runs in minutes; time and peak memory of each run (its own process), and how much
sharper the blurred part of the output is (the mean squared gradient of the output over the
input's, in the pixels the restoration weighed above 0.5).

    DEFOCUS_LAB_DATA=../shared/data python benchmarks/bench_photo_deblur.py

The photo: the papers' flower (a real defocused photo) upsampled to 12 MP (4000 x 3000 for a
landscape photo), so that its blur is tens of pixels; without DEFOCUS_LAB_DATA scikit-image's
coffee. Each run is a fresh process (``--worker``), so that its peak resident memory is its own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402


def photo(pixels: int):
    """The flower (or coffee) resized to about ``pixels`` pixels, float RGB in [0, 1]."""
    from skimage.transform import resize
    from defocus_lab import data
    try:
        img, name = data.load_image("flower", download=False), "flower"
    except Exception:  # noqa: BLE001 - no data folder: the bundled photo
        img, name = data.load_image("coffee"), "coffee"
    f = np.sqrt(pixels / (img.shape[0] * img.shape[1]))
    shape = (round(img.shape[0] * f), round(img.shape[1] * f))
    return np.clip(resize(img, shape + img.shape[2:], order=3), 0, 1), name


def worker(pixels: int, scheme: str):
    import resource
    from defocus_lab.pipeline import all_in_focus
    img, name = photo(pixels)
    t0 = time.perf_counter()
    res = all_in_focus(img, scheme=scheme, progress=False)
    seconds = time.perf_counter() - t0
    grey = img.mean(axis=2)
    out = res.image.mean(axis=2)
    if scheme == "guarded":
        from skimage.transform import resize
        w = resize(res.weights, grey.shape, order=1) > 0.5
    else:
        w = res.labels > 0
    gy, gx = np.gradient(grey)
    oy, ox = np.gradient(out)
    ratio = float(np.mean((ox * ox + oy * oy)[w]) / max(np.mean((gx * gx + gy * gy)[w]), 1e-30)) if w.any() else 1.0
    info = {"photo": name, "shape": list(img.shape[:2]), "scheme": scheme, "seconds": seconds,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, "share": float(w.mean()),
            "sharpness": ratio}
    if scheme == "guarded":
        info["radii"] = {str(k): float(v) for k, v in res.radii.items()}
        info["copy"] = list(res.labels.shape)
    print(json.dumps(info))


def run(pixels: int, scheme: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", str(pixels), scheme], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    rows = [run(12_000_000, "guarded"), run(1_000_000, "guarded"), run(1_000_000, "paper")]
    print(f"{'scheme':8s} {'photo':8s} {'size':>11s} {'copy':>9s} {'s':>7s} {'peak GB':>8s} {'restored':>8s} "
          f"{'sharper':>8s}  radii")
    for r in rows:
        print(f"{r['scheme']:8s} {r['photo']:8s} {r['shape'][1]:>5d}x{r['shape'][0]:<5d} "
              f"{'x'.join(map(str, r.get('copy', [])[::-1])) or '-':>9s} {r['seconds']:7.1f} {r['peak_gb']:8.2f} "
              f"{100 * r['share']:7.0f}% {r['sharpness']:8.2f}  {r.get('radii', '')}")
    print(f"\nat 1 MP: the paper's scheme / the guarded scheme, time {rows[2]['seconds'] / rows[1]['seconds']:.1f}x")
    print("sharper: mean squared gradient of the output over the input's, in the pixels restored (guarded: weight > "
          "0.5) or deblurred (paper: the blurred layers)")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        i = sys.argv.index("--worker")
        worker(int(sys.argv[i + 1]), sys.argv[i + 2])
    else:
        with record(__file__):
            main()
