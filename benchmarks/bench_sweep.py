"""A parameter sweep in this process against the same sweep on a Dask LocalCluster, side by side.

The sweep: Zhuo & Sim (``zhuo2011``, matting propagation) with lambda in {0.001, 0.02} on 32
synthetic images (``smooth_surface_scene``, 256 px, seeds 0..31, masks of the blurred background)
written to a folder in the CUHK layout: 64 tasks. Both runs write their CSV and their scores are
compared row by row.

- serial: ``workers=0``, numba with every core (``threads`` = the cores): the fair alternative,
  since numba's parallel kernels already use them;
- Dask: a LocalCluster of 2 single-threaded worker processes (``threads=1`` per task); its
  start-up (processes, imports, numba's cached kernels loaded in each worker) is counted, and
  also printed on its own.

Then a paper-and-pencil scaling note: images per second per core measured here on a
CUHK-size photo (when ``DEFOCUS_LAB_DATA`` has CUHK; else on the 256 px scenes), and what
704 images x 50 settings costs on N workers of one core each.

    python benchmarks/bench_sweep.py [--images 32] [--size 256]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import record  # noqa: E402


def make_folder(root: Path, n: int, size: int) -> Path:
    import imageio.v3 as iio

    from defocus_lab.synth import smooth_surface_scene
    (root / "image").mkdir(parents=True)
    (root / "gt").mkdir()
    for i in range(n):
        s = smooth_surface_scene(size, background_sigma=1.5 + (i % 4), roundness=(i % 5) / 4, seed=i)
        iio.imwrite(root / "image" / f"s{i:03d}.png", (s.image * 255).round().astype(np.uint8))
        iio.imwrite(root / "gt" / f"s{i:03d}.png", ((s.sigma > 0) * 255).astype(np.uint8))
    return root


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=32)
    p.add_argument("--size", type=int, default=256)
    args = p.parse_args()
    from distributed import Client, LocalCluster

    from defocus_lab import sweep
    from defocus_lab.experiments import evaluate as ev
    cores = os.cpu_count() or 1
    settings = sweep.grid(lam=[0.001, 0.02])
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp) / "set", args.images, args.size)
        tasks = args.images * len(settings)
        print(f"sweep: zhuo2011, lam in {{0.001, 0.02}}, {args.images} synthetic {args.size}x{args.size} images "
              f"= {tasks} tasks; {cores} cores")
        # warm: numba's cache loaded in this process before timing
        sweep.run("zhuo2011", [settings[0]], str(folder), workers=0, limit=1, progress=False)

        t = time.perf_counter()
        serial = sweep.run("zhuo2011", settings, str(folder), out=Path(tmp) / "serial.csv", workers=0,
                           threads=cores, progress=False)
        t_serial = time.perf_counter() - t

        t = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=40)
        client = Client(cluster)
        t_start = time.perf_counter() - t
        t1 = time.perf_counter()
        dask = sweep.run("zhuo2011", settings, str(folder), out=Path(tmp) / "dask.csv", client=client, threads=1,
                         progress=False)
        t_dask_run = time.perf_counter() - t1
        t_dask = time.perf_counter() - t
        client.close()
        cluster.close()

        clean = [(a, b) for a, b in zip(serial, dask) if not a["warnings"] and not b["warnings"]]
        warned = sorted({(a["image"], a["setting"]) for a, b in zip(serial, dask) if a["warnings"] or b["warnings"]})
        worst = max(abs(a["accuracy"] - b["accuracy"]) for a, b in clean)
        same = [(a["image"], a["setting"]) for a in serial] == [(b["image"], b["setting"]) for b in dask]
        print(f"serial (1 process, numba {cores} threads): {t_serial:7.1f} s, "
              f"{tasks / t_serial:.2f} tasks/s")
        print(f"Dask LocalCluster (2 workers x 1 thread):  {t_dask:7.1f} s with start-up "
              f"({t_start:.1f} s start, {t_dask_run:.1f} s running), {tasks / t_dask:.2f} tasks/s")
        print(f"ratio serial / Dask: {t_serial / t_dask:.2f} (with start-up), {t_serial / t_dask_run:.2f} (running only)")
        print(f"same rows in the same order: {same}; largest accuracy difference {worst:.2e} over the "
              f"{len(clean)} rows whose solve converged in both runs")
        for image, setting in warned:
            print(f"  a ConvergenceWarning in {image} {setting}: its scores differ between runs (see the note)")
        per_task_core = t_dask_run * 2 / tasks
        print(f"measured: {per_task_core:.2f} core-seconds per {args.size}px task")

    # one CUHK-size image, one thread: the unit costs of the scaling note (estimate and
    # propagation apart: a sweep of propagator options pays the estimate once per image)
    import numba

    from defocus_lab.pipeline import estimate_defocus
    refs, _ = ev.samples("cuhk", limit=2)
    numba.set_num_threads(1)
    import torch
    torch.set_num_threads(1)
    if refs:
        est = prop = 0.0
        for ref in refs:
            _, _, info = estimate_defocus(ev.load_sample(ref).image, return_info=True, progress=False)
            est += info["seconds"]["estimate"] / len(refs)
            prop += info["seconds"]["propagate"] / len(refs)
        what = f"zhuo2011 on {len(refs)} CUHK photos (~640x480), 1 thread"
    else:
        est, prop, what = 0.0, per_task_core, f"{args.size}px synthetic scene, 1 core (no CUHK here)"
    unit = est + prop
    print(f"unit cost ({what}): estimate {est:.2f} s + propagation {prop:.2f} s = {unit:.2f} s per image per core; "
          f"{1 / unit:.3f} images per second per core")
    n_img, n_set = 704, 50
    whole = n_img * n_set * unit
    prop_only = n_img * (est + n_set * prop)
    print(f"paper and pencil, {n_img} CUHK images x {n_set} settings:")
    print(f"  settings of the estimator (every task estimates): {whole / 3600:.1f} core-hours")
    print(f"  settings of the propagator only (each image estimated once per worker): {prop_only / 3600:.1f} core-hours")
    for n in (2, 16, 64, 256):
        print(f"  on {n:3d} one-core workers: {whole / n / 3600:6.2f} h / {prop_only / n / 3600:6.2f} h "
              f"(start-up and data reading aside)")


if __name__ == "__main__":
    with record(__file__):
        main()
