"""The course in a real browser: JupyterLab opens the chapters, runs them, renders the
equations, figures and widgets, and the playground's learning-rate slider redraws its figure.

Needs Debian's Chromium (``apt-get install chromium``) and Playwright's Python package
(``pip install -e '.[browser]'``); Playwright's own browser download is not used. Without
them the test skips and says so. Screenshots land in ``tests/_browser_output/``.
Run it alone with ``pytest -m browser``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.browser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_browser_output")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = [
    "notebooks/index.ipynb",
    "notebooks/playground.ipynb",
    "notebooks/00_orientation.ipynb",
    "notebooks/03_momentum.ipynb",
    "notebooks/06_adam.ipynb",
]
HOW_TO_ENABLE = (
    "the browser test needs Debian's Chromium and Playwright's Python package: "
    "`apt-get install chromium` and `pip install -e '.[browser]'`"
)

# Counts, from the live page, what the test asserts on. Reads the notebook model for the
# outputs (errors, widget views) and the DOM for what actually rendered.
STATE_JS = r"""() => {
  const app = window.jupyterapp;
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!app || !panel) return null;
  const widget = app.shell.currentWidget;
  let kernel = null;
  try { kernel = widget.sessionContext.session.kernel; } catch (e) {}
  if (kernel && !kernel.__counter) {
    const c = kernel.__counter = {sent: 0, replies: 0};
    kernel.anyMessage.connect((_, a) => {
      const t = a.msg && a.msg.header && a.msg.header.msg_type;
      if (a.direction === 'send' && t === 'execute_request') c.sent++;
      if (a.direction === 'recv' && t === 'execute_reply') c.replies++;
    });
  }
  const counter = kernel && kernel.__counter ? kernel.__counter : {sent: -1, replies: -1};
  let errors = [], widgets = 0, code = 0;
  for (const cell of widget.content.model.toJSON().cells) {
    const src = Array.isArray(cell.source) ? cell.source.join('') : (cell.source || '');
    if (cell.cell_type === 'code' && src.trim()) code++;
    for (const o of (cell.outputs || [])) {
      if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
      if (o.data && o.data['application/vnd.jupyter.widget-view+json']) widgets++;
    }
  }
  const rendered = [...panel.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets')]
      .filter(e => !/Error displaying widget|Loading widget/.test(e.textContent)).length;
  const fallback = [...panel.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')]
      .filter(e => /^[A-Z][A-Za-z]*(Box|Slider|Widget|Output|Dropdown)\(/.test(e.textContent.trim())).length;
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent);
  const images = [...panel.querySelectorAll('.jp-OutputArea img')];
  const mathSource = [...panel.querySelectorAll('.jp-RenderedMarkdown')]
      .filter(e => /\$/.test(e.textContent) && !e.querySelector('mjx-container')).length;
  return {
    kernel: kernel ? kernel.status : 'none', sent: counter.sent, replies: counter.replies,
    busy: prompts.filter(p => p.includes('*')).length, code, errors, widgets, rendered, fallback,
    images: images.length, imagesPending: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    math: panel.querySelectorAll('mjx-container').length,
    mathErrors: panel.querySelectorAll('mjx-merror, .MathJax_Error').length,
    mathPending: mathSource,
    sliders: panel.querySelectorAll('.widget-slider').length,
  };
}"""


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a loopback port, with a throw-away home and settings."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found; {HOW_TO_ENABLE}")
    pytest.importorskip("playwright", reason=HOW_TO_ENABLE)
    pytest.importorskip("jupyterlab", reason="the browser test needs JupyterLab (the [lab] extra)")
    home = tmp_path_factory.mktemp("lab-home")
    settings = home / "settings"
    for ext, value in [
        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension/tracker", {"windowingMode": "none"}),
        ("docmanager-extension/plugin", {"autosave": False}),
    ]:
        path = settings / "@jupyterlab" / f"{ext}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    env = dict(
        os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "mpl"), PYTHONDONTWRITEBYTECODE="1",
    )
    port = _free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", "--ServerApp.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={ROOT}",
        "--LabApp.expose_app_in_browser=True", "--ServerApp.jpserver_extensions={'jupyter_lsp': False}",
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "server.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{url}/lab", timeout=2).status == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-3000:])
        time.sleep(0.5)
    os.makedirs(OUTPUT, exist_ok=True)
    try:
        yield url, home
    finally:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/shutdown", method="POST", data=b""), timeout=5)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    _, home = lab
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(home / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"],
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def _state(page):
    return page.evaluate(STATE_JS)


def _wait(page, predicate, timeout, stable=3):
    end, hits, st = time.time() + timeout, 0, None
    while time.time() < end:
        st = _state(page)
        hits = hits + 1 if st is not None and predicate(st) else 0
        if hits >= stable:
            return st
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting; last state: {st}")


def _screenshot(page, name):
    """A full-height screenshot of the notebook panel."""
    height = page.evaluate("""() => {
      const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
             || document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
      return p ? p.scrollHeight : 900; }""")
    page.set_viewport_size({"width": 1280, "height": max(900, min(16000, height + 120))})
    page.wait_for_timeout(500)
    page.evaluate("""() => {
      const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
      if (p) p.scrollTop = 0; }""")  # from the top: Run All leaves the view at the last cell
    page.wait_for_timeout(300)
    path = os.path.join(OUTPUT, name)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    return path


def _open_and_run(browser, lab, notebook):
    url, _ = lab
    page = browser.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))
    # ?reset: an empty workspace, so no tab restored from an earlier page takes the focus
    page.goto(f"{url}/lab/tree/{notebook}?reset", wait_until="load", timeout=90_000)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=90_000)
    _wait(page, lambda s: s["kernel"] == "idle", 120, stable=2)
    before_run = len(console_errors)
    st = _state(page)
    for _ in range(3):  # the command acts on the active notebook: activate it, run, check it ran
        page.evaluate("""() => {
          const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
          window.jupyterapp.shell.activateById(p.id);
          return window.jupyterapp.commands.execute('notebook:run-all-cells'); }""")
        if not st["code"]:
            break
        try:
            st = _wait(page, lambda s: s["sent"] > 0, 15, stable=1)
            break
        except AssertionError:
            continue
    if st["code"]:
        st = _wait(page, lambda s: s["sent"] > 0 and s["sent"] == s["replies"] and s["busy"] == 0
                   and s["kernel"] == "idle", 240)
    st = _wait(page, lambda s: s["imagesPending"] == 0 and s["mathPending"] == 0
               and s["rendered"] >= s["widgets"], 90)
    return page, st, console_errors[before_run:]


# JupyterLab's own background requests that fail on a machine without internet access; they
# are not produced by the course's outputs.
INFRASTRUCTURE = ("Failed to load resource", "lab/api/news", "favicon", "ERR_INTERNET_DISCONNECTED",
                  "net::ERR_", "/api/workspaces", "translations")


@pytest.mark.parametrize("notebook", PAGES)
def test_notebook_runs_and_renders_in_jupyterlab(browser, lab, notebook):
    if not os.path.exists(os.path.join(ROOT, notebook)):
        pytest.fail(f"{notebook} does not exist")
    page, st, console = _open_and_run(browser, lab, notebook)
    try:
        shot = _screenshot(page, os.path.basename(notebook).replace(".ipynb", ".png"))
        assert st["errors"] == [], f"error outputs in {notebook}: {st['errors']}"
        assert st["mathErrors"] == 0, f"MathJax errors in {notebook}"
        assert st["fallback"] == 0, f"widgets shown as text in {notebook}"
        assert st["rendered"] >= st["widgets"]
        if notebook != "notebooks/index.ipynb":
            assert st["images"] > 0, f"no figure rendered in {notebook} (screenshot: {shot})"
        own = [m for m in console if not any(s in m for s in INFRASTRUCTURE)]
        assert own == [], f"JavaScript console errors in {notebook}: {own}"
    finally:
        page.close()


def test_playground_slider_redraws_the_landscape(browser, lab):
    page, st, _ = _open_and_run(browser, lab, "notebooks/playground.ipynb")
    try:
        assert st["sliders"] > 0, "the playground shows no slider"
        assert st["widgets"] > 0 and st["rendered"] >= st["widgets"]
        first_widget = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output > .jupyter-widgets >> nth=0"
        widget = page.locator(first_widget)
        image = widget.locator("img").first
        before = image.get_attribute("src")
        slider = widget.locator(".widget-slider").first
        slider.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        readout_before = slider.locator(".widget-readout").inner_text()
        handle = slider.locator(".noUi-handle").first
        track = slider.locator(".noUi-target").first
        hb, tb = handle.bounding_box(), track.bounding_box()
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        page.mouse.down()
        page.mouse.move(tb["x"] + 0.25 * tb["width"], hb["y"] + hb["height"] / 2, steps=10)
        page.mouse.up()
        deadline = time.time() + 30
        after = before
        while time.time() < deadline and after == before:
            page.wait_for_timeout(250)
            after = widget.locator("img").first.get_attribute("src")
        _screenshot(page, "playground-after-slider.png")
        readout_after = slider.locator(".widget-readout").inner_text()
        assert readout_after != readout_before, "the learning-rate slider did not move"
        assert after != before, "moving the learning-rate slider did not redraw the landscape"
    finally:
        page.close()
