"""The Jupyter server side of ``make lab``: the lab's own notebooks are saved without outputs.

Running a notebook fills it with figures and widget state, and JupyterLab saves (and autosaves)
them into the file: a checkout's notebook would grow from ~20 KB to megabytes and show as changed
in git after every session. :func:`strip_outputs` is a ``FileContentsManager.pre_save_hook``
(set in the repository's ``jupyter_server_config.py``, which ``make lab`` passes to JupyterLab)
that saves the lab's notebooks as they are committed: no outputs, no execution counts, no widget
state, the notebook metadata reduced to the kernel's name. Edits to the cells are kept.

Only the lab's own notebooks are stripped: a file named like them (two digits, underscore,
lower-case name: ``01_zhuo_sim_2011.ipynb``) at the top of the served folder. A copy made with
*File > Save Notebook As...* under another name (``my_run.ipynb``, ``01_zhuo_sim_2011-Copy1.ipynb``)
keeps its outputs. Imports nothing from the package, so the server does not load numba or torch.
"""
from __future__ import annotations

import re

LAB_NOTEBOOK = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
VOLATILE_CELL_METADATA = ("execution", "scrolled", "collapsed", "trusted")
PYTHON3_DISPLAY_NAME = "Python 3 (ipykernel)"


def is_lab_notebook(path: str) -> bool:
    """True for a lab notebook's path relative to the served folder (``01_zhuo_sim_2011.ipynb``)."""
    return "/" not in path.strip("/") and bool(LAB_NOTEBOOK.match(path.strip("/")))


def strip_notebook(nb: dict) -> dict:
    """``nb`` (nbformat 4, as a dict) as the repository keeps it, changed in place and returned:
    code cells without outputs and execution counts, no run-time cell metadata, the notebook's
    metadata reduced to ``kernelspec`` (the ``python3`` kernel under one display name) and
    ``language_info.name``."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        md = cell.get("metadata", {})
        for k in VOLATILE_CELL_METADATA:
            md.pop(k, None)
    meta = nb.get("metadata", {})
    kept = {}
    if "kernelspec" in meta:
        kept["kernelspec"] = dict(meta["kernelspec"])
        if kept["kernelspec"].get("name") == "python3":  # its display name varies with the installation
            kept["kernelspec"].update(display_name=PYTHON3_DISPLAY_NAME, language="python")
    if "language_info" in meta:
        kept["language_info"] = {"name": meta["language_info"].get("name", "python")}
    nb["metadata"] = kept
    return nb


def strip_outputs(model, path, contents_manager=None, **kwargs):
    """``pre_save_hook``: strip a lab notebook's ``model`` before the server writes it."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict) and is_lab_notebook(path):
        strip_notebook(model["content"])
