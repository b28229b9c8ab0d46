"""The ``defocus-lab`` command: the notebooks' functions from a shell.

    defocus-lab estimate IMAGE --out MAP.npy [--method zhuo2011|kriener2013|karaali2022|galetto2022]
                         [--propagation matting|domain_transform] [--units sigma|disk]
                         [--edges EDGES.png] [--sparse-out SPARSE.npz] [--png PREVIEW.png]
                         [-E KEY=VALUE ...] [-P KEY=VALUE ...]
    defocus-lab fetch [PATH ...]     download the external data (all but the weights by default;
                                     a folder such as weights/karaali2022 fetches what it holds)
    defocus-lab data                 where each external file would come from
    defocus-lab warmup               compile the numba kernels into the cache (make install does it)
    defocus-lab train bnet|enet --out WEIGHTS.npz [--minutes 30] [--seed 0] [--bnet B.npz|authors]
                                     train Karaali 2022's networks on synthetic data (resumable)
    defocus-lab train galetto --out WEIGHTS.npz [--minutes 60] [--width 1]
                                     train Galetto & Deng 2022's patch classifier (resumable)
    defocus-lab evaluate --dataset motorcycle|rtf|cuhk|dut|FOLDER [--method all|M1,M2]
                                     every method against ground truth, the papers' figures beside
    defocus-lab sweep METHOD --param lam=0.001,0.005 [--param ...] --dataset cuhk|rtf|dut|FOLDER
                         --out results.csv [--workers N | --scheduler ADDRESS] [--random N]
                                     a parameter sweep over a dataset on Dask (resumable)

The torch methods (karaali2022, galetto2022, training) take --device auto|cpu|cuda (auto: CUDA
when present); the numba methods run on the CPU.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

import numpy as np


def _renamed(table):
    """An argparse ``type`` for a method or propagation name of ``table``: a name used before
    0.1.0 (``pipeline.RENAMED``: zhuo-sim, kriener, domain-transform) becomes today's, after a
    one-line deprecation notice on stderr, as the API's FutureWarning does; any other name is
    returned as it is (argparse's ``choices`` then refuses an unknown one, listing today's)."""
    def convert(name: str) -> str:
        from .pipeline import RENAMED
        new = RENAMED.get(name)
        if new in table:
            print(f"defocus-lab: deprecated: {name!r} is now called {new!r}; the old name will be removed",
                  file=sys.stderr)
            return new
        return name
    return convert


def _load(path: str) -> np.ndarray:
    from .data import read_image
    return read_image(path)  # raises ValueError / FileNotFoundError with what the file is


def _options(pairs, flag) -> dict:
    """KEY=VALUE strings as a dict; VALUE is a Python literal (1e-3, None, True, 'grey') or, when
    it is not one, the plain string (grey)."""
    out = {}
    for item in pairs or ():
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"{flag} takes KEY=VALUE (e.g. {flag} canny_high=0.05); got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _outputs(args) -> dict:
    """Every output path of ``estimate``, checked before anything is computed: the .npy / .npz
    suffix made explicit (numpy would add it), a preview format matplotlib writes (.png when no
    suffix is given), folders that exist and are writable, no output equal to an input or to
    another output."""
    out = {"out": args.out if args.out.endswith(".npy") else args.out + ".npy"}
    if args.sparse_out:
        out["sparse_out"] = args.sparse_out if args.sparse_out.endswith(".npz") else args.sparse_out + ".npz"
    if args.png:
        suffix = Path(args.png).suffix.lower().lstrip(".")
        if not suffix:
            out["png"] = args.png + ".png"
        else:
            from matplotlib.backend_bases import FigureCanvasBase
            kinds = FigureCanvasBase.get_supported_filetypes()
            if suffix not in kinds:
                raise ValueError(f"--png {args.png}: matplotlib cannot write .{suffix} files; use one of "
                                 f"{', '.join('.' + k for k in sorted(kinds))}")
            out["png"] = args.png
    return _checked(out, [p for p in (args.image, args.edges) if p])


def _checked(out: dict, inputs) -> dict:
    """``out`` (flag name -> path) after the checks of :func:`_outputs`: no output equal to an
    input or to another output, folders that exist and are writable, no folder as a file."""
    seen = {}
    for key, path in out.items():
        flag = "--" + key.replace("_", "-")
        p = Path(path).expanduser()
        real = os.path.realpath(p)
        for src in inputs:
            if real == os.path.realpath(src):
                raise ValueError(f"{flag} {path} is an input file: refusing to overwrite it; choose another name")
        if real in seen:
            raise ValueError(f"{flag} and {seen[real]} name the same file {path}: choose two names")
        seen[real] = flag
        folder = p.parent if str(p.parent) else Path(".")
        if not folder.is_dir():
            raise ValueError(f"{flag} {path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
            raise ValueError(f"{flag} {path}: not writable here")
        if p.is_dir():
            raise ValueError(f"{flag} {path} is a folder; give a file name")
    return out


def _device_option(method: str, device: str, est_opts: dict) -> dict:
    """``est_opts`` with ``device`` added when ``method``'s estimator runs torch (checked here,
    so that --device cuda on a machine without one fails before any work)."""
    from .models.device import resolve_device
    from .pipeline import METHODS
    resolve_device(device)
    if method in METHODS and "device" in getattr(METHODS[method].estimate, "option_names", ()):
        return {"device": device, **est_opts}
    return est_opts


def _estimate(args) -> int:
    from .pipeline import estimate_defocus
    outputs = _outputs(args)
    est_opts = _device_option(args.method, args.device, _options(args.estimator_option, "-E/--estimator-option"))
    prop_opts = _options(args.propagator_option, "-P/--propagator-option")
    image = _load(args.image)
    edges = _load(args.edges) if args.edges else None
    dense, sparse, info = estimate_defocus(image, method=args.method, propagation=args.propagation, edges=edges,
                                           units=args.units, estimator_options=est_opts,
                                           propagator_options=prop_opts, return_info=True)
    np.save(outputs["out"], dense.astype(np.float32))
    if args.sparse_out:
        # (H, W) arrays: values (kept for propagation, 0 elsewhere), raw_values (the estimator's
        # value at every edge pixel, dropped ones included), mask, depth_edges (all False for
        # methods without depth edges).
        depth = sparse.depth_edges if sparse.depth_edges is not None else np.zeros(sparse.shape, bool)
        np.savez_compressed(outputs["sparse_out"], values=sparse.values.astype(np.float32),
                            raw_values=sparse.all_values().astype(np.float32), mask=sparse.mask,
                            depth_edges=depth)
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.imsave(outputs["png"], dense, cmap="viridis")
    sec = info["seconds"]
    at = info.get("downsample", 1)
    solved = ("" if "downsample" not in info else
              ", propagated at full resolution" if at == 1 else f", propagated at 1/{at} resolution (photo size)")
    n = int(sparse.mask.sum())
    estimates = "a dense first estimate" if n == sparse.mask.size else f"{n} sparse estimates"
    print(f"wrote {outputs['out']}: {dense.shape[0]}x{dense.shape[1]} map, {args.units} in px, "
          f"range {dense.min():.3f}..{dense.max():.3f}, {estimates}{solved}; "
          f"{sec['estimate']:.1f} s estimating, {sec['propagate']:.1f} s propagating")
    if "sparse_out" in outputs:
        print(f"wrote {outputs['sparse_out']}: the sparse estimate")
    if "png" in outputs:
        print(f"wrote {outputs['png']}: a colour preview of the map")
    return 0


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def _deblur(args) -> int:
    """``defocus-lab deblur PHOTO --out SHARP.png``: the all-in-focus image (apps.deblur.deblur)."""
    import time

    from .apps.deblur import deblur
    from .apps.restore import restore_photo
    from .pipeline import all_in_focus
    suffix = Path(args.out).suffix.lower()
    if suffix and suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"--out {args.out}: write one of {', '.join(IMAGE_SUFFIXES)} (8-bit image)")
    out = {"out": args.out if suffix else args.out + ".png"}
    if args.labels_out:
        out["labels_out"] = args.labels_out if args.labels_out.endswith(".npy") else args.labels_out + ".npy"
    out = _checked(out, [p for p in (args.image, args.map, args.layers) if p])
    if args.map and args.layers:
        raise ValueError("give --map or --layers, not both (--layers is the segmentation itself)")
    image = _load(args.image)
    shape = image.shape[:2]
    blur_map = labels = None
    if args.map:
        blur_map = _load_array(args.map, "--map", shape, float)
    if args.layers:
        labels = _load_array(args.layers, "--layers", shape, int)
    options = _options(args.option, "-O/--option")
    if args.n_layers is not None:
        options["n_layers"] = args.n_layers
    t0 = time.perf_counter()
    if args.scheme == "paper":
        if args.refine or args.max_pixels:
            raise ValueError("--refine and --max-pixels belong to --scheme guarded")
        if args.iterations is not None:  # else deblur's own N, the paper's 20
            options["iterations"] = args.iterations
        if args.k0:
            options["k0"] = args.k0
        if blur_map is None and labels is None:
            res = all_in_focus(image, method=args.method, scheme="paper", progress=not args.quiet, **options)
        else:
            res = deblur(image, blur_map=blur_map, labels=labels, progress=not args.quiet, **options)
    else:
        if args.k0:
            raise ValueError("--k0 belongs to --scheme paper (the guarded scheme reads each layer's disk from its "
                             "spectrum)")
        if args.refine:
            options["refine"] = True
            if args.iterations is not None:
                options["iterations"] = args.iterations
        elif args.iterations is not None:
            raise ValueError("--iterations is the blind alternation's: give it with --refine (or --scheme paper)")
        if blur_map is None and labels is None:
            res = all_in_focus(image, method=args.method, max_pixels=args.max_pixels, progress=not args.quiet,
                               **options)
        else:
            if args.max_pixels:
                raise ValueError("--max-pixels is for a map the command estimates; a given --map or --layers sets "
                                 "the working copy by its own shape")
            res = restore_photo(image, blur_map=blur_map, labels=labels, progress=not args.quiet, **options)
    from skimage import io as skio
    img8 = np.round(np.clip(res.image, 0, 1) * 255).astype(np.uint8)
    skio.imsave(out["out"], img8, check_contrast=False)
    if "labels_out" in out:
        np.save(out["labels_out"], res.labels.astype(np.int32))
    source = "the given layers" if labels is not None else ("the given map" if blur_map is not None else
                                                              f"a {args.method} map")
    if args.scheme == "paper":
        radii = ", ".join(f"layer {lab}: {len(r.history)} iterations, initial disk "
                          f"{'given' if r.radius0 is None else f'{r.radius0:g} px'}, kernel rank {r.history[-1]['r0']}"
                          for lab, r in res.layers.items())
        print(f"wrote {out['out']}: {shape[0]}x{shape[1]} all-in-focus image from {source}, "
              f"{len(res.layers)} layer(s) deblurred ({radii}) in {time.perf_counter() - t0:.1f} s")
    else:
        h, w = res.labels.shape
        radii = ", ".join(f"layer {lab}: disk {r:g} px" for lab, r in res.radii.items()) or "none"
        skipped = "".join(f"; layer {lab} kept: {why}" for lab, why in res.skipped.items())
        print(f"wrote {out['out']}: {shape[0]}x{shape[1]} image from {source}, deblurred on a {h}x{w} copy "
              f"({radii}{skipped}); {100 * float(np.mean(res.weights > 0.5)):.0f} % of the copy restored, the rest "
              f"kept; noise {res.noise:.4f}, lam1 {res.lam1:.1e}; {time.perf_counter() - t0:.1f} s")
    if "labels_out" in out:
        print(f"wrote {out['labels_out']}: the layers used (0 = in focus"
              f"{'' if res.labels.shape == shape else f', on the {res.labels.shape[0]}x{res.labels.shape[1]} copy'})")
    return 0


def _load_array(path: str, flag: str, shape, kind) -> np.ndarray:
    """An (H, W) .npy array of the photo's shape: a map (float, finite, >= 0) or layer labels
    (integers >= 0)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{flag} {path}: no such file")
    try:
        a = np.load(p, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{flag} {path}: not a .npy array ({exc})") from None
    if a.shape != tuple(shape):
        raise ValueError(f"{flag} {path} has shape {a.shape}; the photo is {shape[0]}x{shape[1]}")
    if kind is int:
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0:
            raise ValueError(f"{flag} {path}: layer labels must be integers >= 0 (0 = in focus)")
        return a.astype(np.int64)
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0:
        raise ValueError(f"{flag} {path}: the map must be finite and >= 0 (Gaussian sigma in px, as `estimate` "
                         f"writes it)")
    return a


def _fetch(args) -> int:
    from .data import fetch, registry
    reg = registry()
    if not args.paths:
        names = [p for p in reg if not p.startswith("weights/")]
    else:
        names = []
        for arg in args.paths:  # an exact path, or a folder prefix such as weights/karaali2022
            hits = [arg] if arg in reg else [p for p in reg if p.startswith(arg.rstrip("/") + "/")]
            if not hits:
                raise ValueError(f"{arg!r} names no registered file or folder; `defocus-lab data` lists them")
            names += hits
    for p in names:
        print(fetch(p, download=True))
    return 0


def _data(args) -> int:
    from .data import ENV, available, data_dir, registry
    print(f"{ENV} = {data_dir()}")
    for rel, (sha, url) in registry().items():
        print(f"{'ok ' if available(rel) else '-- '} {rel}  {url}")
    return 0


def _warmup(args) -> int:
    from .warmup import warmup
    warmup()
    return 0


def _train(args) -> int:
    import json

    if args.kind == "galetto":
        from .models.train_galetto import GalettoConfig, train_galetto
        cfg = GalettoConfig(minutes=args.minutes, seed=args.seed, batch=args.batch or 128, lr=args.lr,
                            width=args.width, per_image=args.per_image, threads=args.threads,
                            max_steps=args.max_steps, arch=args.arch, device=args.device, loss=args.loss,
                            noise=args.noise, bits=args.bits, protocol=args.protocol, augment=not args.no_augment,
                            init=args.init)
        report = train_galetto(args.out, cfg, resume=not args.fresh, progress=not args.quiet)
    else:
        from .models.train import TrainConfig, train
        cfg = TrainConfig(kind=args.kind, minutes=args.minutes, seed=args.seed, batch=args.batch or 64, lr=args.lr,
                          chunk=args.chunk, validation=args.validation, bnet=args.bnet, threads=args.threads,
                          max_steps=args.max_steps, device=args.device)
        report = train(args.out, cfg, resume=not args.fresh, progress=not args.quiet)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    return 0


def _method_list(text: str) -> list[str]:
    from .experiments.galetto import lab_methods
    from .pipeline import METHODS
    if text == "all":
        return lab_methods()
    names = [_renamed(METHODS)(m.strip()) for m in text.split(",") if m.strip()]
    bad = [m for m in names if m not in METHODS]
    if bad or not names:
        raise ValueError(f"--method {text}: choose 'all' or a comma-separated list of {list(METHODS)}")
    return names


def _evaluate(args) -> int:
    from .experiments import evaluate as ev
    from .models.device import resolve_device
    resolve_device(args.device)
    methods = _method_list(args.method)
    est = _options(args.estimator_option, "-E/--estimator-option")
    pro = _options(args.propagator_option, "-P/--propagator-option")
    out = _checked({"out": args.out}, []) if args.out else None
    refs, skipped = ev.samples(args.dataset, limit=args.limit)
    if not refs:
        raise ValueError(f"dataset {args.dataset!r} has no image here (missing: {', '.join(skipped) or 'none'}); "
                         f"set DEFOCUS_LAB_DATA to the shared data folder, or use --dataset motorcycle")
    from tqdm import tqdm

    from .pipeline import METHODS, PROPAGATORS
    for m in methods:  # a misspelt option is refused here, not recorded as a failure of every image
        prop = args.propagation or METHODS[m].propagator
        for given, fn, flag, what in ((est, METHODS[m].estimate, "-E", f"{m}'s estimator"),
                                      (pro, PROPAGATORS[prop], "-P", f"the {prop} propagator")):
            bad = sorted(set(given) - set(fn.option_names))
            if bad:
                raise ValueError(f"{flag} {', '.join(bad)}: not an option of {what}; it takes "
                                 f"{sorted(fn.option_names)}")
    result = ev.evaluate(args.dataset, methods, propagation=args.propagation, estimator_options=est,
                         propagator_options=pro, limit=args.limit, device=args.device,
                         progress=None if args.quiet else tqdm)
    print(ev.format_table(result))
    for r in result["rows"]:
        if r["error"]:
            print(f"failed: {r['method']} on {r['image']}: {r['error']}")
        elif r["warnings"]:
            print(f"warning: {r['method']} on {r['image']}: {r['warnings']}")
    if out:
        import csv
        cols = ["dataset", "image", "method", "propagation"] + list(result["metrics"]) + ["seconds", "error", "warnings"]
        with open(out["out"], "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            w.writerows(result["rows"])
        print(f"wrote {out['out']}: one row per (image, method)")
    return 0


def _param_values(items) -> dict:
    """--param NAME=V1,V2,... as {NAME: [V1, V2, ...]} (each a Python literal, else a string)."""
    space = {}
    for item in items or ():
        key, sep, values = item.partition("=")
        name = key.rpartition(".")[2]
        if not sep or not name.isidentifier() or not values:
            raise ValueError(f"--param takes NAME=V1,V2,... (e.g. --param lam=0.001,0.005); got {item!r}")
        if key in space:
            raise ValueError(f"--param {key} is given twice: put every value in one list")
        parsed = []
        for v in values.split(","):
            try:
                parsed.append(ast.literal_eval(v))
            except (ValueError, SyntaxError):
                parsed.append(v)
        space[key] = parsed
    return space


def _sweep(args) -> int:
    from . import sweep
    from .models.device import resolve_device
    resolve_device(args.device)
    out = _checked({"out": args.out}, [])["out"]
    settings = sweep.grid(**_param_values(args.param)) if args.param else [{}]
    if args.random is not None:
        if args.random < 1:
            raise ValueError(f"--random takes a positive number of settings; got {args.random}")
        rng = np.random.default_rng(args.seed)
        keep = np.sort(rng.choice(len(settings), size=min(args.random, len(settings)), replace=False))
        settings = [settings[i] for i in keep]
    workers = args.workers
    rows = sweep.run(args.method, settings, args.dataset, out=out, propagation=args.propagation, workers=workers,
                     scheduler=args.scheduler, threads=args.threads, limit=args.limit, device=args.device,
                     progress=not args.quiet)
    from .experiments.evaluate import metric_names
    metric = metric_names(args.dataset)[0]
    failed = [r for r in rows if r["error"]]
    warned = [r for r in rows if not r["error"] and r.get("warnings")]
    print(f"wrote {out}: {len(rows)} rows ({len(settings)} settings x {len(rows) // max(len(settings), 1)} images), "
          f"{len(failed)} failed, {len(warned)} with warnings (see the warnings column)")
    for r in failed[:10]:
        print(f"failed: {r['image']} {r['setting']}: {r['error']}")
    if len(rows) > len(failed):
        b = sweep.best(rows, metric)
        print(f"best mean {metric}: {b[metric]:.4f} over {b['images']} images with {b['setting']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .pipeline import METHODS, PROPAGATORS
    p = argparse.ArgumentParser(prog="defocus-lab", description="Single-image defocus blur estimation.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("estimate", help="estimate a dense defocus map of one image")
    e.add_argument("image")
    e.add_argument("--out", required=True, help="dense map, float32 (H, W) .npy (the suffix is added "
                                                "when missing)")
    e.add_argument("--method", default="zhuo2011", type=_renamed(METHODS), choices=list(METHODS),
                   help="; ".join(f"{k}: {m.citation}" for k, m in METHODS.items()))
    e.add_argument("--propagation", default=None, type=_renamed(PROPAGATORS), choices=sorted(PROPAGATORS),
                   help="default: the method's own (matting; domain_transform for karaali2022; wgif for galetto2022)")
    e.add_argument("--units", default="sigma", choices=["sigma", "disk"],
                   help="Gaussian sigma (px) or disk radius (px); converted through the RTF table "
                        "when the method's unit differs (karaali2022 gives disk radius)")
    e.add_argument("--edges", help="precomputed binary edge map instead of Canny")
    e.add_argument("--sparse-out", help="sparse estimate .npz of (H, W) arrays: values, raw_values, mask, "
                                        "depth_edges")
    e.add_argument("--png", help="a colour preview of the dense map")
    e.add_argument("-E", "--estimator-option", action="append", metavar="KEY=VALUE",
                   help="an option of the method's estimator, e.g. -E variant=code, -E detector=grey "
                        "(karaali2022), -E canny_high=0.05; repeatable")
    e.add_argument("-P", "--propagator-option", action="append", metavar="KEY=VALUE",
                   help="an option of the propagator, e.g. -P downsample=4, -P psi=100; repeatable")
    e.add_argument("--device", default="auto", help="karaali2022 and galetto2022: where the networks run "
                                                     "(auto: CUDA when present; cpu; cuda; cuda:N)")
    e.set_defaults(func=_estimate)
    b = sub.add_parser("deblur", help="an all-in-focus image: blind deblurring of each defocus layer "
                                      "(symmetric low-rank kernels, the lab's third paper)")
    b.add_argument("image")
    b.add_argument("--out", required=True, help="the all-in-focus image, 8-bit (.png when no suffix)")
    b.add_argument("--map", help="a defocus map .npy (sigma px, as `estimate --units sigma` writes it) instead "
                                 "of estimating one")
    b.add_argument("--layers", help="an (H, W) integer .npy of layers (0 = in focus) instead of a map")
    b.add_argument("--method", default="zhuo2011", type=_renamed(METHODS), choices=list(METHODS),
                   help="the estimator of the map when neither --map nor --layers is given")
    b.add_argument("--n-layers", type=int, help="layers cut from the map (in focus + N-1 blurred; default 2 for the "
                                                "guarded scheme, 3 for the paper's)")
    b.add_argument("--scheme", choices=["guarded", "paper"], default="guarded",
                   help="guarded (default): each layer's disk from its spectrum, restored only where the re-blur "
                        "check and the local spectrum agree it is blurred, on a copy of at most --max-pixels; "
                        "paper: every pixel of a blurred layer deconvolved blind at full size (notebook 03)")
    b.add_argument("--refine", action="store_true", help="guarded: refine each disk by the paper's blind "
                                                         "alternation (--iterations times)")
    b.add_argument("--max-pixels", type=int, help="guarded: the working copy's size at most (default 1000000)")
    b.add_argument("--iterations", type=int, help="outer iterations N of the blind alternation (the paper's 20)")
    b.add_argument("--k0", choices=["search", "map"], help="paper: the initial kernel, Tung & Hwang's disk search "
                                                           "(default) or the map's disk")
    b.add_argument("--labels-out", help="write the layers used as an (H, W) .npy")
    b.add_argument("-O", "--option", action="append", metavar="KEY=VALUE",
                   help="an option of the scheme: guarded: -O lam1=0.001 (default from the noise); paper: an option "
                        "of deblur_layer, e.g. -O lam1=0.005, -O kernel_size=21, -O residual=False")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_deblur)
    f = sub.add_parser("fetch", help="download external data files (checked by sha256)")
    f.add_argument("paths", nargs="*", help="paths or folders as in `defocus-lab data`, e.g. weights/karaali2022 "
                                           "(default: everything but the weights)")
    f.set_defaults(func=_fetch)
    d = sub.add_parser("data", help="list the external data files and whether they are here")
    d.set_defaults(func=_data)
    w = sub.add_parser("warmup", help="compile the numba kernels into the on-disk cache (done by make install)")
    w.set_defaults(func=_warmup)
    t = sub.add_parser("train", help="train B-NET or E-NET (Karaali 2022) or the patch classifier (Galetto & Deng "
                                     "2022) on synthetic data, on a time budget")
    t.add_argument("kind", choices=["bnet", "enet", "galetto"])
    t.add_argument("--out", required=True, help="weights .npz (a checkpoint OUT.ckpt.pt is kept beside it)")
    t.add_argument("--minutes", type=float, default=30.0, help="training time of this call (default 30)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch", type=int, help="default 64 (bnet, enet), 128 (galetto, the paper's)")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--chunk", type=int, default=2048, help="samples generated at a time")
    t.add_argument("--validation", type=int, default=2048, help="held-out samples")
    t.add_argument("--bnet", help="E-NET: 'authors' or a B-NET .npz whose f1 branches are copied and frozen")
    t.add_argument("--width", type=float, default=1.0, help="galetto: MobileNetV2's width multiplier (default 1)")
    t.add_argument("--per-image", type=int, default=32, help="galetto: sharp patches per photo (default 32)")
    t.add_argument("--loss", default="cross-entropy", choices=["cross-entropy", "ordinal"],
                   help="galetto: the paper's cross-entropy or the ordinal soft-target loss")
    t.add_argument("--noise", type=float, default=0.0,
                   help="galetto: largest noise standard deviation added after the blur (0..1 scale; default 0)")
    t.add_argument("--bits", type=int, default=8, choices=[8, 16],
                   help="galetto: patches rounded to 8 bits as a photo (default) or float (16)")
    t.add_argument("--init", help="galetto: start from these weights (.npz) instead of a random initialisation")
    t.add_argument("--no-augment", action="store_true",
                   help="galetto: no random flips / transposes of the training patches")
    t.add_argument("--protocol", default="photo", choices=["photo", "patch"],
                   help="galetto: split by photo (default) or by patch (the paper's validation split)")
    t.add_argument("--arch", default="mobilenetv2", choices=["mobilenetv2", "plain4"],
                   help="galetto: the network (plain4: the 4-layer CNN of the lab's Table 2)")
    t.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    t.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (default: the minutes)")
    t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    t.add_argument("--report", help="write the training report as JSON")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--device", default="auto", help="where the network trains (auto: CUDA when present; cpu; cuda)")
    t.set_defaults(func=_train)
    v = sub.add_parser("evaluate", help="every method against ground truth on a dataset, the papers' figures "
                                        "beside ours")
    v.add_argument("--dataset", required=True, help="motorcycle (synthetic, always here), rtf, cuhk, dut, or a "
                                                    "FOLDER with image/ and gt/ of matching names")
    v.add_argument("--method", default="all", help="'all' (every method that can run here) or M1,M2,... of "
                                                   f"{list(METHODS)}")
    v.add_argument("--propagation", default=None, type=_renamed(PROPAGATORS), choices=sorted(PROPAGATORS),
                   help="default: each method's own")
    v.add_argument("--limit", type=int, help="only the first N images")
    v.add_argument("--out", help="also write one CSV row per (image, method)")
    v.add_argument("-E", "--estimator-option", action="append", metavar="KEY=VALUE", help="as in `estimate`")
    v.add_argument("-P", "--propagator-option", action="append", metavar="KEY=VALUE", help="as in `estimate`")
    v.add_argument("--device", default="auto", help="karaali2022 and galetto2022: auto, cpu, cuda")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.set_defaults(func=_evaluate)
    s = sub.add_parser("sweep", help="a parameter sweep of one method over a dataset, on a Dask LocalCluster or "
                                     "cluster; one CSV row per (image, setting); resumable")
    s.add_argument("method", type=_renamed(METHODS), choices=list(METHODS))
    s.add_argument("--param", action="append", metavar="NAME=V1,V2,...",
                   help="a parameter and its values (the grid is every combination); NAME is an option of the "
                        "estimator or the propagator (est.NAME / prop.NAME when both take it); repeatable")
    s.add_argument("--dataset", required=True, help="cuhk, dut, rtf, motorcycle or a FOLDER with image/ and gt/")
    s.add_argument("--out", required=True, help="the CSV; a rerun with the same file skips the finished rows")
    s.add_argument("--propagation", default=None, type=_renamed(PROPAGATORS), choices=sorted(PROPAGATORS), help="default: the method's own")
    s.add_argument("--workers", type=int, help="LocalCluster processes (default: one per core; 0: in this process)")
    s.add_argument("--scheduler", help="a running Dask scheduler, tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS)")
    s.add_argument("--threads", type=int, help="numba/torch threads per task (default: cores / workers; 1 on a "
                                               "cluster)")
    s.add_argument("--random", type=int, metavar="N", help="run N settings drawn from the grid instead of all")
    s.add_argument("--seed", type=int, default=0, help="the seed of --random")
    s.add_argument("--limit", type=int, help="only the first N images")
    s.add_argument("--device", default="cpu", help="karaali2022 and galetto2022: cpu (default: workers share "
                                                   "no GPU by surprise), cuda, auto")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_sweep)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MemoryError as exc:
        print(f"defocus-lab: error: out of memory ({exc or 'no detail'}): the image is too large for "
              f"this machine with these settings; try -P downsample=auto or a smaller image", file=sys.stderr)
        return 2
    except (ValueError, KeyError, FileNotFoundError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"defocus-lab: error: {msg}", file=sys.stderr)
        return 2
    except TypeError as exc:  # an -E/-P option the function does not take
        if args.func in (_estimate, _deblur, _evaluate) and "unexpected keyword argument" in str(exc):
            flags = "-E/-P" if args.func is _estimate else "-O"
            print(f"defocus-lab: error: {exc} (check the {flags} option names)", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
