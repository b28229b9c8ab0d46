"""The ``defocus-lab`` command: the notebooks' functions from a shell.

    defocus-lab estimate IMAGE --out MAP.npy [--method zhuo-sim|kriener|karaali2022]
                         [--propagation matting|domain-transform] [--units sigma|disk]
                         [--edges EDGES.png] [--sparse-out SPARSE.npz] [--png PREVIEW.png]
    defocus-lab fetch [PATH ...]     download the external data (all of it by default)
    defocus-lab data                 where each external file would come from
    defocus-lab warmup               compile the numba kernels into the cache (make install does it)
    defocus-lab train bnet|enet --out WEIGHTS.npz [--minutes 30] [--seed 0] [--bnet B.npz|authors]
                                     train Karaali 2022's networks on synthetic data (resumable)
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def _load(path: str) -> np.ndarray:
    from .data import read_image
    try:
        return read_image(path)
    except Exception as exc:
        raise ValueError(f"cannot read image {path!r}: {exc}") from None


def _estimate(args) -> int:
    from .pipeline import estimate_defocus
    image = _load(args.image)
    edges = _load(args.edges) if args.edges else None
    dense, sparse = estimate_defocus(image, method=args.method, propagation=args.propagation, edges=edges,
                                     units=args.units)
    np.save(args.out, dense.astype(np.float32))
    if args.sparse_out:
        # (H, W) arrays: values (kept for propagation, 0 elsewhere), raw_values (the estimator's
        # value at every edge pixel, dropped ones included), mask, depth_edges (all False for
        # methods without depth edges).
        depth = sparse.depth_edges if sparse.depth_edges is not None else np.zeros(sparse.shape, bool)
        np.savez_compressed(args.sparse_out, values=sparse.values.astype(np.float32),
                            raw_values=sparse.all_values().astype(np.float32), mask=sparse.mask,
                            depth_edges=depth)
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.imsave(args.png, dense, cmap="viridis")
    print(f"wrote {args.out}: {dense.shape[0]}x{dense.shape[1]} map, {args.units} in px, "
          f"range {dense.min():.3f}..{dense.max():.3f}, {int(sparse.mask.sum())} sparse estimates")
    return 0


def _fetch(args) -> int:
    from .data import fetch, registry
    names = args.paths or [p for p in registry() if not p.startswith("weights/")]
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

    from .models.train import TrainConfig, train
    cfg = TrainConfig(kind=args.kind, minutes=args.minutes, seed=args.seed, batch=args.batch, lr=args.lr,
                      chunk=args.chunk, validation=args.validation, bnet=args.bnet, threads=args.threads)
    report = train(args.out, cfg, resume=not args.fresh, progress=not args.quiet)
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .pipeline import ESTIMATORS, PROPAGATORS
    p = argparse.ArgumentParser(prog="defocus-lab", description="Single-image defocus blur estimation.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("estimate", help="estimate a dense defocus map of one image")
    e.add_argument("image")
    e.add_argument("--out", required=True, help="dense map, float32 (H, W) .npy")
    e.add_argument("--method", default="zhuo-sim", choices=sorted(ESTIMATORS))
    e.add_argument("--propagation", default=None, choices=sorted(PROPAGATORS),
                   help="default: the method's own (matting; domain-transform for karaali2022)")
    e.add_argument("--units", default="sigma", choices=["sigma", "disk"],
                   help="Gaussian sigma (px) or disk radius (px); converted through the RTF table "
                        "when the method's unit differs (karaali2022 gives disk radius)")
    e.add_argument("--edges", help="precomputed binary edge map instead of Canny")
    e.add_argument("--sparse-out", help="sparse estimate .npz of (H, W) arrays: values, raw_values, mask, "
                                        "depth_edges")
    e.add_argument("--png", help="a colour preview of the dense map")
    e.set_defaults(func=_estimate)
    f = sub.add_parser("fetch", help="download external data files (checked by sha256)")
    f.add_argument("paths", nargs="*", help="paths as in `defocus-lab data` (default: all but weights)")
    f.set_defaults(func=_fetch)
    d = sub.add_parser("data", help="list the external data files and whether they are here")
    d.set_defaults(func=_data)
    w = sub.add_parser("warmup", help="compile the numba kernels into the on-disk cache (done by make install)")
    w.set_defaults(func=_warmup)
    t = sub.add_parser("train", help="train B-NET or E-NET (Karaali 2022) on synthetic data, on a time budget")
    t.add_argument("kind", choices=["bnet", "enet"])
    t.add_argument("--out", required=True, help="weights .npz (a checkpoint OUT.ckpt.pt is kept beside it)")
    t.add_argument("--minutes", type=float, default=30.0, help="training time of this call (default 30)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--chunk", type=int, default=2048, help="samples generated at a time")
    t.add_argument("--validation", type=int, default=2048, help="held-out samples")
    t.add_argument("--bnet", help="E-NET: 'authors' or a B-NET .npz whose f1 branches are copied and frozen")
    t.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    t.add_argument("--report", help="write the training report as JSON")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, KeyError, FileNotFoundError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"defocus-lab: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
