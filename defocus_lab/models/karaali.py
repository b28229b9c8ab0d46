"""B-NET and E-NET of Karaali, Harte & Jung (2022) in torch, with the authors' trained weights.

Both networks read a 41x41 RGB patch centred on an edge pixel (values in [0, 1]) through
parallel branches: the whole patch, its 27x27 and 15x15 centre crops (f1-NET, shared by the two
networks), and for E-NET a second branch over the whole patch (f2-NET). Every branch ends on a
7x7x64 grid; the grids are concatenated and go through a head of 3x3, 3x3, 3x3 and 1x1
convolutions to 1x1x64, then three dense layers (300, 150, classes). Convolutions are 3x3
(unless 1x1), without bias, 'valid', each followed by ReLU; pools are 3x3 max pools of stride 3.

B-NET has 23 classes, blur level ``0.5 + 0.25 k`` (disk radius in px, the RTF scale); E-NET two,
class 1 = depth edge.

Two ways to run a network:

- ``net(patches)``: a batch of (N, 3, 41, 41) patches, the paper's formulation;
- :func:`edge_logits`: the logits at many edge pixels of one image at once. The convolutions
  before the concatenation are evaluated densely over the (tiled) image and shared by every
  patch that overlaps (a pooled map becomes a stride-1 max pool followed by convolutions dilated
  by 3); the head is evaluated per edge pixel on the 5x5 grid it needs. The result equals the
  per-patch evaluation (tests check it to float32 rounding) at a fraction of the cost: at
  360x360 with 15k edges about 15x fewer multiply-adds.

The weight files of the authors (one ``.mat`` per tensor, TensorFlow layout) are read with
:func:`load_karaali2022`; self-trained weights are saved and read as ``.npz`` (no pickle).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..conventions import KARAALI_BLUR_LEVELS, KARAALI_PAD, KARAALI_PATCH
from .device import on_device, resolve_device

PATCH = KARAALI_PATCH
PAD = KARAALI_PAD
BLUR_LEVELS = KARAALI_BLUR_LEVELS  # disk radius (px) of B-NET's classes
DEPTH_EDGE = 1  # E-NET's class index of depth edges

# name -> (first row/column of the crop inside the 41x41 patch, crop size, index of the conv
# followed by the pool, None: no pool). The crops are rows/columns 8..34 and 14..28.
BRANCHES = {
    "41": (0, 41, 0),
    "f2": (0, 41, 0),
    "27": (8, 27, 2),
    "15": (14, 15, None),
}
# Branch order in the concatenation, and the order of the weight files of each network.
CONCAT = {"bnet": ("41", "27", "15"), "enet": ("f2", "41", "27", "15")}
FILE_ORDER = {"bnet": ("41", "27", "15"), "enet": ("41", "f2", "27", "15")}
CLASSES = {"bnet": 23, "enet": 2}
N_FILES = {"bnet": 22, "enet": 26}
WEIGHTS_DIR = {"bnet": "weights/karaali2022/blur", "enet": "weights/karaali2022/edge"}
# Weights this project trained itself (``defocus-lab train``; commands in data/README.md); found
# in a source checkout (``pip install -e .``, what ``make install`` does).
SELF_TRAINED_DIR = Path(__file__).resolve().parents[2] / "data" / "karaali2022"


def self_trained_path(kind: str) -> Path:
    return SELF_TRAINED_DIR / f"{kind}_selftrained.npz"


def _conv(cin: int, cout: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, bias=False)


def _pool_same(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's 3x3 / stride 3 'SAME' max pool: pads at the bottom and right when needed."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % 3, (-w) % 3
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), value=float("-inf"))
    return F.max_pool2d(x, 3, 3)


class Branch(nn.Module):
    """One input branch: four convolutions, with a 3x3 / 3 max pool after conv ``pool_after``.

    The 27x27 branch's last convolution is 1x1 (it follows the pool and keeps the 7x7 grid).
    """

    def __init__(self, name: str):
        super().__init__()
        start, size, pool_after = BRANCHES[name]
        self.name, self.start, self.size, self.pool_after = name, start, size, pool_after
        last = 1 if name == "27" else 3
        self.convs = nn.ModuleList([_conv(3, 64), _conv(64, 64), _conv(64, 64), _conv(64, 64, last)])

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """(N, 3, 41, 41) -> (N, 64, 7, 7)."""
        x = patches[:, :, self.start:self.start + self.size, self.start:self.start + self.size]
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i == self.pool_after:
                x = _pool_same(x)
        return x

    @property
    def step(self) -> int:
        """Spacing, in image pixels, of the branch's 7x7 output grid."""
        return 1 if self.pool_after is None else 3

    def dense(self, x: torch.Tensor) -> torch.Tensor:
        """The branch at every patch position of an image tile.

        ``x`` (1, 3, T + 40, T + 40) is a padded tile; returns D with D[..., y + step k, x + step l]
        = the branch's output (k, l) for the patch whose top-left corner is (y, x) of the tile.
        """
        s = self.start
        x = x[:, :, s:x.shape[2] - (PATCH - s - self.size), s:x.shape[3] - (PATCH - s - self.size)]
        dil = 1
        for i, conv in enumerate(self.convs):
            x = F.conv2d(x, conv.weight, dilation=dil).relu_()
            if i == self.pool_after:
                x = F.max_pool2d(x, 3, 1)
                dil = 3
        return x


