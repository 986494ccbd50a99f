"""A real browser check: JupyterLab renders every notebook after Run All, and every explorer reacts.

Every notebook (01-13) is run with "Run All"; each output with a figure, a table or a widget is then
screenshotted into the printed folder (``<notebook>_<k>.png``), and every figure image must be shown
at its own size: an image the browser shrinks to the cell's width (its text then smaller than the
figure check assumed, gca_lab.viz.figure_problems) fails the test, and so does an error output.

Starts ``jupyter lab`` (quick mode) on a free port, drives Debian's chromium through Playwright
(headless), runs all cells of each explorer notebook, reads the explorer's readout or status line (and, for
the plan explorer, the plan heatmap's data), moves the explorer's first slider with the keyboard and checks
that they changed. A screenshot of each explorer is saved after "Run All" and after the slider move into
``$GCA_LAB_SCREENSHOTS`` (default: a folder under pytest's temporary directory); the folder is printed
(``pytest -s`` shows it). The training playground (notebook 13) is driven further: Train, its curves growing
epoch by epoch, Stop, a second run on the same axes (``-k 13`` runs it alone). Skipped with a reason when
chromium or playwright is missing. Marker: ``browser``.
"""

from __future__ import annotations

import contextlib
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
#: (notebook, short name, the CSS selector of the text that changes when the explorer redraws)
EXPLORERS = [
    ("02_transport_plan_explorer.ipynb", "plan_explorer", ".gca-readout"),
    ("03_unbalanced_ot_and_noisy_views.ipynb", "noisy_views_explorer", ".gca-status"),
    ("04_alignment_and_uniformity_on_the_sphere.ipynb", "sphere_explorer", ".gca-status"),
]
RUN_ALL_TIMEOUT_MS = 600_000  # the machine may be loaded: training the sphere toy alone can take minutes
VIEWPORT = {"width": 1400, "height": 2000}  # tall enough for a whole explorer in one element screenshot
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


READ_PLAN = """(cell) => {
  const plots = Array.from(cell.querySelectorAll('.js-plotly-plot'));
  for (const p of plots) {
    if (p.data && p.data.length === 3 && p.data[1].type === 'heatmap') {
      const z = p.data[1].z;
      let diag = 0;
      for (let i = 0; i < z.length; i++) diag += z[i][i];
      return diag;
    }
  }
  return null;
}"""

ALL_CELLS_DONE = (
    "() => document.querySelector(\".jp-Notebook-ExecutionIndicator[data-status='idle']\") !== null"
    " && document.querySelectorAll('.jp-InputArea-prompt').length > 0"
    " && !Array.from(document.querySelectorAll('.jp-InputArea-prompt')).some(e => e.innerText.includes('*'))"
)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    folder = os.environ.get("GCA_LAB_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("notebook_screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nnotebook screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def browser_context():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="gca-chromium-") as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT,
        )
        try:
            yield ctx
        finally:
            ctx.close()


RUN_STARTED = (
    "() => Array.from(document.querySelectorAll('.jp-InputArea-prompt'))"
    ".some(e => /\\[(\\*|\\d+)\\]/.test(e.innerText))"
)


