"""What the notebooks show and how they are kept.

- Every figure a cell shows was made by that cell: each notebook runs under nbclient with a
  probe that stamps every matplotlib Figure with the execution count of the cell that made it
  and every PNG of a figure with that stamp; a figure that reappears under a later cell (an
  explorer's figure left in pyplot, flushed by the inline backend at the end of the next cell
  that touches ``plt``) fails. A small notebook that does exactly that shows the check fails.
- No notebook in ``notebooks/`` carries outputs in git.
- ``make lab``'s server configuration saves the lab's notebooks without outputs.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from executed_notebooks import execute
from figure_probe import MARKER, PROBE, misplaced, stamps

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

def _run_with_probe(nb, cwd):
    """Execute ``nb`` with the probe inserted after its ``%matplotlib inline`` cell; returns it."""
    at = next(k for k, c in enumerate(nb.cells) if c.cell_type == "code" and MARKER in c.source)
    probe = nbformat.v4.new_code_cell(PROBE)
    probe.metadata["probe"] = True
    nb.cells.insert(at + 1, probe)
    return execute(nb, cwd, timeout=900)


def _cells_after_probe(nb):
    """(k, outputs) of the k-th code cell after the probe (k = 1, 2, ...: the probe's count of
    the cells started after it)."""
    k = None
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        if c.metadata.get("probe"):
            k = 0
        elif k is not None:
            k += 1
            yield k, c.get("outputs", [])


def figures_shown(nb):
    """[(k, the stamp of a figure PNG shown under it)] for the k-th code cell after the probe."""
    return [(k, made) for k, outputs in _cells_after_probe(nb) for made in stamps(outputs)]


def misplaced_figures(nb):
    """The figures shown under a cell other than the one that made them."""
    return [bad for k, outputs in _cells_after_probe(nb) for bad in misplaced(k, outputs)]


FAULTY = [nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom IPython.display import display"),
          nbformat.v4.new_code_cell("with plt.ioff():\n    f = plt.figure()\n    f.add_subplot().plot([0, 1])\ndisplay(f)"),
          nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([1, 0])")]


def test_the_check_catches_a_figure_shown_again_under_a_later_cell(tmp_path):
    # the explorers' old habit: a figure made through pyplot with interactive mode off, shown in
    # its cell, and left open; the next cell that touches plt shows it again
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.source) for c in FAULTY]
    nb = _run_with_probe(nb, tmp_path)
    # the second cell shows its figure (1 after the probe), the third its own and the second's again
    assert sorted(figures_shown(nb)) == [(1, 1), (2, 1), (2, 2)]
    assert misplaced_figures(nb) == [(2, 1)]


def test_the_check_runs_inside_nbval(tmp_path):
    """``make test``'s nbval run with the probe plugin: the faulty notebook's third cell fails
    with the probe's message, the others pass; without the plugin nbval passes it all."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.source) for c in FAULTY]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "faulty.ipynb"
    nbformat.write(nb, path)
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])}
    base = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path),
            "-c", os.devnull, str(path)]
    with_probe = subprocess.run(base[:3] + ["-p", "figure_probe"] + base[3:], capture_output=True, text=True,
                                cwd=tmp_path, env=env)
    assert with_probe.returncode == 1, with_probe.stdout
    assert "1 failed, 2 passed" in with_probe.stdout and "made by cell(s) [1]" in with_probe.stdout
    plain = subprocess.run(base, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert plain.returncode == 0 and "3 passed" in plain.stdout, plain.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    from defocus_lab.labserver import strip_notebook
    raw = json.loads(path.read_text())
    for c in raw["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, f"{path.name}: a cell carries outputs"
    assert "widgets" not in raw["metadata"]
    assert strip_notebook(json.loads(path.read_text())) == raw  # already as the lab server saves it


def test_lab_notebook_names():
    from defocus_lab.labserver import is_lab_notebook
    assert all(is_lab_notebook(p.name) for p in NOTEBOOKS)
    for name in ("01_zhuo_sim_2011-Copy1.ipynb", "my_run.ipynb", "sub/01_zhuo_sim_2011.ipynb", "01_x.txt"):
        assert not is_lab_notebook(name)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_server_saves_lab_notebooks_without_outputs(tmp_path):
    """The server as ``make lab`` starts it (``--config=jupyter_server_config.py``): a run notebook
    saved through its REST API is written back byte for byte as committed; a copy under another
    name keeps its outputs."""
    src = NOTEBOOKS[0]
    shutil.copy(src, tmp_path / src.name)
    port = _free_port()
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    proc = subprocess.Popen([jupyter, "server", f"--config={ROOT / 'jupyter_server_config.py'}", "--no-browser",
                             "--allow-root", "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
                             "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={tmp_path}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # bounded by attempts, not by the clock's reading
            try:
                urllib.request.urlopen(url + "/api", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, "jupyter server exited"
                time.sleep(0.5)
        nb = json.loads(src.read_text())
        code = next(c for c in nb["cells"] if c["cell_type"] == "code")
        code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "a run's output"}]
        code["execution_count"] = 7
        nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
        nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.2"}
        for name in (src.name, "my_run.ipynb"):
            req = urllib.request.Request(f"{url}/api/contents/{name}", method="PUT",
                                         data=json.dumps({"type": "notebook", "format": "json", "content": nb}).encode(),
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).read()
        assert (tmp_path / src.name).read_bytes() == src.read_bytes()
        assert "a run's output" in (tmp_path / "my_run.ipynb").read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