class MultiScaleNet(nn.Module):
    """B-NET (``kind="bnet"``) or E-NET (``kind="enet"``); see the module docstring.

    Parameters
    ----------
    kind : {"bnet", "enet"}
        B-NET (23 blur classes, three branches) or E-NET (pattern / depth edge, two branches).
        The weights are initialised by torch (seed it first); :func:`load_network` gives
        trained ones.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = MultiScaleNet("bnet")
    >>> with torch.inference_mode():
    ...     logits = net(torch.rand(2, 3, 41, 41))
    >>> tuple(logits.shape), net.n_classes
    ((2, 23), 23)
    """

    def __init__(self, kind: str = "bnet"):
        super().__init__()
        if kind not in CONCAT:
            raise ValueError(f"kind must be 'bnet' or 'enet'; got {kind!r}")
        self.kind = kind
        self.branches = nn.ModuleDict({name: Branch(name) for name in CONCAT[kind]})
        cin = 64 * len(CONCAT[kind])
        self.head = nn.ModuleList([_conv(cin, 64), _conv(64, 64), _conv(64, 64), _conv(64, 64, 1)])
        n = CLASSES[kind]
        self.fc = nn.ModuleList([nn.Linear(64, 300), nn.Linear(300, 150), nn.Linear(150, n)])

    @property
    def n_classes(self) -> int:
        return CLASSES[self.kind]

    def _check_zero(self, zero) -> tuple[str, ...]:
        zero = tuple(zero or ())
        bad = [z for z in zero if z not in self.branches]
        if bad:
            raise ValueError(f"zero_branches must name branches of {self.kind} {tuple(self.branches)}; "
                             f"got {bad}")
        return zero

    def features(self, patches: torch.Tensor, zero_branches=()) -> torch.Tensor:
        """The concatenated 7x7 grids, (N, 64 * branches, 7, 7); named branches set to 0."""
        zero = self._check_zero(zero_branches)
        outs = []
        for name, br in self.branches.items():
            y = br(patches)
            outs.append(torch.zeros_like(y) if name in zero else y)
        return torch.cat(outs, 1)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        """Head after its first convolution: (N, 64, 5, 5) activations -> (N, classes) logits."""
        for conv in self.head[1:]:
            h = F.relu(conv(h))
        h = h.flatten(1)
        h = F.relu(self.fc[0](h))
        h = F.relu(self.fc[1](h))
        return self.fc[2](h)

    def forward(self, patches: torch.Tensor, zero_branches=()) -> torch.Tensor:
        """(N, 3, 41, 41) patches in [0, 1] -> (N, classes) logits (softmax gives the paper's output)."""
        if patches.ndim != 4 or tuple(patches.shape[1:]) != (3, PATCH, PATCH):
            raise ValueError(f"patches must have shape (N, 3, {PATCH}, {PATCH}); got {tuple(patches.shape)}")
        h = F.relu(self.head[0](self.features(patches, zero_branches)))
        return self.classify(h)

    # ------------------------------------------------------------------ weights
    def load_tensors(self, tensors) -> "MultiScaleNet":
        """Load the authors' tensors, in their file order (TensorFlow HWIO kernels, (in, out) dense
        matrices, (1, out) biases)."""
        tensors = [np.asarray(t, dtype=np.float32) for t in tensors]
        if len(tensors) != N_FILES[self.kind]:
            raise ValueError(f"{self.kind} has {N_FILES[self.kind]} weight tensors; got {len(tensors)}")
        convs = [c for name in FILE_ORDER[self.kind] for c in self.branches[name].convs] + list(self.head)
        with torch.no_grad():
            for conv, t in zip(convs, tensors[:len(convs)]):
                w = torch.from_numpy(np.ascontiguousarray(t.transpose(3, 2, 0, 1)))  # HWIO -> OIHW
                if w.shape != conv.weight.shape:
                    raise ValueError(f"weight of shape {t.shape} does not fit a conv of {tuple(conv.weight.shape)}")
                conv.weight.copy_(w)
            rest = tensors[len(convs):]
            for k, lin in enumerate(self.fc):
                w, b = rest[2 * k], rest[2 * k + 1]
                if w.shape != (lin.in_features, lin.out_features):
                    raise ValueError(f"dense weight {w.shape} does not fit ({lin.in_features}, {lin.out_features})")
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                lin.bias.copy_(torch.from_numpy(b.ravel()))
        return self

    def tensors(self) -> list[np.ndarray]:
        """The weights in the authors' file order and layout (inverse of :meth:`load_tensors`)."""
        convs = [c for name in FILE_ORDER[self.kind] for c in self.branches[name].convs] + list(self.head)
        out = [c.weight.detach().cpu().numpy().transpose(2, 3, 1, 0).copy() for c in convs]
        for lin in self.fc:
            out += [lin.weight.detach().cpu().numpy().T.copy(), lin.bias.detach().cpu().numpy()[None, :].copy()]
        return out

    def save_npz(self, path) -> None:
        """Save the weights as an .npz of arrays (read back with :func:`load_npz`)."""
        np.savez_compressed(path, kind=np.array(self.kind),
                            **{f"w{i}": t for i, t in enumerate(self.tensors())})


