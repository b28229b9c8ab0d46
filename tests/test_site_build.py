"""The site's build, without building it (``tests/browser/test_site.py`` checks the built site):

- nbval's run keeps each notebook with its outputs (``tests/executed_notebooks.py``), only when
  every cell passed; the site build takes it when its cells are the repository's and executes
  the notebook itself when they are not;
- an explorer carries its figure's PNG beside its widget (what a page without a kernel shows);
- the launch buttons follow ``[tool.defocus-lab.site]`` of ``pyproject.toml``;
- Binder has what it needs: ``environment.yml`` covers the package's dependencies and the docs
  extra, ``postBuild`` installs the package and warms the numba cache.
"""
import base64
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

from executed_notebooks import META, current, source_digest, stamp

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def build_site():
    return _load(ROOT / "docs" / "build_site.py", "build_site")


@pytest.fixture(scope="module")
def conf():
    return _load(ROOT / "docs" / "conf.py", "site_conf")


def _notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a page")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


FIGURE = ("%matplotlib inline\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 1))\n"
          "ax.plot([0, 1])\nplt.show()")


def _nbval(path: Path, out: Path, tmp_path: Path):
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")]),
           "DEFOCUS_LAB_EXECUTED_DIR": str(out)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "executed_notebooks", "--nbval-lax", "-p",
                           "no:cacheprovider", "-q", "--rootdir", str(tmp_path), "-c", os.devnull, str(path)],
                          capture_output=True, text=True, cwd=tmp_path, env=env)


def test_nbval_keeps_the_executed_notebook(tmp_path):
    nb = _notebook(FIGURE, "print(6 * 7)")
    path = tmp_path / "good.ipynb"
    nbformat.write(nb, path)
    bad = _notebook("print('before')", "1 / 0")
    nbformat.write(bad, tmp_path / "bad.ipynb")
    out = tmp_path / "executed"
    run = _nbval(path, out, tmp_path)
    assert run.returncode == 0, run.stdout
    run_bad = _nbval(tmp_path / "bad.ipynb", out, tmp_path)
    assert run_bad.returncode == 1
    kept = json.loads((out / "good.ipynb").read_text())
    assert not (out / "bad.ipynb").exists(), "a notebook with a failed cell must not be kept"
    code = [c for c in kept["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == [1, 2]
    assert any("image/png" in o.get("data", {}) for o in code[0]["outputs"])
    assert code[1]["outputs"][0]["text"] == "42\n"
    assert kept["metadata"][META]["source_sha256"] == source_digest(json.loads(path.read_text()))


def test_the_site_takes_kept_notebooks_and_executes_changed_ones(tmp_path, build_site):
    path = tmp_path / "page.ipynb"
    nbformat.write(_notebook("print('fresh')"), path)
    store = tmp_path / "executed"
    store.mkdir()
    kept = json.loads(path.read_text())
    kept["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "kept\n"}]
    stamp(kept, "nbval (make test)")
    (store / "page.ipynb").write_text(json.dumps(kept))
    said = []
    nb = build_site.executed(path, store, log=said.append)
    assert nb["cells"][1]["outputs"][0]["text"] == "kept\n" and "same cells" in said[0]
    # run with other code (or without the data where the build has it): stale
    assert current(kept, json.loads(path.read_text()))
    other = json.loads(json.dumps(kept))
    other["metadata"][META]["package_sha256"] = "0" * 64
    assert not current(other, json.loads(path.read_text()))
    other = json.loads(json.dumps(kept))
    other["metadata"][META]["data"] = not kept["metadata"][META]["data"]
    assert not current(other, json.loads(path.read_text()))
    # a changed cell: the kept copy is stale, the notebook is executed (and kept in its place)
    nbformat.write(_notebook("print('changed')"), path)
    nb = build_site.executed(path, store, log=said.append)
    assert "".join(nb["cells"][1]["outputs"][0]["text"]) == "changed\n"
    assert json.loads((store / "page.ipynb").read_text())["metadata"][META]["executed_by"] == "nbclient (make site)"


def test_figure_count(build_site):
    png = {"output_type": "display_data", "data": {"image/png": "iVBO", "text/plain": "<Figure>"}, "metadata": {}}
    explorer = {"output_type": "display_data", "metadata": {},
                "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "image/png": "iVBO",
                         "text/plain": "<Explorer>"}}
    text = {"output_type": "stream", "name": "stdout", "text": "hi"}
    nb = {"cells": [{"cell_type": "code", "outputs": [png, text, explorer]}, {"cell_type": "markdown", "source": ""}]}
    assert build_site.figure_count(nb) == 2
    assert build_site.figure_png(nb) == build_site.figure_png(nb, 5) == base64.b64decode("iVBO")


def test_the_page_drops_widgets_without_a_static_form(build_site):
    bar = {"output_type": "display_data", "metadata": {},
           "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "b"}, "text/plain": "  0%|          | 0/4"}}
    picker = {"output_type": "display_data", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "p"}, "text/plain": "photo picker",
                       "text/html": "<p>Photo: coffee</p>"}}
    text = {"output_type": "stream", "name": "stdout", "text": "done"}
    nb = {"cells": [{"cell_type": "code", "outputs": [bar, picker, text]}],
          "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}, "kernelspec": {}}}
    page = build_site.for_the_page(nb)
    assert page["cells"][0]["outputs"] == [picker, text] and page["metadata"] == {"kernelspec": {}}


def test_the_photo_picker_says_its_photo_without_a_kernel():
    from defocus_lab.ui.base import PhotoPicker
    bundle = PhotoPicker(["coffee"])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "photo picker: coffee, 600x400 px" and "<b>coffee</b>, 600x400 px" in bundle["text/html"]


def test_an_explorer_shows_its_figure_without_a_kernel():
    from defocus_lab.ui import zhuo_sim
    explorer = zhuo_sim.CocExplorer()
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the lab draws the widget
    assert bundle["image/png"] == explorer.output.outputs[0]["data"]["image/png"]  # a page, its figure
    assert bundle["text/plain"] == "<CocExplorer: zhuo2011-coc>"


def test_launch_buttons_follow_the_configured_repository(conf):
    assert conf.launch_options({}) == {} and conf.launch_options({"repository_url": " "}) == {}
    opts = conf.launch_options({"repository_url": "https://github.com/owner/defocus_lab", "branch": "dev",
                                "jupyterhub_url": "https://hub.example.org"})
    assert opts["repository_url"] == "https://github.com/owner/defocus_lab" and opts["repository_branch"] == "dev"
    # the notebook pages' sources are notebooks/<name>.ipynb of the repository itself
    assert opts["path_to_docs"] == ""
    assert opts["launch_buttons"] == {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab",
                                      "jupyterhub_url": "https://hub.example.org"}
    settings = conf.site_settings()
    assert set(settings) == {"repository_url", "branch", "binderhub_url", "jupyterhub_url"}


def _names(requirements):
    return {re.split(r"[\[<>=!~ ]", r.strip(), maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_binder_builds_what_the_package_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = _names(project["dependencies"]) | _names(project["optional-dependencies"]["docs"])
    text = (ROOT / "environment.yml").read_text()
    listed = {m.group(1).lower().replace("_", "-")
              for m in re.finditer(r"^\s*-\s+([A-Za-z0-9_.\-]+)", text, flags=re.M)}
    conda_names = {"torch": "pytorch"}
    missing = sorted(n for n in needed if conda_names.get(n, n) not in listed)
    assert not missing, f"environment.yml lacks {missing} (Binder builds the lab from it)"
    post = ROOT / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable (Binder runs it as a program)"
    script = post.read_text()
    assert "pip install --no-deps -e ." in script and "defocus-lab warmup" in script


def _tiny_site(tmp_path, index: str, repo: Path = ROOT, notebooks=()):
    """A small site with the lab's Sphinx configuration: ``index.rst`` with ``index`` below its
    title and the given notebooks under ``notebooks/``, built with ``repo`` as the repository
    (its pyproject's site settings); returns (exit status, output, the built folder)."""
    import shutil
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "conf.py", src / "conf.py")
    shutil.copytree(ROOT / "docs" / "_static", src / "_static")
    (src / "index.rst").write_text("A page\n======\n\n" + index + "\n")
    for name, nb in notebooks:
        nbformat.write(nb, src / "notebooks" / f"{name}.ipynb")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src), str(out)],
                         capture_output=True, text=True, env={**os.environ, "DEFOCUS_LAB_SITE_REPO": str(repo)})
    return run.returncode, run.stdout + run.stderr, out


