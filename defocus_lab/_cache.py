"""An opt-in on-disk memo of the notebooks' expensive, deterministic results (paper tables,
evaluations, sweeps without a CSV, estimates and deblurrings).

Off unless ``DEFOCUS_LAB_RESULTS_CACHE`` names a folder. ``make test`` sets it, fresh for each
run, for the two stages that execute the same notebooks top to bottom (nbval, then the browser
test in JupyterLab): the second execution of a cell then reads what the first one computed,
with the same code and the same inputs, instead of computing it again. A user who reruns the
notebooks often may set it too.

A result is found again only for the same function, the same arguments (arrays by content;
arguments that only say *how* to run, such as a progress bar or a Dask client, are left out:
``ignore``), the same package source (a hash of every file of ``defocus_lab``, so an edit of
the code is never served a stale result) and the same ``DEFOCUS_LAB_DATA``. A call whose
arguments or result cannot be pickled is computed as usual and not kept. Writes are atomic
(a temporary file renamed), so two processes that share the folder never read half a file.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

CACHE_ENV = "DEFOCUS_LAB_RESULTS_CACHE"
_SOURCE_HASH: list = []


def source_hash() -> str:
    """sha256 of every file of the installed package (names and bytes), computed once per process."""
    if not _SOURCE_HASH:
        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in (".py", ".txt") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
        _SOURCE_HASH.append(h.hexdigest())
    return _SOURCE_HASH[0]


def folder() -> Path | None:
    """The cache folder from ``DEFOCUS_LAB_RESULTS_CACHE``, or None when the cache is off."""
    v = os.environ.get(CACHE_ENV)
    return Path(v).expanduser() if v else None


def cached(ignore=(), skip_if=None):
    """Decorate a deterministic function so that its results are kept in :func:`folder`.

    ``ignore``: keyword arguments left out of the key (how to run, not what to compute).
    ``skip_if(kwargs)``: True for calls that must always run (e.g. a sweep that writes a CSV:
    the CSV is its own, resumable, record)."""
    ignore = frozenset(ignore)

    def deco(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            where = folder()
            if where is None or (skip_if is not None and skip_if(kwargs)):
                return fn(*args, **kwargs)
            keyed = {k: v for k, v in kwargs.items() if k not in ignore}
            try:
                blob = pickle.dumps((name, args, sorted(keyed.items()), source_hash(),
                                     os.environ.get("DEFOCUS_LAB_DATA")), protocol=4)
            except Exception:  # an argument that cannot be pickled: compute as usual
                return fn(*args, **kwargs)
            path = where / f"{fn.__qualname__}-{hashlib.sha256(blob).hexdigest()[:32]}.pkl"
            try:
                with open(path, "rb") as f:
                    return pickle.load(f)
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
                pass  # not there yet (or from an older package: recomputed)
            result = fn(*args, **kwargs)
            try:
                where.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
            except OSError:  # a read-only folder: the result stands, unkept
                return result
            try:
                with os.fdopen(fd, "wb") as f:
                    pickle.dump(result, f, protocol=4)
                os.replace(tmp, path)
            except Exception:  # an unpicklable result: the result stands, unkept
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            return result
        return wrapper
    return deco