def load_npz(path) -> MultiScaleNet:
    """A network saved by :meth:`MultiScaleNet.save_npz` (no pickle)."""
    with np.load(path, allow_pickle=False) as z:
        kind = str(z["kind"])
        net = MultiScaleNet(kind)
        net.load_tensors([z[f"w{i}"] for i in range(N_FILES[kind])])
    return net.eval()


@lru_cache(maxsize=4)
def _load_npz_cached(path: str, mtime: float) -> MultiScaleNet:
    return load_npz(path)


@lru_cache(maxsize=4)
def load_karaali2022(kind: str = "bnet", *, download: bool = True) -> MultiScaleNet:
    """The authors' trained B-NET or E-NET (in eval mode; shared, do not modify it).

    The ``.mat`` files are read from ``DEFOCUS_LAB_DATA/weights/karaali2022/{blur,edge}/``, else
    from the download cache or their pinned URLs (sha256 checked); :class:`~defocus_lab.data.DataMissing` says how
    to get them otherwise. ``.mat`` files are read by ``scipy.io.loadmat``: no pickle.
    """
    from scipy.io import loadmat

    from ..data import DataMissing, fetch
    if kind not in CONCAT:
        raise ValueError(f"kind must be 'bnet' or 'enet'; got {kind!r}")
    try:
        tensors = [loadmat(fetch(f"{WEIGHTS_DIR[kind]}/{i}.mat", download=download))["weights"]
                   for i in range(N_FILES[kind])]
    except DataMissing as exc:
        folder = WEIGHTS_DIR[kind].rsplit("/", 1)[0]
        raise DataMissing(f"the authors' {kind} weights are not on this machine: run `defocus-lab fetch "
                          f"{folder}` once with network access (plain `defocus-lab fetch` skips the "
                          f"weights), or set DEFOCUS_LAB_DATA, or use bnet/enet='self-trained'. ({exc})") from None
    return MultiScaleNet(kind).load_tensors(tensors).eval()


def available(*, kinds=("bnet", "enet")) -> bool:
    """True when the authors' weights of ``kinds`` are on this machine (nothing downloaded)."""
    from ..data import available as _available
    return all(_available(f"{WEIGHTS_DIR[k]}/{i}.mat") for k in kinds for i in range(N_FILES[k]))


