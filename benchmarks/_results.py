"""Each benchmark writes what it printed to ``benchmarks/results/<name>.md``, with the date, the
machine and the command, so that a measurement quoted anywhere can be traced to the run that
made it. Worker processes (``--worker``) only print; their parent writes."""
from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self.streams = streams

    def write(self, s):
        for st in self.streams:
            st.write(s)
        return len(s)

    def flush(self):
        for st in self.streams:
            st.flush()


def machine() -> str:
    """One line: OS, CPU count, Python and the libraries whose speed the numbers depend on."""
    import numba
    import numpy
    import scipy
    parts = [platform.platform(terse=True), f"{os.cpu_count()} CPUs", f"Python {platform.python_version()}",
             f"numpy {numpy.__version__}", f"scipy {scipy.__version__}", f"numba {numba.__version__}"]
    try:
        import torch
        parts.append(f"torch {torch.__version__}")
    except ImportError:  # pragma: no cover
        pass
    return ", ".join(parts)


@contextlib.contextmanager
def record(script: str, name: str | None = None):
    """Print as usual and, at the end (also after Ctrl-C), write the printed text to
    ``results/<name>.md`` (default: the script's name)."""
    if "--worker" in sys.argv:
        yield
        return
    buf = io.StringIO()
    start = datetime.datetime.now().astimezone()
    old = sys.stdout
    sys.stdout = _Tee(old, buf)
    completed = False
    try:
        yield
        completed = True
    finally:
        sys.stdout = old
        name = name or os.path.splitext(os.path.basename(script))[0]
        os.makedirs(RESULTS, exist_ok=True)
        path = os.path.join(RESULTS, f"{name}.md")
        rel = os.path.relpath(os.path.abspath(script), os.path.dirname(RESULTS) + "/..")
        cmd = " ".join([".venv/bin/python", rel] + sys.argv[1:])
        with open(path, "w") as f:
            f.write(f"# {name}\n\n")
            f.write(f"- date: {start:%Y-%m-%d %H:%M %Z}\n- machine: {machine()}\n- command: `{cmd}`\n")
            if not completed:
                f.write("- **interrupted**: the output below is partial\n")
            f.write("\n```\n" + buf.getvalue().rstrip() + "\n```\n")
        print(f"(written to {os.path.relpath(path)})")
