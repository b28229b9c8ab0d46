"""Sphinx configuration of the lab's static site (``make site``; ``docs/build_site.py`` stages
the sources and runs Sphinx with warnings as errors).

The site is built offline: myst-nb renders the notebooks already executed (execution is off
here; ``build_site.py`` gives them executed), sphinx-book-theme ships its own assets, MathJax
comes from the ``sphinx-mathjax-offline`` package and the widgets' JavaScript is not loaded (an
explorer is shown by the PNG of its default figure, which :class:`defocus_lab.ui.Explorer` puts
beside its widget).

Launch buttons (Binder, JupyterHub) appear when a repository URL is configured, in one place:
``[tool.defocus-lab.site]`` in ``pyproject.toml`` (see :func:`launch_options`).
"""
from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# the staged sources (build/site-src, or wherever --src put them): build_site.py names the
# repository in DEFOCUS_LAB_SITE_REPO; else the first folder above with the project's pyproject.toml
_named = os.environ.get("DEFOCUS_LAB_SITE_REPO")
REPO = Path(_named) if _named else next((p for p in [ROOT, *ROOT.parents] if (p / "pyproject.toml").exists()), None)
if REPO is None or not (REPO / "pyproject.toml").exists():
    raise RuntimeError(f"cannot find the defocus_lab repository above {ROOT}: build the site with "
                       "`make site` (docs/build_site.py), which names it in DEFOCUS_LAB_SITE_REPO")
sys.path.insert(0, str(REPO))

import defocus_lab  # noqa: E402


def site_settings(pyproject: Path = REPO / "pyproject.toml") -> dict:
    """``[tool.defocus-lab.site]`` of ``pyproject.toml``: ``repository_url`` (the lab's public
    git repository, e.g. ``https://github.com/owner/defocus_lab``), ``branch`` (default
    ``main``), ``binderhub_url`` (default ``https://mybinder.org`` once a repository is set),
    ``jupyterhub_url`` (empty: no JupyterHub button)."""
    with open(pyproject, "rb") as f:
        return tomllib.load(f).get("tool", {}).get("defocus-lab", {}).get("site", {})


def launch_options(settings: dict) -> dict:
    """The theme options for the repository and launch buttons: none without a
    ``repository_url`` (a local build has nowhere to launch from), else the repository button,
    the Binder button (and JupyterHub's when ``jupyterhub_url`` is set) on every notebook page,
    opening ``notebooks/<name>.ipynb`` of ``branch``."""
    url = (settings.get("repository_url") or "").strip()
    if not url:
        return {}
    launch = {"binderhub_url": settings.get("binderhub_url", "https://mybinder.org"),
              "notebook_interface": "jupyterlab"}
    if settings.get("jupyterhub_url"):
        launch["jupyterhub_url"] = settings["jupyterhub_url"]
    return {"repository_url": url, "repository_branch": settings.get("branch", "main"),
            "path_to_docs": "", "use_repository_button": True, "launch_buttons": launch}


project = "defocus_lab"
author = "defocus_lab developers"
copyright = "defocus_lab developers"
version = release = defocus_lab.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_design",
]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
# Every cross-reference is checked (warnings are errors): one to a documented object links to
# it; one to a real object the reference does not document (a helper named in a docstring, a
# NumPy or torch class) is shown as code without a link (see _known_object); one to nothing that
# exists (a typo, a renamed function) fails the build.
nitpicky = True

# -- notebooks: given executed, shown as they ran -----------------------------------------------
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: explorers show their PNG
# a static page has no widget manager: every output is shown by its PNG or HTML, never as a
# widget view (which would be an empty box)
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# -- API reference --------------------------------------------------------------------------------
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- the page -------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "defocus_lab"
html_copy_source = True  # the .ipynb download of each notebook page
html_theme_options = {"use_download_button": True, "use_fullscreen_button": False,
                      "show_toc_level": 2, "home_page_in_toc": True,
                      **launch_options(site_settings())}
html_last_updated_fmt = None
html_static_path = ["_static"]
html_css_files = ["site.css"]
# a light page by default (the theme otherwise logs an error for an unset mode on first visit)
html_context = {"default_mode": "light"}


def _importable(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or an attribute path inside one, that imports here."""
    import importlib
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for name in parts[i:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


def _known_object(app, env, node, contnode):
    """``missing-reference``: a Python reference to an object that exists but is not in the API
    reference is rendered as its code text; anything else is left to fail the build."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module:
        # the page's module, or the module of it where the documented object lives (a package
        # page documents objects its submodules define, and their docstrings name neighbours)
        candidates += [f"{module}.{target}"] + ([f"{module}.{cls}.{target}"] if cls else [])
        candidates += [f"{m}.{target}" for m in list(sys.modules) if m.startswith(module + ".")]
    return contnode if any(_importable(c) for c in candidates) else None


def setup(app):
    app.connect("missing-reference", _known_object)
