"""Cooperative cancellation of long computations, for the explorers' refinements.

An explorer computes a quick preview of a change at once and the full answer in a worker
thread; when the user moves a control again, the answer in progress is no longer wanted. Python
cannot stop a thread from outside, so the package's long loops (the conjugate-gradient
iterations, the deconvolution's outer and inner iterations, the kernel search) call
:func:`checkpoint` once per step. Outside :func:`cancellable` a checkpoint costs one thread-local
lookup and never raises, so library calls behave exactly as before; inside it, once the
:class:`threading.Event` is set, the next checkpoint raises :class:`Cancelled`.

:class:`Cancelled` derives from :class:`BaseException` (as :class:`asyncio.CancelledError` and
:class:`KeyboardInterrupt` do) so that no ``except Exception`` on the way up swallows it.

>>> import threading
>>> stop = threading.Event()
>>> with cancellable(stop):
...     checkpoint()          # not set: nothing happens
...     stop.set()
...     try:
...         checkpoint()
...     except Cancelled:
...         print("cancelled")
cancelled
>>> checkpoint()              # outside cancellable(): never raises
"""
from __future__ import annotations

import contextlib
import threading

__all__ = ["Cancelled", "cancellable", "checkpoint"]

_local = threading.local()


class Cancelled(BaseException):
    """Raised by :func:`checkpoint` once the event of the enclosing :func:`cancellable` is set."""


def checkpoint() -> None:
    """Raise :class:`Cancelled` if this thread's computation has been cancelled; else nothing."""
    event = getattr(_local, "event", None)
    if event is not None and event.is_set():
        raise Cancelled


@contextlib.contextmanager
def cancellable(event: threading.Event):
    """Within the block, :func:`checkpoint` in this thread raises :class:`Cancelled` once
    ``event`` is set (blocks nest: the inner event rules until it ends)."""
    if not isinstance(event, threading.Event):
        raise TypeError(f"cancellable() takes a threading.Event, not {type(event).__name__}")
    previous = getattr(_local, "event", None)
    _local.event = event
    try:
        yield event
    finally:
        _local.event = previous
