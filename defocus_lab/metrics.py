"""Scores of a blur map against ground truth."""
from __future__ import annotations

import numpy as np


def _pair(est, gt):
    est = np.asarray(est, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if est.shape != gt.shape:
        raise ValueError(f"estimate {est.shape} and ground truth {gt.shape} must share a shape")
    return est, gt


def mae(est, gt) -> float:
    """Mean absolute error."""
    est, gt = _pair(est, gt)
    return float(np.mean(np.abs(est - gt)))


def normalise(m) -> np.ndarray:
    """Rescale a map linearly to [0, 1] (min -> 0, max -> 1; a constant map -> 0)."""
    m = np.asarray(m, dtype=np.float64)
    lo, hi = float(m.min()), float(m.max())
    return np.zeros_like(m) if hi == lo else (m - lo) / (hi - lo)


def relative_mae(est, gt) -> float:
    """MAE after rescaling both maps to [0, 1] (the "relative" column of Karaali 2022, Table I)."""
    est, gt = _pair(est, gt)
    return mae(normalise(est), normalise(gt))


def rtf_scores(est_disk, gt_disk, *, drop_right: int = 20) -> dict:
    """Karaali's RTF protocol: raw and relative MAE in disk-radius units, with the rightmost
    ``drop_right`` columns of both maps left out (as in Karaali & Jung's 2018 demo)."""
    est, gt = _pair(est_disk, gt_disk)
    if drop_right:
        est, gt = est[:, :-drop_right], gt[:, :-drop_right]
    return {"mae": mae(est, gt), "relative_mae": relative_mae(est, gt)}


def best_threshold_accuracy(blur_map, out_of_focus, *, n: int = 101) -> tuple[float, float]:
    """Best accuracy of ``blur_map > tau`` against a defocus mask over tau = a vmax + (1 - a) vmin,
    a in linspace(0, 1, n) (the CUHK protocol of Karaali 2022 Fig. 9). Returns (accuracy, a)."""
    m, _ = _pair(blur_map, np.zeros(np.shape(blur_map)))
    gt = np.asarray(out_of_focus, dtype=bool)
    if gt.shape != m.shape:
        raise ValueError(f"mask {gt.shape} and map {m.shape} must share a shape")
    lo, hi = float(m.min()), float(m.max())
    best, best_a = -1.0, 0.0
    for a in np.linspace(0.0, 1.0, n):
        acc = float(np.mean((m > a * hi + (1 - a) * lo) == gt))
        if acc > best:
            best, best_a = acc, float(a)
    return best, best_a
