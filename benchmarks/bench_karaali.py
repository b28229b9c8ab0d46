"""Karaali 2022 inference: dense shared convolutions (defocus_lab) against per-patch evaluation.

Per-patch is the paper's formulation (and the authors' script's): one 41x41 patch per edge
pixel through B-NET and E-NET, here in torch in batches of 256 patches. defocus_lab evaluates
the convolutions before the concatenation once per image tile and the head per edge pixel
(:func:`defocus_lab.models.karaali.edge_logits`). Both give the same logits (max difference
printed). Then the whole method per image: edges (precomputed or Canny on the hue), networks,
domain transform, with the raw MAE against the ground truth.

Runs on RTF images 01 and 05 with the authors' weights when DEFOCUS_LAB_DATA holds them, else on
a 360x360 crop of scikit-image's astronaut with seeded random weights (same cost, no MAE).

    python benchmarks/bench_karaali.py [--skip-per-patch]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

_spec = importlib.util.spec_from_file_location(
    "_measure", Path(__file__).resolve().parent.parent / "defocus_lab" / "experiments" / "_measure.py")
_measure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_measure)


def per_patch(image, ys, xs, nets, batch=256):
    from defocus_lab.estimate.karaali import extract_patches
    outs = [[] for _ in nets]
    with torch.no_grad():
        for a in range(0, len(ys), batch):
            p = torch.from_numpy(extract_patches(image, ys[a:a + batch], xs[a:a + batch]))
            for k, net in enumerate(nets):
                outs[k].append(net(p).numpy())
    return [np.concatenate(o) for o in outs]


def cases():
    from defocus_lab.models import karaali as K
    if K.available():
        from defocus_lab.data import load_rtf
        nets = [K.load_karaali2022("bnet"), K.load_karaali2022("enet")]
        for n in (1, 5):
            r = load_rtf(n)
            yield f"rtf{n:02d}", r["image"], r["edges"], r["blur_disk"], nets
    else:
        from skimage import data
        torch.manual_seed(0)
        b = K.MultiScaleNet("bnet").eval()
        e = K.MultiScaleNet("enet").eval()
        for name in ("41", "27", "15"):
            e.branches[name].load_state_dict(b.branches[name].state_dict())
        img = data.astronaut()[20:380, 60:420].astype(np.float64) / 255.0
        yield "astronaut (random weights)", img, None, None, [b, e]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-per-patch", action="store_true")
    a = ap.parse_args()
    from defocus_lab.estimate.karaali import edge_map
    from defocus_lab.models.karaali import edge_logits
    from defocus_lab.pipeline import estimate_defocus
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'image':>26} {'edges':>6} {'dense s':>8} {'MB':>5} {'per-patch s':>11} {'MB':>5} {'ratio':>6} "
          f"{'max|dlogit|':>11}")
    rows = []
    for name, img, edges, gt, nets in cases():
        e = edges if edges is not None else edge_map(img)
        ys, xs = np.nonzero(e)
        edge_logits(img, ys[:10], xs[:10], nets)  # warm-up (oneDNN kernels)
        with _measure.PeakRSS() as m1:
            t = time.perf_counter()
            dense = edge_logits(img, ys, xs, nets)
            t_dense = time.perf_counter() - t
        if a.skip_per_patch:
            print(f"{name:>26} {len(ys):6d} {t_dense:8.2f} {m1.added / 2**20:5.0f}")
        else:
            with _measure.PeakRSS() as m2:
                t = time.perf_counter()
                ref = per_patch(img, ys, xs, nets)
                t_pp = time.perf_counter() - t
            diff = max(float(np.abs(x - y).max()) for x, y in zip(dense, ref))
            print(f"{name:>26} {len(ys):6d} {t_dense:8.2f} {m1.added / 2**20:5.0f} {t_pp:11.2f} "
                  f"{m2.added / 2**20:5.0f} {t_pp / t_dense:6.1f} {diff:11.1e}")
        kw = {} if gt is not None else {"estimator_options": {"bnet": nets[0], "enet": nets[1]}}
        t = time.perf_counter()
        d, sb = estimate_defocus(img, method="karaali2022", edges=edges, **kw)
        t_all = time.perf_counter() - t
        rows.append((name, t_all, None if gt is None else float(np.mean(np.abs(d - gt)))))
    print("\nwhole method (edges given for RTF, Canny on the hue otherwise; networks; domain transform):")
    for name, t_all, mae in rows:
        print(f"{name:>26} {t_all:6.2f} s" + ("" if mae is None else f"   raw MAE {mae:.3f}"))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import record
    with record(__file__):
        main()
