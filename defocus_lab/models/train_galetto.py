"""Training Galetto & Deng's patch classifier (2022, Sec. 3.1) on a CPU budget.

The paper trained MobileNetV2 on > 3.9e5 DIV2K patches for 100 epochs (Adam, learning rate 1e-3,
batch 128, sparse categorical cross-entropy) and reached 97.04 % on its test patches. The
authors' Keras model cannot be reached, so the lab trains its own, honestly, on its own patches
(:func:`defocus_lab.synth.patches.patch_dataset`: the sharp photos of ``DEFOCUS_LAB_DATA``, split
by photo) for a stated number of minutes:

- the paper's optimiser and batch: Adam (1e-3, betas 0.9 / 0.999, eps 1e-8), batch 128,
  cross-entropy; then, not in the paper, the learning rate divided by 10 for the last 15 % of
  the budget (a short run ends noisy otherwise);
- ``loss="ordinal"`` (not in the paper): cross-entropy against a soft target, a Gaussian of
  ``ordinal_width`` classes around the true class, normalised: the classes are ordered blur
  levels, so a prediction one level off is penalised less than one ten levels off;
- ``noise`` (not in the paper): Gaussian noise of a standard deviation drawn per patch in
  [0, ``noise``] (0..1 scale) added to each training patch after its blur, before the 8-bit
  rounding: a camera adds noise after the optics blur, and a network trained on noiseless blurred
  patches reads a real blurred region's noise as detail (a sharp class);
- ``bits``: the patches rounded to 8 bits as a photo is (default) or kept in float (16);
- ``protocol``: the photo split (default) or the paper's patch split
  (:func:`defocus_lab.synth.patches.patch_dataset`);
- ``init``: the weights of an earlier run to start from (a fresh optimiser and schedule), so
  that a recipe change can build on hours already spent; the report names them;
- not in the paper either: each batch is flipped and transposed at random (the 8 symmetries of
  the square). A Gaussian blur has no direction, so the class does not change, and a short
  budget sees 8 times more distinct patches;
- epochs in a seeded order (``numpy.random.default_rng([seed, epoch])``), a checkpoint
  (model, optimiser, epoch, position, history) every ``checkpoint_steps`` steps, read back with
  ``torch.load(weights_only=True)``; a resumed run continues where the last one stopped;
- after each epoch (and at the end) the validation split's loss and accuracy go to the history
  (the paper's Fig. 4); the report adds the test split's scores
  (:func:`defocus_lab.metrics.classification_scores`: top-1, within one class, per-class
  precision / recall / F1, confusion matrix).

The weights are saved as an ``.npz`` (:meth:`~defocus_lab.models.mobilenet.MobileNetV2.save_npz`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .mobilenet import ARCHITECTURES
from .train import start_run


@dataclass
class GalettoConfig:
    minutes: float = 60.0
    seed: int = 0
    batch: int = 128
    lr: float = 1e-3
    width: float = 1.0  # MobileNetV2's width multiplier
    per_image: int = 32  # sharp patches per photo at most (each in all 20 classes)
    threads: int | None = None
    max_steps: int | None = None  # stop this call after so many optimiser steps (work, not time)
    checkpoint_steps: int = 200
    augment: bool = True
    arch: str = "mobilenetv2"  # or "plain4": the small alternative of the lab's Table 2
    device: str = "auto"  # where the network trains (models.device.resolve_device: CUDA when present)
    loss: str = "cross-entropy"  # or "ordinal" (module docstring)
    ordinal_width: float = 1.0  # the ordinal target's standard deviation (classes)
    noise: float = 0.0  # the largest noise standard deviation added after the blur (0..1 scale)
    bits: int = 8  # 8: patches rounded as an 8-bit photo; 16: float
    protocol: str = "photo"  # "photo" or "patch" (synth.patches.patch_dataset)
    init: str | None = None  # start from these weights (.npz of save_npz) instead of a random initialisation


LOSSES = ("cross-entropy", "ordinal")


def soft_targets(y: torch.Tensor, classes: int, width: float) -> torch.Tensor:
    """(N, classes) rows summing to 1: a Gaussian of ``width`` classes around each label of ``y``
    (the ordinal loss's target)."""
    k = torch.arange(classes, dtype=torch.float32, device=y.device)
    w = torch.exp(-0.5 * ((k[None] - y[:, None].float()) / width) ** 2)
    return w / w.sum(1, keepdim=True)


def _symmetries(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Each patch of (N, 1, H, W) flipped / transposed by one of the square's 8 symmetries."""
    k = rng.integers(0, 8, len(x))
    out = x.clone()
    for s in range(1, 8):
        sel = torch.from_numpy(np.flatnonzero(k == s))
        if len(sel) == 0:
            continue
        p = out[sel]
        if s & 1:
            p = p.flip(-1)
        if s & 2:
            p = p.flip(-2)
        if s & 4:
            p = p.transpose(-1, -2)
        out[sel] = p
    return out


def predict(net, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """(N, classes) logits of (N, 1, 32, 32) float32 patches, in eval mode, by batches, on the
    device that holds ``net``."""
    net.eval()
    dev = next(net.parameters()).device
    out = []
    with torch.no_grad():
        for a in range(0, len(x), batch):
            out.append(net(torch.from_numpy(x[a:a + batch]).to(dev)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, net.config["classes"]), np.float32)


def _scores(net, data, batch=1024, bits=8) -> dict:
    logits = predict(net, data.as_float(bits=bits), batch)
    y = data.y
    loss = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y))) if len(y) else float("nan")
    return {"loss": loss, "accuracy": float(np.mean(logits.argmax(1) == y)) if len(y) else float("nan"),
            "logits": logits}


