"""MobileNetV2 (Sandler et al. 2018) for Galetto & Deng's 32x32 grey patches, in torch.

Galetto & Deng (2022, Sec. 3.1, Table 2) classify a 32x32 grey patch into 20 blur classes with
Keras' MobileNetV2. The network is written here from the paper of Sandler et al.: torchvision's
model would do, but PyPI's torchvision wheels do not import beside the CPU build of torch this
project pins, so the lab carries its own (about 90 lines).

- Stem: 3x3 convolution, stride 2, 32 x ``width`` channels, batch norm, ReLU6.
- Inverted residual blocks (t expansion, c channels, n repeats, s stride of the first):
  (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
  (6, 320, 1, 1). A block expands by a 1x1 convolution (t x the input channels; none when t =
  1), filters each channel by a 3x3 depthwise convolution (the block's stride), and projects
  back by a 1x1 convolution with *no* non-linearity after it (the linear bottleneck); when the
  stride is 1 and the channels match, the input is added (the inverted residual).
- Head: 1x1 convolution to 1280 channels (1280 x ``width`` above width 1), global average,
  dropout 0.2, a dense layer to the classes.

Channel counts are ``width`` times the paper's, rounded to a multiple of 8 (never down by more
than 10 %), as in the reference implementation. At 32x32 the five stride-2 stages leave a 1x1
map, exactly as Keras' MobileNetV2 does on a 32x32 input. Padding is symmetric (PyTorch's),
where Keras pads stride-2 convolutions on the bottom/right only: the same network up to a half
pixel of alignment. With width 1 and 20 classes: 2.25 million parameters, 6.0 million
multiply-adds per patch.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

# The classifier this project trained itself (``defocus-lab train galetto``; command and report in
# data/README.md); found in a source checkout (``pip install -e .``, what ``make install`` does).
SELF_TRAINED = Path(__file__).resolve().parents[2] / "data" / "galetto2022" / "mobilenetv2_w05.npz"

# (expansion t, channels c, repeats n, first stride s): Sandler et al. 2018, Table 2
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1))
BN_EPS = 1e-3  # Keras' BatchNormalization epsilon in MobileNetV2


def make_divisible(v: float, divisor: int = 8) -> int:
    """``v`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``), not below
    90 % of ``v`` (the reference implementation's channel rounding)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


def _conv_bn(cin, cout, kernel, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=BN_EPS)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    """Expand (1x1, ReLU6) - depthwise 3x3 (stride, ReLU6) - project (1x1, linear) [+ input]."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2; got {stride}")
        hidden = int(round(cin * expand))
        layers = [] if expand == 1 else _conv_bn(cin, hidden, 1)
        layers += _conv_bn(hidden, hidden, 3, stride, groups=hidden)
        layers += _conv_bn(hidden, cout, 1, act=False)
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


def _config(classes, width, in_channels, dropout) -> dict:
    """The constructor's arguments of a patch network, checked (what ``save_npz`` stores)."""
    if width <= 0:
        raise ValueError(f"width must be > 0; got {width}")
    return {"classes": int(classes), "width": float(width), "in_channels": int(in_channels),
            "dropout": float(dropout)}


class MobileNetV2(nn.Module):
    """MobileNetV2 (module docstring) for (N, ``in_channels``, H, W) input in [0, 1]."""

    def __init__(self, classes: int = 20, width: float = 1.0, in_channels: int = 1, dropout: float = 0.2):
        super().__init__()
        self.config = _config(classes, width, in_channels, dropout)
        c = make_divisible(32 * width)
        layers = _conv_bn(in_channels, c, 3, 2)
        for t, ch, n, s in SETTINGS:
            out = make_divisible(ch * width)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        last = make_divisible(1280 * max(1.0, width))
        layers += _conv_bn(c, last, 1)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, classes))
        for m in self.modules():  # the reference implementation's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))

    def save_npz(self, path, dtype=np.float32) -> None:
        """The weights and batch-norm statistics as an ``.npz`` of arrays (no pickle), with the
        constructor's arguments; ``dtype=np.float16`` halves the file."""
        arrays = {k: v.detach().cpu().numpy() for k, v in self.state_dict().items()}
        arrays = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in arrays.items()}
        np.savez_compressed(path, __config__=np.array(list(self.config.values()), np.float64), **arrays)


class PlainCNN(nn.Module):
    """The small alternative of the lab's Table 2: four plain 3x3 convolutions (each with batch
    norm and ReLU, the first three followed by 2x2 max pooling), ``32 width``, ``64 width``,
    ``128 width``, ``128 width`` channels, global average, dropout, a dense layer. No depthwise
    separation, no residuals: what MobileNetV2's design is measured against. With width 1: 0.24
    million parameters and 12.1 million multiply-adds per 32x32 patch (MobileNetV2 width 0.5:
    0.71 million and 1.9 million; counted by forward hooks on the convolutions and the dense
    layer)."""

    def __init__(self, classes: int = 20, width: float = 1.0, in_channels: int = 1, dropout: float = 0.2):
        super().__init__()
        self.config = _config(classes, width, in_channels, dropout)
        chans = [in_channels] + [make_divisible(c * width) for c in (32, 64, 128, 128)]
        layers = []
        for i in range(4):
            layers += _conv_bn(chans[i], chans[i + 1], 3, act=False) + [nn.ReLU(inplace=True)]
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(chans[-1], classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))

    save_npz = MobileNetV2.save_npz


ARCHITECTURES = {"mobilenetv2": MobileNetV2, "plain4": PlainCNN}


def fold_batchnorm(net: MobileNetV2) -> MobileNetV2:
    """An inference copy of ``net`` with each batch norm folded into the convolution before it
    (weights scaled by gamma / sqrt(var + eps), a bias added): the same function in eval mode,
    one pass over each feature map fewer. The copy is in eval mode; training it is meaningless."""
    import copy
    out = copy.deepcopy(net).eval()

    def fold(seq):
        mods = list(seq)
        new, i = [], 0
        while i < len(mods):
            m = mods[i]
            if isinstance(m, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
                bn = mods[i + 1]
                scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
                conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                 groups=m.groups, bias=True)
                conv.weight.data = m.weight.detach() * scale[:, None, None, None]
                conv.bias.data = bn.bias.detach() - bn.running_mean * scale
                new.append(conv)
                i += 2
                continue
            if isinstance(m, InvertedResidual):
                m.block = fold(m.block)
            new.append(m)
            i += 1
        return nn.Sequential(*new)

    out.features = fold(out.features)
    return out.eval()


def load_mobilenet(path) -> MobileNetV2:
    """A :class:`MobileNetV2` from :meth:`MobileNetV2.save_npz`'s file (or ``"self-trained"``: the
    shipped weights), in eval mode, float32, batch norm kept (training, the naive timing loop)."""
    path = SELF_TRAINED if path == "self-trained" else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights at {path}: train them with `defocus-lab train galetto --out {path}`")
    with np.load(path, allow_pickle=False) as z:
        classes, width, in_channels, dropout = z["__config__"].tolist()
        net = MobileNetV2(int(classes), width, int(in_channels), dropout)
        state = {k: torch.from_numpy(np.asarray(z[k]).astype(np.float32) if z[k].dtype.kind == "f" else z[k])
                 for k in z.files if k != "__config__"}
    net.load_state_dict(state)
    return net.eval()


def load_classifier(weights="self-trained") -> MobileNetV2:
    """Galetto & Deng's patch classifier for inference: ``"self-trained"`` (the weights shipped in
    ``data/galetto2022``; the authors' Keras model is not available) or the path of an ``.npz``
    from ``defocus-lab train galetto``; batch norm folded (:func:`fold_batchnorm`), in the
    channels-last memory layout (the fast one for these convolutions on a CPU), cached."""
    path = SELF_TRAINED if weights == "self-trained" else Path(weights)
    return _load_folded(str(path.resolve()))


@lru_cache(maxsize=4)
def _load_folded(path: str) -> MobileNetV2:
    return fold_batchnorm(load_mobilenet(path)).to(memory_format=torch.channels_last)
