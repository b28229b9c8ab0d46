# JupyterLab settings for `make lab` (passed with --config): the lab's own notebooks are saved
# without outputs, so that running them does not change the checkout (defocus_lab/labserver.py).
# The module is loaded by its path: importing the package would load numba and torch into the
# server for nothing.
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "defocus_lab_labserver", Path(__file__).resolve().parent / "defocus_lab" / "labserver.py")
_labserver = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_labserver)

c = get_config()  # noqa: F821 (provided by Jupyter when it reads this file)
c.FileContentsManager.pre_save_hook = _labserver.strip_outputs
