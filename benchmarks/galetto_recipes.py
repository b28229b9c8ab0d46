"""Galetto & Deng 2022: which training recipe helps the patch classifier, measured.

Every recipe trains MobileNetV2 (width 0.5 unless named) from scratch for the same number of
optimiser steps (batch 128, seed 0, one torch thread each, two recipes at a time), on the patch
dataset of ``defocus_lab.synth.patches`` (32 patches per photo at most), and is scored on the
test split of its protocol:

- ``paper``: the paper's recipe as the lab runs it (cross-entropy, 8-bit patches, the square's
  8 symmetries, split by photo);
- ``patch-split``: the same, split by patch (the paper's training / validation split): the test
  samples' photos, and the same patches at other blur levels, are in the training split;
- ``no-flips``, ``ordinal``, ``noise``, ``float``, ``width-1``: one change each from ``paper``
  (``defocus_lab.models.train_galetto``'s docstring says what each is);
- ``ordinal+noise``: the two together.

Beside the clean test split, each photo-split recipe is scored on the same test patches with
Gaussian noise added after the blur, its standard deviation drawn per patch uniformly in
[0, 0.01] (up to 2.55 grey levels; a fixed seed), then rounded to 8 bits: what a camera's
blurred region looks like.

    DEFOCUS_LAB_DATA=../shared/data python benchmarks/galetto_recipes.py [--steps 3000] [--only a,b]

Reports go to ``data/galetto2022/recipes/<name>.json`` (notebook 05's Table 3 reads ``paper`` and
``patch-split``), the weights to ``/tmp`` (not shipped), the table to
``benchmarks/results/galetto_recipes.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "galetto2022" / "recipes"
RECIPES = {
    "paper": [],
    "patch-split": ["--protocol", "patch"],
    "no-flips": ["--no-augment"],
    "ordinal": ["--loss", "ordinal"],
    "noise": ["--noise", "0.01"],
    "float": ["--bits", "16"],
    "ordinal+noise": ["--loss", "ordinal", "--noise", "0.01"],
    "width-1": ["--width", "1.0"],
}
TEST_NOISE = 0.01


def train(name: str, steps: int) -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "defocus-lab")
    width = [] if "--width" in RECIPES[name] else ["--width", "0.5"]
    cmd = [exe, "train", "galetto", "--out", f"/tmp/recipe-{name}.npz", "--fresh", "--minutes", "600",
           "--max-steps", str(steps), "--seed", "0", "--threads", "1", "--quiet", "--report",
           str(OUT / f"{name}.json")] + width + RECIPES[name]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return name


def noisy_scores(weights: str, test) -> dict:
    """Top-1 and within-one on the test split with TEST_NOISE added after the blur (seeded)."""
    import numpy as np
    from defocus_lab.metrics import classification_scores
    from defocus_lab.models.mobilenet import load_mobilenet
    from defocus_lab.models.train_galetto import predict
    x = test.as_float(noise=TEST_NOISE, rng=np.random.default_rng(2022))
    s = classification_scores(predict(load_mobilenet(weights), x).argmax(1), test.y, 20)
    return {"accuracy": s["accuracy"], "within_one": s["within_one"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--only", help="comma-separated recipe names (default: all)")
    args = ap.parse_args()
    names = list(RECIPES) if not args.only else args.only.split(",")
    unknown = set(names) - set(RECIPES)
    if unknown:
        raise SystemExit(f"unknown recipes {sorted(unknown)}; choose from {list(RECIPES)}")
    OUT.mkdir(parents=True, exist_ok=True)
    from defocus_lab.synth.patches import patch_dataset
    for s in ("train", "validation", "test"):  # made once, before the parallel runs read the cache
        patch_dataset(s, progress=False)
    with ThreadPoolExecutor(2) as pool:
        for done in pool.map(lambda n: train(n, args.steps), names):
            print(f"trained {done}", flush=True)
    test = patch_dataset("test", progress=False)
    print()
    print(f"{args.steps} steps of batch 128 each, from scratch, seed 0, one thread per run")
    print()
    print("| recipe | protocol | train patches | test patches | top-1 | within one | top-1, noisy test | "
          "within one, noisy test | minutes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in names:
        r = json.loads((OUT / f"{n}.json").read_text())
        t = r["test"]
        proto = r["config"].get("protocol", "photo")
        noisy = noisy_scores(f"/tmp/recipe-{n}.npz", test) if proto == "photo" else None
        r["noisy_test"] = noisy
        (OUT / f"{n}.json").write_text(json.dumps(r, indent=1))
        cols = (f"{noisy['accuracy']:.3f} | {noisy['within_one']:.3f}" if noisy else "- | -")
        print(f"| {n} | {proto} | {r['patches']['train']} | {r['patches']['test']} | {t['accuracy']:.3f} | "
              f"{t['within_one']:.3f} | {cols} | {r['minutes_total']:.1f} |", flush=True)


if __name__ == "__main__":
    with record(__file__):
        main()
