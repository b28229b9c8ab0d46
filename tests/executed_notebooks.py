"""Keep nbval's run of the notebooks: a pytest plugin that writes each notebook nbval ran, with
the outputs its cells gave, for the site (``make site``, ``docs/build_site.py``).

nbval executes every notebook top to bottom anyway (``make test``); the site shows the same
notebooks executed. Instead of a second execution (350 s on 2 cores with the data), ``make test`` loads
this plugin into the nbval run (``-p executed_notebooks``) and sets
``DEFOCUS_LAB_EXECUTED_DIR``; the site build takes a notebook from there when it is the
repository's notebook run with the package's current code and the same data setting
(:func:`current`), and executes it itself otherwise.

A notebook is written only when every one of its code cells ran and passed: a notebook with a
failed cell is left out (the site build then executes it and fails there, with its traceback).
What nbval records is what the site shows: display data, results, streams. nbval drops
``clear_output`` and ``update_display_data`` messages; the notebooks use neither for figures.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import pytest

ENV = "DEFOCUS_LAB_EXECUTED_DIR"
META = "defocus_lab"  # the notebook metadata key of what this plugin records


IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def figure_count(nb: dict) -> int:
    """The figures a notebook shows: its outputs that carry an image (an explorer's output
    carries the PNG of its figure beside its widget, and counts once)."""
    return sum(any(t in out.get("data", {}) for t in IMAGE_TYPES)
               for cell in nb["cells"] if cell["cell_type"] == "code" for out in cell.get("outputs", []))


def execute(nb, cwd, timeout: int):
    """Execute the nbformat notebook ``nb`` in place with nbclient, in folder ``cwd``; returns it.

    nbclient's Output-widget mimic is replaced by one that does not echo the captured outputs
    back to the kernel: that message, sent on the shell channel while nbclient waits there for
    the cell's reply, can stall the cell until the timeout (jupyter/nbclient#312). The outputs
    are still routed to the widget, not to the cell, as a frontend does."""
    from nbclient import NotebookClient
    from nbclient.output_widget import OutputWidget

    class OutputWidgetNoEcho(OutputWidget):
        def sync_state(self):
            pass

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.widget_registry["@jupyter-widgets/output"]["OutputModel"] = OutputWidgetNoEcho
    client.execute()
    return nb


def source_digest(nb: dict) -> str:
    """sha256 of the notebook's cells (type and source): equal for a notebook and its executed
    copy, different as soon as a cell changes."""
    h = hashlib.sha256()
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        h.update(json.dumps([cell["cell_type"], source]).encode())
    return h.hexdigest()


def package_digest(root: Path | None = None) -> str:
    """sha256 of the package's code (``defocus_lab/**/*.py`` and ``*.txt``, by path and content):
    an executed notebook is the notebook run with this code, and is stale once the code changes."""
    root = Path(root) if root else Path(__file__).resolve().parents[1] / "defocus_lab"
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".txt") and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def stamp(nb, executed_by: str) -> None:
    """Record in ``nb``'s metadata what it was executed from: its cells, the package's code,
    whether the data folder was set, and by what."""
    nb["metadata"][META] = {"source_sha256": source_digest(nb), "package_sha256": package_digest(),
                            "data": bool(os.environ.get("DEFOCUS_LAB_DATA")), "executed_by": executed_by}


def current(nb: dict, source: dict) -> bool:
    """Whether the executed ``nb`` is ``source`` run with this package's code and data setting."""
    meta = nb.get("metadata", {}).get(META, {})
    return (meta.get("source_sha256") == source_digest(source) and meta.get("package_sha256") == package_digest()
            and meta.get("data") == bool(os.environ.get("DEFOCUS_LAB_DATA")))


class _Run:
    def __init__(self, parent):
        self.parent = parent
        self.outputs: dict[int, list] = {}  # index in nb.cells -> outputs
        self.failed = False


_runs: dict[int, _Run] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        result = yield
    except BaseException:
        _record(item, failed=True)
        raise
    _record(item, failed=False)
    return result


def _record(item, *, failed: bool) -> None:
    if not hasattr(item, "test_outputs") or not hasattr(item.parent, "nb") or not os.environ.get(ENV):
        return
    run = _runs.setdefault(id(item.parent), _Run(item.parent))
    run.failed |= failed
    index = next(i for i, c in enumerate(item.parent.nb.cells) if c is item.cell)
    run.outputs[index] = copy.deepcopy(list(item.test_outputs or []))


def pytest_sessionfinish(session, exitstatus):
    folder = os.environ.get(ENV)
    if not folder:
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for run in _runs.values():
        nb = run.parent.nb
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        if run.failed or any(i not in run.outputs for i in code):
            continue
        out = copy.deepcopy(nb)
        for n, i in enumerate(code, start=1):
            out.cells[i].execution_count = n
            out.cells[i].outputs = run.outputs[i]
            for o in out.cells[i].outputs:
                if o.get("output_type") == "execute_result":
                    o["execution_count"] = n
        stamp(out, "nbval (make test)")
        path = folder / Path(str(run.parent.path)).name
        path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