def load_network(spec, kind: str, *, download: bool = True) -> MultiScaleNet:
    """A network from ``spec``: a MultiScaleNet (returned as it is), "authors" (the trained
    weights of the paper), "self-trained" (this project's, under data/karaali2022/), or a path
    to an .npz saved by :meth:`MultiScaleNet.save_npz`.

    Parameters
    ----------
    spec : MultiScaleNet, "authors", "self-trained" or path
        The network or where its weights are.
    kind : {"bnet", "enet"}
        Which network is expected.
    download : bool
        For "authors": download the weights when they are not on this machine (else
        :class:`~defocus_lab.data.DataMissing`).

    Returns
    -------
    MultiScaleNet
        In evaluation mode.

    Raises
    ------
    ValueError
        A network of the other kind, or no such weights.

    Examples
    --------
    >>> net = load_network("self-trained", "enet")
    >>> net.kind, net.n_classes
    ('enet', 2)
    """
    if isinstance(spec, MultiScaleNet):
        if spec.kind != kind:
            raise ValueError(f"expected a {kind} network; got a {spec.kind}")
        return spec
    if spec == "authors":
        return load_karaali2022(kind, download=download)
    if spec == "self-trained":
        p = self_trained_path(kind)
        if not p.is_file():
            raise ValueError(f"no self-trained {kind} at {p}: it ships with a source checkout of defocus_lab, "
                             f"or make one with `defocus-lab train {kind} --out {p}`")
        return _load_npz_cached(str(p), p.stat().st_mtime)
    p = Path(spec)
    if p.suffix == ".npz" and p.is_file():
        net = load_npz(p)
        if net.kind != kind:
            raise ValueError(f"{p} holds a {net.kind}; a {kind} was expected")
        return net
    raise ValueError(f"a {kind} must be a MultiScaleNet, 'authors', 'self-trained' or an existing .npz file; "
                     f"got {spec!r}")


# ---------------------------------------------------------------------- many edge pixels at once

def _shared_f1(nets) -> bool:
    """True when the networks' f1 branches (41, 27, 15) hold equal weights (the authors' do)."""
    a, b = nets
    return all(torch.equal(p, q) for name in ("41", "27", "15")
               for p, q in zip(a.branches[name].parameters(), b.branches[name].parameters()))


@torch.no_grad()
def edge_logits(image: np.ndarray, ys: np.ndarray, xs: np.ndarray, nets, *, zero_branches=None,
                tile: int = 192, batch: int = 4096, progress=None, device="auto") -> list[np.ndarray]:
    """Logits of each network in ``nets`` at the edge pixels (ys, xs) of ``image``.

    Parameters
    ----------
    image : ndarray (H, W, 3)
        Float in [0, 1].
    ys, xs : int arrays (N,)
        Edge pixels; each is the centre of a 41x41 patch of the image padded by 20 px with
        reflection (``numpy.pad(mode="symmetric")``, OpenCV's BORDER_REFLECT, as the authors).
    nets : sequence of MultiScaleNet
        The networks, evaluated on the same patches.
    zero_branches : sequence of tuples, optional
        Per network, branches whose output is replaced by zeros (the multi-scale ablation).
    tile : int
        Side of the square tiles of output pixels evaluated densely; bounds the memory at
        ~ 2 * 64 * (tile + 40)^2 * 4 bytes per live feature map. Tiles without edges are skipped.
    batch : int
        Edge pixels per head evaluation.
    progress : callable(done, total), optional
        Called after each tile.
    device : "auto", "cpu", "cuda", ... (:func:`~defocus_lab.models.device.resolve_device`)
        Where the networks run; the tile bound holds there too. The logits come back as NumPy.

    Returns
    -------
    list of ndarray
        float32 (N, classes), one per network.

    Examples
    --------
    The dense, tiled evaluation gives the logits of the 41x41 patch around each pixel:

    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> net = MultiScaleNet("enet")
    >>> image = np.random.default_rng(0).random((50, 50, 3))
    >>> (logits,) = edge_logits(image, np.array([25]), np.array([30]), [net])
    >>> patch = np.pad(image, ((20, 20), (20, 20), (0, 0)), mode="symmetric")[25:66, 30:71]
    >>> with torch.inference_mode():
    ...     direct = net(torch.from_numpy(patch.transpose(2, 0, 1)[None].astype(np.float32))).numpy()
    >>> bool(np.allclose(logits, direct, atol=1e-4))
    True
    """
    dev = resolve_device(device)
    nets = [on_device(n, dev) for n in nets]
    zero = [n._check_zero(z) for n, z in zip(nets, zero_branches or [()] * len(nets))]
    ys = np.asarray(ys, dtype=np.int64)
    xs = np.asarray(xs, dtype=np.int64)
    H, W = image.shape[:2]
    if ys.shape != xs.shape or ys.ndim != 1:
        raise ValueError(f"ys and xs must be 1-D arrays of one length; got {ys.shape} and {xs.shape}")
    if len(ys) and (ys.min() < 0 or xs.min() < 0 or ys.max() >= H or xs.max() >= W):
        raise ValueError(f"edge pixels must lie inside the {H}x{W} image")
    out = [np.zeros((len(ys), n.n_classes), np.float32) for n in nets]
    if len(ys) == 0:
        return out
    timg = _padded_tensor(image).to(dev)
    share = len(nets) == 2 and _shared_f1(nets)
    tiles = _tiles_of(ys, xs, W, tile)
    for t, (y0, x0, sel) in enumerate(tiles):
        x = _tile_input(timg, y0, x0, tile, (H, W))
        ly, lx = torch.from_numpy(ys[sel] - y0).to(dev), torch.from_numpy(xs[sel] - x0).to(dev)
        cache = {}
        for k, net in enumerate(nets):
            g = _first_head_conv(net, x, zero[k], cache if share else {})
            out[k][sel] = _gather_classify(net, g, ly, lx, batch)
        if progress is not None:
            progress(t + 1, len(tiles))
    return out


