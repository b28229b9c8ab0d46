"""The torch paths on the CPU and on a CUDA GPU, side by side in one run (the GPU rows only where
torch sees one; otherwise they are skipped with the reason).

- Karaali 2022 on RTF image 01: B-NET and E-NET at the authors' edges (``classify_edges``),
  then the domain transform (which runs on the CPU either way).
- Karaali 2022 on a 12 MP photo (the RTF image, or scikit-image's coffee, upsampled to 4000x3000),
  classified at full resolution (``max_pixels=None``: every edge pixel of the photo, tiles of
  192 px, the same memory bound on both devices).
- Galetto & Deng's patch map at stride 4 on a 1000x700 photo (``galetto2022``).
- Training: ``--train-steps`` optimiser steps of the patch classifier (batch 128) on the shipped
  patch set, and the seconds per epoch they imply (an epoch: the training split / 128 steps).

Each measurement is the best of ``--repeat`` after one warm-up call (the 12 MP row: one call, no
warm-up; ~200 s on 2 CPU cores).

    python benchmarks/bench_device.py [--repeat 2] [--train-steps 20] [--skip-12mp]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402


def best_of(f, repeat, warm=True):
    if warm:
        f()  # warm-up: kernels chosen, weights moved to the device
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    import torch
    from skimage.transform import resize

    from defocus_lab import data
    from defocus_lab.estimate.galetto import galetto2022
    from defocus_lab.estimate.karaali import classify_edges, karaali2022
    from defocus_lab.models import karaali as K
    from defocus_lab.models.device import describe
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--skip-12mp", action="store_true")
    args = ap.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("devices: " + "; ".join(describe(d) for d in devices))
    if len(devices) == 1:
        print("cuda: skipped, torch sees no CUDA GPU on this machine")
    rows = {}

    if K.available() and data.available("rtf/image_01.png"):
        r = data.load_rtf(1, download=False)
        big = None if args.skip_12mp else np.clip(resize(r["image"], (3000, 4000), order=3), 0, 1)
        for dev in devices:
            rows[("Karaali B-NET/E-NET, RTF 01 (360x360, authors' edges)", dev)] = best_of(
                lambda: classify_edges(r["image"], edges=r["edges"], device=dev, download=False), args.repeat)
            if big is not None:
                rows[("Karaali, 12 MP photo, every edge at full resolution", dev)] = best_of(
                    lambda: karaali2022(big, max_pixels=None, device=dev, download=False), 1, warm=False)
    else:
        print("Karaali rows: skipped (needs the authors' weights and RTF 01 under DEFOCUS_LAB_DATA)")

    name = "galetto_bird" if data.available(data.PHOTOS["galetto_bird"]) else "coffee"
    photo = np.clip(resize(data.load_image(name), (700, 1000), order=3, anti_aliasing=True), 0, 1)
    for dev in devices:
        rows[(f"Galetto patch map, stride 4, {name} 1000x700", dev)] = best_of(
            lambda: galetto2022(photo, stride=4, device=dev), args.repeat)

    from defocus_lab.models.train_galetto import GalettoConfig, train_galetto
    from defocus_lab.synth.patches import patch_dataset
    sets = {s: patch_dataset(s, progress=False) for s in ("train", "validation", "test")}
    steps_per_epoch = len(sets["train"]) // 128
    import tempfile
    for dev in devices:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = GalettoConfig(max_steps=args.train_steps, batch=128, device=dev, checkpoint_steps=10**9)
            t = time.perf_counter()
            train_galetto(os.path.join(tmp, "w.npz"), cfg, progress=False, log=lambda *a: None, datasets=sets)
            sec = time.perf_counter() - t
        rows[(f"Galetto training, {args.train_steps} steps of 128 (epoch = {steps_per_epoch} steps)", dev)] = sec
        per_epoch = sec / args.train_steps * steps_per_epoch
        print(f"  {dev}: {sec:.1f} s for {args.train_steps} steps (with the validation and test passes) "
              f"-> about {per_epoch / 60:.1f} min per epoch")

    print(f"\n{'measurement':72s} " + " ".join(f"{d:>10s}" for d in devices) + ("   cpu/cuda" if len(devices) > 1 else ""))
    for what in dict.fromkeys(k for k, _ in rows):
        secs = [rows.get((what, d), float("nan")) for d in devices]
        line = f"{what:72s} " + " ".join(f"{s:9.2f}s" for s in secs)
        if len(devices) > 1:
            line += f"   {secs[0] / secs[1]:8.1f}x"
        print(line)


if __name__ == "__main__":
    with record(__file__):
        main()
