"""Measuring helpers shared by the experiments and the benchmarks (no defocus_lab imports, so a
benchmark can load this file alone without importing the package)."""
from __future__ import annotations

import os
import threading
import time


class PeakRSS:
    """Peak resident memory above the level at start, sampled in a thread."""

    def __enter__(self):
        self.base = self._rss()
        self.peak = self.base
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    @staticmethod
    def _rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self.peak = max(self.peak, self._rss())
        self.added = self.peak - self.base


def stepped(items, progress=None, desc: str = ""):
    """Iterate over ``items``; with ``progress`` (a tqdm-like class, e.g. ``tqdm.auto.tqdm``) a
    bar of ``len(items)`` steps titled ``desc`` shows which item is being computed (the item's
    str as the bar's postfix) and how many are done."""
    items = list(items)
    if progress is None:
        yield from items
        return
    bar = progress(total=len(items), desc=desc)
    try:
        for item in items:
            bar.set_postfix_str(str(item if not isinstance(item, tuple) else " ".join(map(str, item))))
            yield item
            bar.update(1)
    finally:
        bar.close()
