"""Training B-NET and E-NET on synthetic data (Karaali, Harte & Jung 2022, Sec. IV), on a CPU budget.

The paper trained on ~5M blur patches and ~4.5M edge patches for 75 and 30 epochs on a GPU.
Here the same recipe runs for a stated number of minutes:

- data: :func:`defocus_lab.synth.karaali.blur_patches` (sharp photos blurred by the 23 disk
  levels) and :func:`~defocus_lab.synth.karaali.edge_patches` (foreground/background composites
  for depth edges, uniform and step-wise blur for pattern edges), generated in chunks from
  ``numpy.random.default_rng([seed, chunk])``: the run is reproducible and a resumed run sees the
  chunks it has not seen yet;
- training images: DEFOCUS_LAB_DATA/sharp/coco and imagenet (as the paper's ILSVRC and
  MS-COCO), validation on sharp/kodak24 (held out: the paper's 80/20 split is by patch, ours by
  image; the loader reads JPEG and PNG, so McMaster's TIFF crops, though named in the data
  string, are not read: the committed reports were made so); without the data, scikit-image's in-focus photos, three for training
  and one for validation (a smoke run, not a useful network);
- optimisation: Adam, learning rate 1e-3 divided by 10 at 60 % and again at 85 % of the budget
  (the paper divides every 10 / 5 epochs), softmax cross-entropy, batch 64 (paper 256: CPU);
- E-NET starts from a trained B-NET's f1 branches (41, 27, 15), frozen, as in the paper;
- checkpoints (model, optimiser, step, chunk) after every chunk, read back with
  ``torch.load(weights_only=True)`` (tensors only); the final weights go to an ``.npz``
  (:meth:`~defocus_lab.models.karaali.MultiScaleNet.save_npz`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .karaali import MultiScaleNet, load_network


@dataclass
class TrainConfig:
    kind: str = "bnet"
    minutes: float = 30.0
    seed: int = 0
    batch: int = 64
    lr: float = 1e-3
    chunk: int = 2048      # samples generated at a time
    images_per_chunk: int = 16  # photos a chunk's samples come from
    validation: int = 2048  # held-out samples
    bnet: str | None = None  # E-NET: the B-NET whose f1 branches are copied and frozen
    threads: int | None = None
    max_steps: int | None = None  # stop this call after so many optimiser steps (work, not time)
    device: str = "auto"  # where the network trains (models.device.resolve_device: CUDA when present)


def _pools():
    from ..data import bundled_sharp_images, sharp_image_paths
    from ..synth.karaali import SharpPool
    train, val = sharp_image_paths(("coco", "imagenet")), sharp_image_paths(("kodak24", "mcmaster"))
    if train and val:
        return SharpPool(train), SharpPool(val), "DEFOCUS_LAB_DATA/sharp (coco+imagenet | kodak24+mcmaster)"
    imgs = bundled_sharp_images()
    return SharpPool(imgs[:3]), SharpPool(imgs[3:]), "scikit-image photos (smoke run: no DEFOCUS_LAB_DATA/sharp)"


def make_batch(kind, pool, n, rng, disparity=None):
    from ..synth.karaali import blur_patches, edge_patches
    if kind == "bnet":
        return blur_patches(pool, n, rng)
    return edge_patches(pool, n, rng, disparity=disparity)


def validation_set(cfg: TrainConfig, val_pool, disparity=None):
    """The held-out samples of a run: a function of the seed only (4 x images_per_chunk photos)."""
    rng = np.random.default_rng([cfg.seed, 10**6])
    return make_batch(cfg.kind, val_pool.draw(4 * cfg.images_per_chunk, rng), cfg.validation, rng, disparity)


def _schedule(frac: float, lr: float) -> float:
    return lr * (1.0 if frac < 0.6 else 0.1 if frac < 0.85 else 0.01)


def evaluate(net: MultiScaleNet, x: np.ndarray, y: np.ndarray, batch: int = 512) -> dict:
    """Accuracy (and for B-NET the mean absolute error in px and the share within one class),
    on the device that holds ``net``."""
    net.eval()
    dev = next(net.parameters()).device
    preds = []
    with torch.no_grad():
        for a in range(0, len(x), batch):
            preds.append(net(torch.from_numpy(x[a:a + batch]).to(dev)).argmax(1).cpu().numpy())
    p = np.concatenate(preds)
    out = {"accuracy": float(np.mean(p == y))}
    if net.kind == "bnet":
        out["within_one_class"] = float(np.mean(np.abs(p - y) <= 1))
        out["mae_px"] = float(np.mean(np.abs(p - y)) * 0.25)
    return out


def start_run(out, cfg):
    """What every training run does first: check ``cfg.max_steps`` and ``cfg.device``, make the
    folder of ``out``, set torch's threads and seed. Returns (out as a Path, the checkpoint's
    path beside it, the torch device)."""
    from .device import resolve_device
    device = resolve_device(cfg.device)
    if cfg.max_steps is not None and (isinstance(cfg.max_steps, bool) or int(cfg.max_steps) < 1):
        raise ValueError(f"max_steps must be a positive number of steps or None; got {cfg.max_steps!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    return out, out.with_name(out.name + ".ckpt.pt"), device


def train(out, config: TrainConfig | None = None, *, resume: bool = True, progress: bool = True,
          log=print) -> dict:
    """Train ``config.kind`` for ``config.minutes`` and save the weights to ``out`` (.npz).

    Returns a report: steps, samples seen, seconds, final validation scores, the data used.
    A checkpoint ``out`` + ``.ckpt.pt`` is written after each chunk and resumed from when present
    (``resume=False`` starts over); the minutes count per call. ``config.max_steps`` bounds the
    call by work instead: it stops after that many steps (or the minutes, whichever comes
    first), and the learning-rate schedule then follows the steps, so that the run is the same
    on a fast and on a loaded machine (what the tests use).
    """
    cfg = config or TrainConfig()
    if cfg.kind not in ("bnet", "enet"):
        raise ValueError(f"kind must be 'bnet' or 'enet'; got {cfg.kind!r}")
    if cfg.minutes <= 0 or cfg.batch < 1 or cfg.chunk < cfg.batch:
        raise ValueError("minutes must be > 0, batch >= 1 and chunk >= batch")
    out, ckpt, device = start_run(out, cfg)
    net = MultiScaleNet(cfg.kind)
    if cfg.kind == "enet":
        if cfg.bnet is None:
            raise ValueError("training E-NET needs a B-NET for its f1 branches: pass bnet='authors' or "
                             "the .npz of a trained B-NET")
        b = load_network(cfg.bnet, "bnet")
        for name in ("41", "27", "15"):
            net.branches[name].load_state_dict(b.branches[name].state_dict())
            for p in net.branches[name].parameters():
                p.requires_grad_(False)
    net = net.to(device, memory_format=torch.channels_last)  # oneDNN's fast layout on CPU (556 vs 450 samples/s)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    step = chunk = 0
    spent = 0.0
    if resume and ckpt.is_file():
        state = torch.load(ckpt, weights_only=True, map_location=device)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, chunk, spent = int(state["step"]), int(state["chunk"]), float(state["spent"])
        log(f"resumed {cfg.kind} at step {step}, chunk {chunk}")
    train_pool, val_pool, source = _pools()
    disparity = None
    if cfg.kind == "enet":
        from ..data import load_stereo_motorcycle
        disparity = load_stereo_motorcycle()[2]
    xv, yv = validation_set(cfg, val_pool, disparity)
    budget = cfg.minutes * 60.0
    total = spent + budget  # the schedule runs over all calls together
    last_step = None if cfg.max_steps is None else step + int(cfg.max_steps)

    def done():
        return time.perf_counter() - t0 >= budget or (last_step is not None and step >= last_step)

    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=int(budget), desc=f"train {cfg.kind}", unit="s")
    losses = []

    def generate(c):
        rng = np.random.default_rng([cfg.seed, c])
        return make_batch(cfg.kind, train_pool.draw(cfg.images_per_chunk, rng), cfg.chunk, rng, disparity) + (rng,)

    # the next chunk is generated in a thread while this one trains (each chunk depends only on
    # (seed, chunk index): the data do not depend on the timing)
    from concurrent.futures import ThreadPoolExecutor
    pool = ThreadPoolExecutor(max_workers=1)
    pending = pool.submit(generate, chunk)
    while not done():
        x, y, rng = pending.result()
        pending = pool.submit(generate, chunk + 1)
        net.train()
        order = rng.permutation(len(y))
        for a in range(0, len(order) - cfg.batch + 1, cfg.batch):
            if last_step is None:
                frac = (spent + time.perf_counter() - t0) / total
            else:
                frac = step / last_step
            for g in opt.param_groups:
                g["lr"] = _schedule(frac, cfg.lr)
            sel = order[a:a + cfg.batch]
            xb = torch.from_numpy(x[sel]).to(device).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(xb), torch.from_numpy(y[sel]).to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
            if done():
                break
        chunk += 1
        elapsed = time.perf_counter() - t0
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": step, "chunk": chunk,
                    "spent": spent + elapsed}, ckpt)
        if bar is not None:
            bar.update(min(int(elapsed), int(budget)) - bar.n)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", step=step)
    pool.shutdown(wait=False, cancel_futures=True)
    if bar is not None:
        bar.close()
    spent += time.perf_counter() - t0
    net.eval()
    net.save_npz(out)
    report = {"kind": cfg.kind, "steps": step, "samples": step * cfg.batch, "chunks": chunk,
              "minutes_total": spent / 60.0, "final_loss": float(np.mean(losses[-50:])) if losses else None,
              "validation": evaluate(net, xv, yv), "data": source, "config": asdict(cfg), "out": str(out)}
    log(f"{cfg.kind}: {step} steps ({step * cfg.batch} samples) in {spent / 60:.1f} min; validation "
        + ", ".join(f"{k} {v:.3f}" for k, v in report["validation"].items()))
    return report