def _padded_tensor(image) -> torch.Tensor:
    """(1, 3, H + 40, W + 40) float32: the image padded by reflection as the authors pad it."""
    padded = np.pad(np.asarray(image, dtype=np.float32), ((PAD, PAD), (PAD, PAD), (0, 0)), mode="symmetric")
    return torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1)))[None]


def _tile_input(timg, y0, x0, tile, shape):
    """The padded input of the tile of output pixels starting at (y0, x0), channels-last."""
    H, W = shape
    h, w = min(tile, H - y0), min(tile, W - x0)
    return timg[:, :, y0:y0 + h + 2 * PAD, x0:x0 + w + 2 * PAD].contiguous(memory_format=torch.channels_last)


def _tiles_of(ys, xs, W, tile):
    """[(tile row origin, tile column origin, indices of the edge pixels in that tile)]."""
    ty, tx = ys // tile, xs // tile
    order = np.lexsort((tx, ty))
    keys = ty[order] * ((W + tile - 1) // tile) + tx[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    bounds = np.r_[starts, len(order)]
    return [(int(ty[order[a]]) * tile, int(tx[order[a]]) * tile, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _gather_classify(net, maps, ly, lx, batch):
    """Logits at tile-local pixels (ly, lx) from [(map, step)] of the head's first convolution:
    the 5x5 grid of each map at the pixel summed (the convolution is linear and has no bias),
    ReLU, the rest of the head."""
    out = np.zeros((len(ly), net.n_classes), np.float32)
    for a in range(0, len(ly), batch):
        by, bx = ly[a:a + batch], lx[a:a + batch]
        hsum = torch.zeros((len(by), 5, 5, 64), device=ly.device)
        five = torch.arange(5, device=ly.device)
        for gmap, step in maps:
            # channels-last: gmap[0] viewed as (rows, columns, 64); each gather copies
            # 64 contiguous floats.
            iy = by[:, None] + step * five
            ix = bx[:, None] + step * five
            hsum += gmap[0].permute(1, 2, 0)[iy[:, :, None], ix[:, None, :]]
        out[a:a + batch] = net.classify(F.relu(hsum.permute(0, 3, 1, 2))).cpu().numpy()
    return out


class DenseHeads:
    """Every branch of ``nets`` and its share of the head's first convolution, at every pixel of
    ``image``, kept: logits at any set of edge pixels, with any branches zeroed, then cost only
    the gather and the rest of the head (what an explorer needs when the edges or the scales
    change: :func:`edge_logits` would run the branches again each time).

    Same numbers as :func:`edge_logits` (the head's first convolution is linear without bias,
    so summing its per-branch parts equals convolving the concatenation; float32 rounding
    differs, ~1e-5). Memory: per network and branch 64 float32 maps of the image's size (for
    two networks on a 360x360 image ~ 260 MB); refused by :func:`defocus_lab._validate.check_memory`
    when it does not fit.
    """

    def __init__(self, image: np.ndarray, nets, *, tile: int = 192, device="auto"):
        from .._validate import check_memory
        self.device = resolve_device(device)
        self.nets = [on_device(n, self.device) for n in nets]
        self.shape = image.shape[:2]
        self.tile = tile
        H, W = self.shape
        n_maps = sum(len(n.branches) for n in self.nets)
        check_memory(n_maps * 64 * (H + 12) * (W + 12) * 4 * 1.3, f"the dense heads of a {W}x{H} image",
                     "use a smaller copy of the image, or edge_logits (which keeps nothing)")
        share = len(self.nets) == 2 and _shared_f1(self.nets)
        timg = _padded_tensor(image).to(self.device)
        self.maps = {}  # (tile y0, x0) -> per network {branch: (map, step)}
        with torch.no_grad():
            for y0 in range(0, H, tile):
                for x0 in range(0, W, tile):
                    x = _tile_input(timg, y0, x0, tile, (H, W))
                    cache, per_net = {}, []
                    for net in self.nets:
                        wgt = net.head[0].weight
                        parts = {}
                        for j, (name, br) in enumerate(net.branches.items()):
                            d = cache.get(name) if share else None
                            if d is None:
                                d = br.dense(x)
                                if name != "f2":
                                    cache[name] = d
                            parts[name] = (F.conv2d(d, wgt[:, 64 * j:64 * (j + 1)], dilation=br.step)
                                           .contiguous(memory_format=torch.channels_last), br.step)
                        per_net.append(parts)
                    self.maps[(y0, x0)] = per_net

    @torch.no_grad()
    def logits(self, ys, xs, zero_branches=None, *, batch: int = 4096) -> list[np.ndarray]:
        """Logits of each network at the pixels (ys, xs), as :func:`edge_logits`."""
        zero = [n._check_zero(z) for n, z in zip(self.nets, zero_branches or [()] * len(self.nets))]
        ys = np.asarray(ys, dtype=np.int64)
        xs = np.asarray(xs, dtype=np.int64)
        H, W = self.shape
        if len(ys) and (ys.min() < 0 or xs.min() < 0 or ys.max() >= H or xs.max() >= W):
            raise ValueError(f"edge pixels must lie inside the {H}x{W} image")
        out = [np.zeros((len(ys), n.n_classes), np.float32) for n in self.nets]
        for y0, x0, sel in (_tiles_of(ys, xs, W, self.tile) if len(ys) else []):
            ly = torch.from_numpy(ys[sel] - y0).to(self.device)
            lx = torch.from_numpy(xs[sel] - x0).to(self.device)
            for k, net in enumerate(self.nets):
                parts = [m for name, m in self.maps[(y0, x0)][k].items() if name not in zero[k]]
                out[k][sel] = _gather_classify(net, parts, ly, lx, batch)
        return out


def _first_head_conv(net: MultiScaleNet, x, zero, cache):
    """[(map of the head's first convolution over the branches of one grid step, the step)].

    Branches on the same grid (step 3: 41, f2, 27) are concatenated and convolved together;
    the 15x15 branch (step 1) separately. Zeroed branches are left out of the sum.
    """
    w = net.head[0].weight
    groups: dict[int, list] = {}
    for j, (name, br) in enumerate(net.branches.items()):
        if name in zero:
            continue
        d = cache.get(name)
        if d is None:
            d = br.dense(x)
            if name != "f2":
                cache[name] = d
        groups.setdefault(br.step, []).append((d, w[:, 64 * j:64 * (j + 1)]))
    out = []
    for step, parts in groups.items():
        h = min(d.shape[2] for d, _ in parts)
        wd = min(d.shape[3] for d, _ in parts)
        d = torch.cat([d[:, :, :h, :wd] for d, _ in parts], 1) if len(parts) > 1 else parts[0][0]
        out.append((F.conv2d(d, torch.cat([wj for _, wj in parts], 1), dilation=step), step))
    return out
