"""Every figure a notebook cell shows was made by that cell: the probe, and a pytest plugin that
puts it into nbval's own run of the notebooks.

The probe runs in the kernel right after the notebook's ``%matplotlib inline`` cell. It stamps
every matplotlib Figure with the number of the code cell that made it (1 for the first cell
after the probe) and every PNG of a figure with that stamp (the PNG's metadata
``made_in_cell``). A figure shown under a later cell than the one that made it (an explorer's
figure left in pyplot, flushed by the inline backend at the end of the next cell that touches
``plt``) carries another cell's stamp.

``make test`` loads this module as a plugin of the nbval run (``-p tests.figure_probe``), so
that the check rides on the execution nbval does anyway instead of running every notebook a
second time under nbclient; ``tests/test_notebooks.py`` shows with a small notebook that the
check catches the fault.
"""
from __future__ import annotations

import pytest

PROBE = '''
import matplotlib.figure as _mf
from IPython import get_ipython as _gi
_ip = _gi()
_cell = [0]  # code cells started since this one: 1 for the next cell
def _count(*_):
    _cell[0] += 1
_ip.events.register("pre_run_cell", _count)
_init = _mf.Figure.__init__
def _stamped_init(self, *a, **k):
    _init(self, *a, **k)
    self._made_in_cell = _cell[0]
_mf.Figure.__init__ = _stamped_init
_png = _ip.display_formatter.formatters["image/png"]
_plain = _png.lookup_by_type(_mf.Figure)
def _stamped_png(fig, **kw):
    return _plain(fig, **kw), {"made_in_cell": getattr(fig, "_made_in_cell", None)}
_png.for_type(_mf.Figure, _stamped_png)
'''

MARKER = "%matplotlib inline"


def stamps(outputs) -> list:
    """The ``made_in_cell`` stamp of every figure PNG among a cell's outputs (None: a PNG that
    is not a stamped matplotlib figure, e.g. an image file shown with IPython.display)."""
    return [out.get("metadata", {}).get("image/png", {}).get("made_in_cell")
            for out in outputs if "image/png" in out.get("data", {})]


def misplaced(k: int, outputs) -> list:
    """[(k, made)] for each figure shown under the k-th code cell after the probe that another
    cell made (a PNG without a stamp is not a matplotlib figure and is not counted)."""
    return [(k, made) for made in stamps(outputs) if made is not None and made != k]


# ----------------------------------------------------------------------------- the nbval plugin

_STATE_KEY = "_figure_probe_cell"  # per notebook (the IPyNbFile collector): None before the probe


def _run_in_kernel(item, source: str) -> None:
    """Execute ``source`` in the notebook's nbval kernel and wait until it is idle; a failure of
    the probe itself fails the cell after which it runs."""
    kernel = item.parent.kernel
    timeout = item.config.option.nbval_cell_timeout
    msg_id = kernel.execute_cell_input(source, allow_stdin=False)
    kernel.await_reply(msg_id, timeout=timeout)
    error = None
    while True:  # its iopub messages, up to the kernel's idle
        msg = kernel.get_message(stream="iopub", timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "error":
            error = f"{msg['content']['ename']}: {msg['content']['evalue']}"
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    if error:
        raise RuntimeError(f"the figure probe failed in the kernel: {error}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Around nbval's run of a cell: after the ``%matplotlib inline`` cell, run the probe in the
    kernel; after every later cell, fail the cell if it shows a figure another cell made."""
    result = yield  # nbval runs the cell (its errors propagate from here unchanged)
    if not hasattr(item, "test_outputs") or not hasattr(item.parent, "kernel"):
        return result  # not a notebook cell
    parent = item.parent
    k = getattr(parent, _STATE_KEY, None)
    if k is None:
        if MARKER in item.cell.source:
            _run_in_kernel(item, PROBE)
            setattr(parent, _STATE_KEY, 0)
        else:
            last = sum(c.cell_type == "code" for c in parent.nb.cells) - 1
            assert item.cell_num < last, f"no code cell has {MARKER!r}: the figure probe had nowhere to run"
        return result
    k += 1
    setattr(parent, _STATE_KEY, k)
    bad = misplaced(k, item.test_outputs or [])
    assert not bad, (f"code cell {k} after the probe shows a figure made by cell(s) {sorted({m for _, m in bad})}: "
                     f"a figure left in pyplot by an earlier cell is shown again")
    return result