def _run_all(page, url: str) -> None:
    """Open ``url`` in a fresh workspace (``?reset``: no tabs restored from an earlier notebook) and run all
    cells; the click is repeated if no cell has started a minute later (a kernel still starting)."""
    page.goto(url + "?reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="attached")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
    time.sleep(1.0)
    for attempt in range(3):
        dialog = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
        if dialog.count():  # "Select Kernel" on a fresh profile: accept the notebook's kernel
            dialog.first.click()
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            page.wait_for_function(RUN_STARTED, timeout=60_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the menu again
            if attempt == 2:
                raise


READ_IMAGES = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output img')).map(
  img => ({natural: img.naturalWidth, shown: img.getBoundingClientRect().width}))"""


def _screenshot_outputs(page, screenshots: Path, stem: str) -> list[Path]:
    """Screenshot every output wrapper that holds a figure, a table, rendered Markdown or a widget, in
    notebook order, after scrolling it into view (JupyterLab renders cells lazily)."""
    saved = []
    page.add_style_tag(content=".Toastify { display: none !important; }")  # JupyterLab's news toast
    wrappers = page.locator(".jp-Cell-outputWrapper")
    for i in range(wrappers.count()):
        wrapper = wrappers.nth(i)
        wrapper.scroll_into_view_if_needed()
        has = wrapper.locator("img, table, .js-plotly-plot, .widget-slider, .jp-RenderedMarkdown")
        if not has.count() or not wrapper.is_visible():
            continue
        time.sleep(0.3)
        path = screenshots / f"{stem}_{len(saved) + 1:02d}.png"
        wrapper.screenshot(path=str(path))
        saved.append(path)
    return saved


def _assert_readable(page, name: str) -> None:
    """No error output, and every figure shown at its natural width (no shrinking at 100 % zoom)."""
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    assert errors.count() == 0, f"{name}: an error output after Run All: {errors.first.inner_text()[:2000]}"
    for image in page.evaluate(READ_IMAGES):
        assert image["shown"] >= image["natural"] - 1, f"{name}: a figure shrunk to fit the cell: {image}"


@contextlib.contextmanager
def _page(browser_context, screenshots: Path, stem: str):
    """A new page; on a failure, a full-page screenshot ``<stem>_failure.png`` (its path printed)."""
    page = browser_context.new_page()
    page.set_default_timeout(120_000)
    try:
        yield page
    except Exception:
        shot = screenshots / f"{stem}_failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of the failure: {shot}")
        raise
    finally:
        page.close()


def _text(locator) -> str:
    return locator.inner_text(timeout=30_000).strip()


def _wait_text_change(locator, old: str, timeout_s: float) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        new = _text(locator)
        if new and new != old:
            return new
        time.sleep(0.5)
    raise TimeoutError(f"the explorer's text stayed {old!r} for {timeout_s} s after the slider move")


@pytest.mark.parametrize("notebook, name, marker", EXPLORERS, ids=[e[1] for e in EXPLORERS])
def test_explorer_reacts_in_a_real_browser(lab_url, browser_context, screenshots, notebook, name, marker):
    with _page(browser_context, screenshots, name) as page:
        _run_all(page, f"{lab_url}/lab/tree/{notebook}")
        page.wait_for_selector(marker, state="attached", timeout=RUN_ALL_TIMEOUT_MS)
        page.wait_for_function(ALL_CELLS_DONE, timeout=RUN_ALL_TIMEOUT_MS)
        _assert_readable(page, name)
        cell = page.locator(".jp-Cell").filter(has=page.locator(marker)).first
        text = cell.locator(marker).first
        before = _text(text)
        assert before, f"{name}: the explorer shows no {marker} text after Run All"
        if name == "plan_explorer":
            assert "plan checksum" in before
        output = cell.locator(".jp-Cell-outputWrapper")
        output.scroll_into_view_if_needed()
        time.sleep(1.5)  # let plotly finish drawing
        output.screenshot(path=str(screenshots / f"{name}_after_run_all.png"))
        diag_before = cell.evaluate(READ_PLAN) if name == "plan_explorer" else None
        handle = cell.locator(".widget-slider [role=slider]").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("End")  # the first slider to its maximum (eps 2.0, 90 % corrupted, last snapshot)
        after = _wait_text_change(text, before, 120)
        assert after != before
        if diag_before is not None:  # the heatmap itself changed: a flatter plan, less mass on the diagonal
            deadline = time.time() + 30
            while cell.evaluate(READ_PLAN) >= diag_before - 1e-9 and time.time() < deadline:
                time.sleep(0.5)
            assert cell.evaluate(READ_PLAN) < diag_before - 1e-9
        output.scroll_into_view_if_needed()
        time.sleep(1.5)
        output.screenshot(path=str(screenshots / f"{name}_after_slider.png"))
        # then every output of the notebook (scrolling the page re-renders the explorer: it comes last)
        _screenshot_outputs(page, screenshots, notebook.removesuffix(".ipynb"))


# -- the training playground (notebook 13): train, watch, stop, compare ---------------------------------

PLAYGROUND_NOTEBOOK = "13_training_playground.ipynb"

READ_RUNS = """(cell) => {
  const plots = Array.from(cell.querySelectorAll('.js-plotly-plot'));
  for (const p of plots) {
    if (p.data && p.layout && p.layout.xaxis2) {
      return p.data.filter(t => (t.xaxis || 'x') === 'x')
                   .map(t => ({name: t.name, n: (t.x || []).length, y: Array.from(t.y || [])}));
    }
  }
  return null;
}"""


def _runs(cell) -> list[dict]:
    runs = cell.evaluate(READ_RUNS)
    assert runs is not None, "the playground's loss/accuracy figure is not in the page"
    return runs


def _wait_for(predicate, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(f"waited {timeout_s} s for {what}")


def test_notebook_13_playground_trains_stops_and_compares_in_a_real_browser(lab_url, browser_context, screenshots):
    """Run All (a one-epoch demo run), press Train and watch the new run's curves grow epoch by epoch while
    it trains, press Stop (the run ends after its epoch, its partial curve stays), switch to INCE with 3
    epochs and train again: the figure holds the stopped run and the finished one, named by their settings."""
    with _page(browser_context, screenshots, "playground") as page:
        _run_all(page, f"{lab_url}/lab/tree/{PLAYGROUND_NOTEBOOK}")
        page.wait_for_selector(".gca-train", state="attached", timeout=RUN_ALL_TIMEOUT_MS)
        page.wait_for_function(ALL_CELLS_DONE, timeout=RUN_ALL_TIMEOUT_MS)
        _assert_readable(page, "playground")
        cell = page.locator(".jp-Cell").filter(has=page.locator(".gca-train")).first
        status = cell.locator(".gca-status").first
        output = cell.locator(".jp-Cell-outputWrapper")
        _wait_for(lambda: "1 run(s) on the axes" in _text(status), 60, "the demo run in the status line")
        demo = _runs(cell)
        assert len(demo) == 1 and demo[0]["n"] == 1, demo  # the notebook's one-epoch demo run
        output.scroll_into_view_if_needed()
        time.sleep(1.5)
        output.screenshot(path=str(screenshots / "playground_after_run_all.png"))

        # a second run (GCA-UOT, 10 epochs): the curves must grow while it trains
        cell.locator(".gca-train").click()
        seen = _wait_for(lambda: (lambda r: len(r) == 2 and r[1]["n"] >= 1 and r)(_runs(cell)), 180,
                         "the first epoch of run 2 on the axes")
        assert "epoch" in _text(status) and "finished" not in _text(status)
        grown = _wait_for(lambda: (lambda r: r[1]["n"] > seen[1]["n"] and r)(_runs(cell)), 120,
                          "a later epoch of run 2 on the axes")
        live_status = _text(status)
        assert "finished" not in live_status and "stopped" not in live_status, live_status  # still training
        output.screenshot(path=str(screenshots / "playground_while_training.png"))
        cell.locator(".gca-stop").click()
        stopped = _wait_for(lambda: "stopped after" in _text(status) and _text(status), 120, "the stop")
        n_stopped = _runs(cell)[1]["n"]
        assert grown[1]["n"] <= n_stopped < 10, (grown, n_stopped)
        assert f"stopped after {n_stopped} of 10 epochs" in stopped and "2 run(s) on the axes" in stopped
        assert _runs(cell)[1]["name"].endswith(f"(stopped: {n_stopped} of 10 ep.)")  # the legend says so too

        # a third run: INCE, 3 epochs (the epochs slider moved with the keyboard), trained to the end
        cell.locator("select").first.select_option(label="INCE")
        epochs = cell.locator(".widget-slider", has_text="epochs").locator("[role=slider]").first
        epochs.focus()
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        time.sleep(1.0)  # let the slider value reach the kernel before the click
        cell.locator(".gca-train").click()
        done = _wait_for(lambda: "3 run(s) on the axes" in _text(status) and _text(status), 240, "run 3 to finish")
        assert "finished 3 epochs" in done and "INCE" in done, done
        runs = _runs(cell)
        assert [r["n"] for r in runs] == [1, n_stopped, 3], runs
        assert runs[1]["name"].startswith("#2 GCA-UOT") and "rounds=10" in runs[1]["name"]
        assert runs[2]["name"].startswith("#3 INCE eps=0.5"), runs[2]["name"]
        assert all(all(isinstance(v, (int, float)) for v in r["y"]) for r in runs)  # finite losses drawn
        output.scroll_into_view_if_needed()
        time.sleep(1.5)
        output.screenshot(path=str(screenshots / "playground_three_runs.png"))
        _screenshot_outputs(page, screenshots, PLAYGROUND_NOTEBOOK.removesuffix(".ipynb"))


# -- every other notebook: Run All, no error, figures unshrunk, screenshots ------------------------------

OTHER_NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
                         if p.name not in {e[0] for e in EXPLORERS} | {PLAYGROUND_NOTEBOOK})


@pytest.mark.parametrize("notebook", OTHER_NOTEBOOKS, ids=[n[:2] for n in OTHER_NOTEBOOKS])
def test_notebook_runs_all_in_a_real_browser(lab_url, browser_context, screenshots, notebook):
    """Notebook 01 and the figure notebooks (05-12, quick mode: they load or compute their quick results)."""
    stem = notebook.removesuffix(".ipynb")
    with _page(browser_context, screenshots, stem) as page:
        _run_all(page, f"{lab_url}/lab/tree/{notebook}")
        page.wait_for_function(ALL_CELLS_DONE, timeout=RUN_ALL_TIMEOUT_MS)
        time.sleep(1.0)
        _assert_readable(page, stem)
        assert _screenshot_outputs(page, screenshots, stem), f"{stem}: no figure or table after Run All"
