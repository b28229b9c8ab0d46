"""The deblurring paper's table on the lab's ground truth: every method and ablation
(experiments/deblur.py) on layered scenes (synth/layers.py), with the true layer masks and with
the layers of the lab's estimated maps (Zhuo & Sim 2011, Karaali 2022; the blind methods' disk
search then stays near the map's disk, as `defocus-lab deblur` does). PSNR / SSIM overall and
per true layer; the JSON goes to data/deblur/table.json (notebook 03 shows it).

    DEFOCUS_LAB_DATA=../shared/data python benchmarks/table_deblur.py

    DEFOCUS_LAB_DATA=../shared/data python benchmarks/table_deblur.py --photo   # the photo table only

**The paper's table.** Scenes: the motorcycle at 0.4 scale, three disparity bands (in focus, 3 px, 6 px), disk and
Gaussian-pupil kernels; with DEFOCUS_LAB_DATA, the first Kodak24 photo (a blob in focus, the rest
a 5 px disk) and the first McMaster photo (three blob layers, 3 and 6 px pupil). Noise 0.005.

**The photo table** (what `defocus-lab deblur PHOTO` runs, apps.restore.restore_photo;
experiments.deblur.photo_table): half-sharp scenes (left half in focus, right half a disk of 2, 4
or 6 px, noise 0.005) made from photos that tuned nothing (the guarded scheme's numbers were set
on Kodak 01-04): Kodak 13, 17, 21 and McMaster 1, 7 (500x500), or without DEFOCUS_LAB_DATA
scikit-image's astronaut and chelsea. Every estimator of the registry gives the map; the true
layers are the bound of a perfect map; the non-blind true kernel, Richardson-Lucy and Wiener
(true layers, the true radius's Gaussian) stand beside. PSNR / SSIM gains for the whole image and
each half go to data/deblur/photo_table.json (notebook 03 shows them); the printout to
benchmarks/results/table_deblur_photo.md.
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
PHOTO_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "deblur", "photo_table.json")
HELD_OUT = [("kodak24", "kodim13"), ("kodak24", "kodim17"), ("kodak24", "kodim21"), ("mcmaster", "1"), ("mcmaster", "7")]
PHOTO_RADII = (2, 4, 6)


def photo_scenes():
    """(name, sharp photo) of the held-out photos (module docstring)."""
    from skimage import data as skdata
    from defocus_lab import data
    root = data.data_dir()
    out = []
    for set_, stem in HELD_OUT:
        folder = None if root is None else root / "sharp" / set_
        paths = [] if folder is None or not folder.is_dir() else [p for p in folder.iterdir() if p.stem == stem]
        if paths:
            out.append((f"{set_}-{stem}", data.read_image(paths[0])))
    if not out:
        print("DEFOCUS_LAB_DATA has no sharp/kodak24 or sharp/mcmaster: scikit-image's astronaut and chelsea")
        out = [(n, getattr(skdata, n)() / 255.0) for n in ("astronaut", "chelsea")]
    return out


def photo_main():
    from defocus_lab.experiments import deblur as xd
    from defocus_lab.synth.layers import half_scene
    results = {}
    for name, img in photo_scenes():
        for r in PHOTO_RADII:
            sc = half_scene(img, r, name=f"{name} half, disk {r} px")
            rows = xd.photo_table(sc)
            results[sc.name] = rows
            print(f"\n{sc.name} ({img.shape[1]}x{img.shape[0]}, noise {sc.noise})")
            print(f"{'row':22s} {'dPSNR':>6s} {'sharp':>6s} {'blurred':>7s} {'dSSIM':>6s} {'s':>5s}  radii")
            for m, row in rows.items():
                if "error" in row:
                    print(f"{m:22s} {row['error'][:90]}")
                    continue
                print(f"{m:22s} {row['gain_psnr']:6.2f} {row['gain_psnr_0']:6.2f} {row['gain_psnr_1']:7.2f} "
                      f"{row['gain_ssim']:6.3f} {row['seconds']:5.1f}  {row.get('radii', '')}")
    names = sorted({m for rows in results.values() for m in rows})
    print("\nsummary over the scenes: PSNR gain whole (min / mean), in-focus half (min), blurred half (mean)")
    for m in names:
        ok = [rows[m] for rows in results.values() if m in rows and "error" not in rows[m]]
        if not ok:
            continue
        g = [r["gain_psnr"] for r in ok]
        print(f"{m:22s} whole {min(g):6.2f} / {np.mean(g):6.2f}   in focus {min(r['gain_psnr_0'] for r in ok):6.2f}   "
              f"blurred {np.mean([r['gain_psnr_1'] for r in ok]):6.2f}   ({len(ok)} scenes)")
    os.makedirs(os.path.dirname(PHOTO_OUT), exist_ok=True)
    with open(PHOTO_OUT, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwrote {os.path.relpath(PHOTO_OUT)}")


def scenes():
    from skimage.transform import resize
    from defocus_lab import data
    from defocus_lab.synth.layers import blob_layers, layered_scene, motorcycle_layers
    sharp, labels = motorcycle_layers(scale=0.4)
    out = [(layered_scene(sharp, labels, (0, 3, 6), kind=kind, name=f"motorcycle-{kind}"), True)
           for kind in ("disk", "pupil")]
    for i, (set_, bands, radii, kind) in enumerate([("kodak24", 2, (0, 5), "disk"), ("mcmaster", 3, (0, 3, 6), "pupil")]):
        root = data.data_dir()  # listed here, by suffix, as they were chosen
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
    if "--photo" in sys.argv:
        with record(__file__, "table_deblur_photo"):
            photo_main()
    else:
        with record(__file__):
            main()
        with record(__file__, "table_deblur_photo"):
            photo_main()
