"""The deblurring paper's table on the lab's ground truth: every method and ablation
(experiments/deblur.py) on layered scenes (synth/layers.py), with the true layer masks and with
the layers of the lab's estimated maps (Zhuo & Sim 2011, Karaali 2022; the blind methods' disk
search then stays near the map's disk, as `defocus-lab deblur` does). PSNR / SSIM overall and
per true layer; the JSON goes to data/deblur/table.json (notebook 03 shows it).

    DEFOCUS_LAB_DATA=../shared/data python benchmarks/table_deblur.py

Scenes: the motorcycle at 0.4 scale, three disparity bands (in focus, 3 px, 6 px), disk and
Gaussian-pupil kernels; with DEFOCUS_LAB_DATA, the first Kodak24 photo (a blob in focus, the rest
a 5 px disk) and the first McMaster photo (three blob layers, 3 and 6 px pupil). Noise 0.005.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "deblur", "table.json")


def scenes():
    from skimage.transform import resize
    from defocus_lab import data
    from defocus_lab.synth.layers import blob_layers, layered_scene, motorcycle_layers
    sharp, labels = motorcycle_layers(scale=0.4)
    out = [(layered_scene(sharp, labels, (0, 3, 6), kind=kind, name=f"motorcycle-{kind}"), True)
           for kind in ("disk", "pupil")]
    for i, (set_, bands, radii, kind) in enumerate([("kodak24", 2, (0, 5), "disk"), ("mcmaster", 3, (0, 3, 6), "pupil")]):
        root = data.data_dir()  # listed here: data.sharp_image_paths skips McMaster's .tif files
        folder = None if root is None else root / "sharp" / set_
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".tif", ".jpg")) \
            if folder is not None and folder.is_dir() else []
        if not paths:
            print(f"skipped {set_}: DEFOCUS_LAB_DATA has no sharp/{set_}/")
            continue
        img = data.read_image(paths[0])
        h, w = img.shape[:2]
        s = min(1.0, 400 / max(h, w))
        img = np.clip(resize(img, (round(h * s), round(w * s)), order=3, anti_aliasing=True), 0, 1)
        lab = blob_layers(img.shape[:2], bands=bands, seed=i)
        out.append((layered_scene(img, lab, radii, kind=kind, name=f"{set_}-{paths[0].stem}-{kind}"), False))
    return out


def main():
    from defocus_lab.experiments import deblur as xd
    results = {}
    for sc, with_maps in scenes():
        runs = [("true masks", None, None, None)]
        if with_maps:
            for method in ("zhuo2011", "karaali2022"):
                t = time.perf_counter()
                labels, sig, bm = xd.estimated_labels(sc, method)
                agree = float(np.mean(labels == sc.labels))
                runs.append((f"{method} map", labels, sig, bm))
                kept = float(np.mean(labels[sc.labels == 0] == 0))
                print(f"{sc.name}: {method} layers (Otsu) agree with the truth on {100 * agree:.1f} % of pixels, "
                      f"{100 * kept:.1f} % of the in-focus layer kept in focus ({time.perf_counter() - t:.1f} s)")
        for label, labels, sig, bm in runs:
            rows = xd.table(sc, labels=labels, sigmas=sig, blur_map=bm)
            key = f"{sc.name} / {label}"
            results[key] = {m: {k: v for k, v in r.items() if k != "kernels"} for m, r in rows.items()}
            for m, r in rows.items():
                results[key][m]["radius0"] = {str(lab): x.get("radius0") for lab, x in r["kernels"].items()}
            layers = sorted(int(k.split("_")[1]) for k in rows["blurred"] if k.startswith("psnr_"))
            print(f"\n{key} (radii {sc.radii}, {sc.kind}, noise {sc.noise})")
            print(f"{'method':16s} {'PSNR':>6s} {'SSIM':>6s} " + " ".join(f"{'L' + str(i):>6s}" for i in layers)
                  + f" {'s':>6s}  initial disk per layer")
            for m, r in rows.items():
                r0 = {lab: x.get("radius0") for lab, x in r["kernels"].items()}
                print(f"{m:16s} {r['psnr']:6.2f} {r['ssim']:6.3f} " + " ".join(f"{r[f'psnr_{i}']:6.2f}" for i in layers)
                      + f" {r['seconds']:6.1f}  {r0 if r0 else ''}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwrote {os.path.relpath(OUT)}")


if __name__ == "__main__":
    with record(__file__):
        main()