def train_galetto(out, config: GalettoConfig | None = None, *, resume: bool = True, progress: bool = True,
                  log=print, datasets=None) -> dict:
    """Train the patch classifier for ``config.minutes`` (or ``config.max_steps``) and save the
    weights to ``out`` (.npz); returns the report (module docstring). ``datasets``: a dict of
    :class:`~defocus_lab.synth.patches.PatchSet` for "train", "validation", "test" (default:
    :func:`~defocus_lab.synth.patches.patch_dataset`'s)."""
    from ..metrics import classification_scores
    from ..synth.patches import CLASSES, SPLITS, patch_dataset

    cfg = config or GalettoConfig()
    if cfg.minutes <= 0 or cfg.batch < 1 or cfg.checkpoint_steps < 1:
        raise ValueError("minutes must be > 0, batch >= 1 and checkpoint_steps >= 1")
    if cfg.arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}; got {cfg.arch!r}")
    if cfg.loss not in LOSSES or cfg.ordinal_width <= 0:
        raise ValueError(f"loss must be one of {LOSSES} (ordinal_width > 0); got {cfg.loss!r}, {cfg.ordinal_width!r}")
    if cfg.bits not in (8, 16) or not 0 <= cfg.noise < 0.5:
        raise ValueError(f"bits must be 8 or 16 and noise in [0, 0.5); got {cfg.bits!r}, {cfg.noise!r}")
    out, ckpt, device = start_run(out, cfg)  # checks max_steps and device before any data is made
    if datasets is None:
        datasets = {s: patch_dataset(s, per_image=cfg.per_image, seed=cfg.seed, protocol=cfg.protocol,
                                     progress=progress) for s in SPLITS}
    train, val, test = (datasets[s] for s in SPLITS)
    if len(train) < cfg.batch:
        raise ValueError(f"the training split has {len(train)} patches, fewer than one batch ({cfg.batch}): "
                         "point DEFOCUS_LAB_DATA at the shared data (sharp/ photos) or lower batch")
    net = ARCHITECTURES[cfg.arch](classes=CLASSES, width=cfg.width).to(device, memory_format=torch.channels_last)
    if cfg.init is not None and not (resume and ckpt.is_file()):
        from .mobilenet import load_mobilenet
        start = load_mobilenet(cfg.init)
        if start.config != net.config or cfg.arch != "mobilenetv2":
            raise ValueError(f"init weights {cfg.init} are a {start.config} MobileNetV2; this run trains "
                             f"{cfg.arch} {net.config}: match --width (and --arch mobilenetv2)")
        net.load_state_dict(start.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
    step = epoch = pos = 0
    spent = 0.0
    history = []
    if resume and ckpt.is_file():
        state = torch.load(ckpt, weights_only=True, map_location=device)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, epoch, pos, spent = int(state["step"]), int(state["epoch"]), int(state["pos"]), float(state["spent"])
        history = [dict(zip(("epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy"), row))
                   for row in state["history"].tolist()]
        log(f"resumed galetto2022 at epoch {epoch}, step {step}")
    budget = cfg.minutes * 60.0
    total = spent + budget
    last_step = None if cfg.max_steps is None else step + int(cfg.max_steps)
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=int(budget), desc="train galetto2022", unit="s")
    run_loss, run_hits, run_n = 0.0, 0, 0

    def done():
        return time.perf_counter() - t0 >= budget or (last_step is not None and step >= last_step)

    def save():
        hist = np.array([[h[k] for k in ("epoch", "step", "train_loss", "train_accuracy", "val_loss",
                                         "val_accuracy")] for h in history], np.float64).reshape(-1, 6)
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": step, "epoch": epoch, "pos": pos,
                    "spent": spent + time.perf_counter() - t0, "history": torch.from_numpy(hist)}, ckpt)

    def close_epoch(fraction=0.0):
        v = _scores(net, val, bits=cfg.bits)
        history.append({"epoch": epoch + fraction, "step": step, "train_loss": run_loss / max(run_n, 1),
                        "train_accuracy": run_hits / max(run_n, 1), "val_loss": v["loss"],
                        "val_accuracy": v["accuracy"]})
        log(f"epoch {epoch}: train loss {history[-1]['train_loss']:.3f} accuracy {history[-1]['train_accuracy']:.3f}; "
            f"validation loss {v['loss']:.3f} accuracy {v['accuracy']:.3f}")

    while not done():
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(train))
        aug = np.random.default_rng([cfg.seed, epoch, 1])
        aug.integers(0, 8, pos)  # the augmentation draws of the batches already done (resume)
        noisy = np.random.default_rng([cfg.seed, epoch, 2, pos])  # the noise of the batches from pos on
        net.train()
        while pos + cfg.batch <= len(order) and not done():
            frac = step / last_step if last_step is not None else (spent + time.perf_counter() - t0) / total
            for g in opt.param_groups:
                g["lr"] = cfg.lr if frac < 0.85 else cfg.lr * 0.1
            sel = np.sort(order[pos:pos + cfg.batch])
            xb = torch.from_numpy(train.as_float(sel, bits=cfg.bits, noise=cfg.noise, rng=noisy))
            if cfg.augment:
                xb = _symmetries(xb, aug)
            xb, yb = xb.to(device), torch.from_numpy(train.y[sel]).to(device)
            logits = net(xb.contiguous(memory_format=torch.channels_last))
            if cfg.loss == "ordinal":
                loss = F.cross_entropy(logits, soft_targets(yb, CLASSES, cfg.ordinal_width))
            else:
                loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run_loss += float(loss.detach()) * len(sel)
            run_hits += int((logits.argmax(1) == yb).sum())
            run_n += len(sel)
            step += 1
            pos += cfg.batch
            if step % cfg.checkpoint_steps == 0:
                save()
                if bar is not None:
                    bar.update(min(int(time.perf_counter() - t0), int(budget)) - bar.n)
                    bar.set_postfix(epoch=epoch, loss=f"{run_loss / max(run_n, 1):.3f}")
        if pos + cfg.batch > len(order):  # the epoch is complete
            close_epoch()
            run_loss, run_hits, run_n = 0.0, 0, 0
            epoch, pos = epoch + 1, 0
            net.train()
    if run_n:  # a partial epoch at the end (its epoch number has the fraction done)
        close_epoch(pos / len(train))
    save()
    if bar is not None:
        bar.close()
    spent += time.perf_counter() - t0
    net.eval()
    net.save_npz(out)
    t = _scores(net, test)  # 8-bit test patches whatever the recipe: what the classifier meets in photos
    report = {"method": "galetto2022", "arch": cfg.arch,
              "parameters": int(sum(p.numel() for p in net.parameters())), "steps": step, "epochs": step * cfg.batch / len(train),
              "samples": step * cfg.batch, "minutes_total": spent / 60.0,
              "patches": {s: len(d) for s, d in zip(SPLITS, (train, val, test))},
              "photos": {s: int(len(np.unique(d.source))) for s, d in zip(SPLITS, (train, val, test))},
              "history": history, "test": classification_scores(t["logits"].argmax(1), test.y, CLASSES),
              "test_loss": t["loss"], "config": asdict(cfg), "out": str(out)}
    log(f"galetto2022: {step} steps ({report['epochs']:.1f} epochs) in {spent / 60:.1f} min; test top-1 "
        f"{report['test']['accuracy']:.3f}, within one class {report['test']['within_one']:.3f}")
    return report
