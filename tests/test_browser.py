"""A real browser check: JupyterLab renders the plan explorer of notebook 02 and it reacts to a slider.

Starts ``jupyter lab`` (quick mode) on a free port, drives Debian's chromium through Playwright
(headless), runs all cells of ``02_transport_plan_explorer.ipynb``, reads the explorer's readout and the
plan heatmap's data, moves the ``eps`` slider with the keyboard and checks both changed. Skipped with a
reason when chromium or playwright is missing. Marker: ``browser``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("GCA_LAB_CHROMIUM", "/usr/bin/chromium"))
NOTEBOOK = "02_transport_plan_explorer.ipynb"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def lab_url():
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (set GCA_LAB_CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists() and shutil.which("jupyter") is None:
        pytest.skip("jupyter is not installed")
    port = _free_port()
    env = {**os.environ, "GCA_LAB_QUICK": "1"}
    env.pop("MPLBACKEND", None)
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [str(jupyter if jupyter.exists() else "jupyter"), "lab", "--allow-root", "--no-browser",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/lab", proc, 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


READ_STATE = """() => {
  const r = document.querySelector('.gca-readout');
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  let z = null;
  for (const p of plots) {
    if (p.data && p.data.length === 3 && p.data[1].type === 'heatmap') {
      z = p.data[1].z; break;
    }
  }
  let sum = null, diag = null;
  if (z) {
    sum = 0; diag = 0;
    for (let i = 0; i < z.length; i++) { for (let j = 0; j < z[i].length; j++) sum += z[i][j]; diag += z[i][i]; }
  }
  return {readout: r ? r.innerText : null, sum: sum, diag: diag};
}"""


def test_plan_explorer_reacts_in_a_real_browser(lab_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="gca-chromium-") as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="attached")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
            time.sleep(1.0)
            dialog = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
            if dialog.count():  # "Select Kernel" on a fresh profile: accept the notebook's kernel
                dialog.first.click()
            page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
            page.wait_for_selector(".gca-readout", state="attached")
            page.wait_for_function("() => { const r = document.querySelector('.gca-readout');"
                                   " return r && r.innerText.includes('plan checksum'); }")
            # all cells done: the kernel is idle again
            page.wait_for_function(
                "() => document.querySelector(\".jp-Notebook-ExecutionIndicator[data-status='idle']\") !== null"
                " && document.querySelectorAll('.jp-InputArea-prompt').length > 0"
                " && !Array.from(document.querySelectorAll('.jp-InputArea-prompt')).some(e => e.innerText.includes('*'))")
            before = page.evaluate(READ_STATE)
            assert before["readout"] and "plan checksum" in before["readout"]
            handle = page.locator(".widget-slider [role=slider]").first
            handle.scroll_into_view_if_needed()
            handle.focus()
            page.keyboard.press("End")  # eps to its maximum (2.0): a much flatter plan
            page.wait_for_function(
                "(old) => { const r = document.querySelector('.gca-readout');"
                " return r && r.innerText.includes('plan checksum') && r.innerText !== old; }",
                arg=before["readout"], timeout=30_000,
            )
            after = page.evaluate(READ_STATE)
            assert after["readout"] != before["readout"]
            if before["diag"] is not None:  # the heatmap itself changed: less mass on the diagonal
                page.wait_for_function(f"() => ({READ_STATE})().diag < {before['diag']} - 1e-9", timeout=15_000)
        except Exception:
            shot = Path(tempfile.gettempdir()) / "gca_lab_browser_failure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}")
            raise
        finally:
            ctx.close()