def test_a_broken_reference_fails_the_build_and_a_helper_is_shown_as_code(tmp_path):
    # a helper that exists but is not in the API reference: shown as code, the build passes
    status, out, _ = _tiny_site(tmp_path / "a", ":func:`defocus_lab.propagate.matting.solve_downsample` and "
                                ":class:`numpy.ndarray`")
    assert status == 0, out
    # a name that exists nowhere (a typo, a renamed function): the build fails and says which
    status, out, _ = _tiny_site(tmp_path / "b", ":func:`defocus_lab.propagate.matting.solve_downsampel`")
    assert status != 0 and "solve_downsampel" in out


def test_the_launch_buttons_appear_on_notebook_pages_when_configured(tmp_path):
    """A one-page site whose pyproject names a repository: its notebook page links Binder to the
    notebook in the repository (the configured branch, JupyterLab), and JupyterHub when set."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[tool.defocus-lab.site]\nrepository_url = "https://github.com/owner/lab"\n'
                                         'branch = "dev"\njupyterhub_url = "https://hub.example.org"\n')
    status, out, built = _tiny_site(tmp_path, ".. toctree::\n\n   notebooks/demo", repo=repo,
                                    notebooks=[("demo", _notebook("print(1)"))])
    assert status == 0, out
    page = (built / "notebooks" / "demo.html").read_text()
    assert "https://mybinder.org/v2/gh/owner/lab/dev?urlpath=lab/tree/notebooks/demo.ipynb" in page
    assert "https://hub.example.org/hub/user-redirect/git-pull?" in page
    assert "_sources/notebooks/demo.ipynb" in page  # the download
