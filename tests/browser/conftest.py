import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab_dir(tmp_path_factory):
    """The folder the lab serves: copies of the repository's notebooks (a failing strip-on-save
    must not dirty the checkout; the test compares the saved copies with the originals)."""
    nb_dir = tmp_path_factory.mktemp("notebooks")
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(nb, nb_dir / nb.name)
    return nb_dir


def _lab_env(settings, results_cache):
    """The lab server's environment: this one, the lab's settings, and the results cache that
    ``make test`` gave the notebook stages (tests/conftest.py takes it out of the unit tests'
    environment), so that the kernels read the tables nbval's run of the same notebooks made."""
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    if results_cache:
        env["DEFOCUS_LAB_RESULTS_CACHE"] = results_cache
    return env


@pytest.fixture(scope="session")
def lab_url(tmp_path_factory, lab_dir, notebook_results_cache):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it with apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    port = _free_port()
    nb_dir = lab_dir
    # every cell rendered (JupyterLab 4 otherwise leaves cells out of view out of the page)
    settings = tmp_path_factory.mktemp("lab-settings")
    tracker = settings / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "get notified about Jupyter news?" toast over the screenshots
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / "jupyterlab.log", "w")
    proc = subprocess.Popen(
        [jupyter, "lab", f"--config={ROOT / 'jupyter_server_config.py'}", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.disable_check_xsrf=True", f"--notebook-dir={nb_dir}"],
        stdout=log, stderr=subprocess.STDOUT, env=_lab_env(settings, notebook_results_cache))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/api", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited; see {ARTIFACTS / 'jupyterlab.log'}")
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def page(lab_url):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield pg
        finally:
            browser.close()
