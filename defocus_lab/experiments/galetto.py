"""Figures and tables of Galetto & Deng (2022), computed by the real method.

- :func:`fig3_levels`: one sharp patch in the 20 blur classes (Fig. 3), made the way the
  training set is (the photo blurred before the patch is cut);
- :func:`training_report`: the report of the shipped classifier's training run (Fig. 4's curves
  in ``history``, Tables 2-3's scores in ``test``);
- :func:`timing_model`: Eq. 7, t = T N / s^2, for a per-patch time T.
"""
from __future__ import annotations

import json

import numpy as np

PAPER_TEST_ACCURACY = 0.9704  # MobileNetV2 after 100 epochs on DIV2K patches (Sec. 3.1)
PAPER_T_PER_PATCH = 9.9e-3  # s, MATLAB on an M1 Pro (Sec. 3.2)


def fig3_levels(image=None, seed: int = 0) -> np.ndarray:
    """(20, 32, 32) float32 in [0, 1]: the sharpest patch of ``image`` (default: scikit-image's
    astronaut) in blur classes 0..19."""
    from ..synth.patches import blurred_crops, sharp_positions, sharpness, to_grey
    if image is None:
        from skimage import data as skdata
        image = skdata.astronaut()
    grey = to_grey(image)
    pos = sharp_positions(grey)
    if len(pos) == 0:
        raise ValueError("the image has no sharp 32x32 patch (variance of the Laplacian > 1000): give a sharper "
                         "photo")
    s = sharpness(grey)
    best = pos[np.argmax(s[pos[:, 0] // 32, pos[:, 1] // 32])]
    return blurred_crops(grey, best[None])[0]


def training_report(path=None) -> dict | None:
    """The JSON report of ``defocus-lab train galetto`` beside the shipped weights (None when
    the file is not there)."""
    from ..models.mobilenet import SELF_TRAINED
    p = SELF_TRAINED.with_name("report.json") if path is None else path
    try:
        with open(p) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def timing_model(shape, strides, T: float) -> dict:
    """Eq. 7: seconds t = T N / s^2 for an image of ``shape`` (N pixels) at each stride s."""
    n = float(shape[0]) * float(shape[1])
    return {int(s): T * n / float(s) ** 2 for s in strides}
