"""Where the torch networks run: ``device="auto"`` (CUDA when torch sees a GPU, else the CPU).

Every torch path of the lab (Karaali's B-NET/E-NET inference, Galetto & Deng's patch
classifier, both training loops) takes a ``device`` argument resolved here, and the command
line a ``--device`` flag. Decisions:

- ``"auto"`` picks ``cuda`` (torch's current CUDA device) when ``torch.cuda.is_available()``,
  else ``cpu``. Apple's ``mps`` is accepted when named but never picked by ``"auto"``: the
  networks' float32 gathers were not checked there.
- Asking for ``"cuda"`` on a machine without one is an error that says so (never a silent CPU
  run: a benchmark that believes it timed a GPU would be wrong).
- Networks are cached on the CPU (the weight loaders' caches); :func:`on_device` keeps one copy
  per (network, device), so that a CPU caller never finds a cached network moved to the GPU.
- Inference keeps its tile and batch bounds on the GPU: the memory a call needs does not
  depend on the device.
"""
from __future__ import annotations

import weakref

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")
_COPIES: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()


def resolve_device(device="auto") -> torch.device:
    """The torch device meant by ``device``: "auto", "cpu", "cuda", "cuda:N", "mps" or a
    :class:`torch.device`.

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
    """
    if isinstance(device, torch.device):
        dev = device
    elif device is None or device == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    elif isinstance(device, str) and device.split(":")[0] in DEVICES[1:]:
        try:
            dev = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"device {device!r} is not a torch device: {exc}") from None
    else:
        raise ValueError(f"device must be one of {DEVICES} (or 'cuda:N', or a torch.device); got {device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked, but torch sees no CUDA GPU here (torch {torch.__version__}, "
                             f"CUDA build: {torch.version.cuda or 'none'}): use device='auto' or 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' asked, but torch sees no Apple GPU here: use device='auto' or 'cpu'")
    return dev


def on_device(net: torch.nn.Module, device) -> torch.nn.Module:
    """``net`` itself on the CPU; elsewhere a copy on ``device``, made once per (net, device)
    and kept while ``net`` lives (the original stays on the CPU for other callers)."""
    dev = resolve_device(device)
    if dev.type == "cpu":
        return net
    copies = _COPIES.setdefault(net, {})
    key = str(dev)
    if key not in copies:
        import copy
        copies[key] = copy.deepcopy(net).to(dev).eval()
    return copies[key]


def describe(device="auto") -> str:
    """One line naming the device ``device`` resolves to (for logs and the closing notes)."""
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return f"{dev.type} ({torch.get_num_threads()} threads)"
