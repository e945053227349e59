"""The course website: lessons' cached outputs are fresh, the site builds from them without executing anything,
and every page works in a real headless Chromium (figures loaded, no broken internal link, no console error)."""
from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from prunerl.course.site import REPOSITORY
from prunerl.course.site.notebooks import colab_cell, lesson_sources, source_hash, stale_lessons, staleness
from prunerl.course.site.pages import exercise_track

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def test_lesson_outputs_are_fresh():
    stale = stale_lessons(ROOT)
    assert not stale, "run `prunerl site --execute` and commit lessons/*.ipynb:\n" + "\n".join(stale.values())


def test_staleness_names_the_changed_lesson(tmp_path):
    (tmp_path / "lessons").mkdir()
    py = tmp_path / "lessons" / "01_demo.py"
    py.write_text("# %%\nprint(1)\n")
    assert "01_demo.ipynb is missing" in staleness(py)
    meta = {"source_sha256": source_hash(py), "mode": "full", "seconds": 1.0}
    py.with_suffix(".ipynb").write_text(json.dumps({"cells": [], "metadata": {"prunerl": meta}}))
    assert stale_lessons(tmp_path) == {}
    py.write_text("# %%\nprint(2)\n")
    assert staleness(py) == "01_demo.py changed after 01_demo.ipynb was executed: its outputs are stale"
    py.write_text("# %%\r\nprint(1)\r\n")  # a Windows checkout of the same text is not a change
    assert stale_lessons(tmp_path) == {}
    py.write_text("# ---\n# jupyter:\n#   jupytext:\n#     format_version: '1.3'\n# ---\n# %%\nprint(1)\n")
    assert stale_lessons(tmp_path) == {}, "a header written by Jupyter's save is not a change of the lesson"


def test_site_command_check_fails_on_a_stale_lesson(tmp_path, capsys):
    from prunerl.cli import main

    (tmp_path / "lessons").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "lessons" / "03_x.py").write_text("# %%\n")
    assert main(["site", "--check", "--root", str(tmp_path)]) == 1
    assert "stale: 03_x.ipynb is missing" in capsys.readouterr().out
    assert main(["site", "--root", str(tmp_path / "nowhere")]) == 2


def test_every_lesson_has_the_colab_cell_and_badge():
    for py in lesson_sources(ROOT):
        text = py.read_text()
        assert colab_cell(REPOSITORY) in text, f"{py.name}: the Colab install cell is missing or changed"
        assert f"blob/main/lessons/{py.stem}.ipynb" in text, f"{py.name}: no Colab badge"
        first_code_cell = re.search(r"^# %%$", text, re.M).start()
        assert text.index(colab_cell(REPOSITORY)) == first_code_cell, f"{py.name}: the Colab cell must come first"


def test_colab_cell_does_nothing_off_colab():
    import sys

    namespace = {}
    exec(colab_cell(REPOSITORY).replace("# %%\n", ""), namespace)  # noqa: S102 - the lesson's own cell
    assert "subprocess" not in namespace and "google.colab" not in sys.modules


def test_exercise_pages_show_no_solution_or_test_code():
    for path in sorted((ROOT / "exercises").glob("ex*_*.ipynb")):
        nb = json.loads(path.read_text())
        _, body, tests, points, functions = exercise_track(path)
        assert tests >= 1 and points >= tests and functions >= 1, path.name
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade"):
                assert "".join(cell["source"]) not in body, f"{path.name}: a test cell is shown"


def test_jupyter_opens_lesson_scripts_as_notebooks(monkeypatch, tmp_path):
    from jupyterlab_server.settings_utils import _get_overrides

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(ROOT / ".jupyter"))
    overrides, error = _get_overrides(str(tmp_path))
    assert not error
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["python"] == "Jupytext Notebook"

    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    config = load_jupytext_configuration_file(find_jupytext_configuration_file(str(ROOT / "lessons")))
    assert config.formats in ("ipynb,py:percent", ["ipynb,py:percent"])


# ------------------------------------------------------------------------------------------ in a browser
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from prunerl.course.site.build import build_site

    out = tmp_path_factory.mktemp("site")
    html = build_site(ROOT, out, REPOSITORY, log=lambda msg: None)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("Chromium is missing: apt-get install -y chromium chromium-driver (.ci/run does it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={profile}",
                 # every host but this machine is unknown: a page that needs the internet shows it as an error
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


# the page has loaded and MathJax (served by the site) has typeset it
LOADED = """
const done = arguments[0];
const typeset = () => (window.MathJax && MathJax.Hub) ? MathJax.Hub.Queue(() => done()) : done();
if (document.readyState === 'complete') typeset(); else window.addEventListener('load', typeset);
"""
PAGE_STATE = """
return {
  images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0,
                                                 output: !!i.closest('.cell_output, .output'),
                                                 shown: i.getBoundingClientRect().width > 0})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  tabs: document.querySelectorAll('.framework-tabs').length,
};
"""


@pytest.mark.slow
def test_every_page_in_chromium(site, browser, tmp_path):
    html, base = site
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html") if "_static" not in p.parts)
    assert "index.html" in pages and len([p for p in pages if p.startswith("lessons/")]) == 8
    seen, problems = {}, []
    for page in pages:
        browser.get(base + page)
        browser.execute_async_script(LOADED)
        state = browser.execute_script(PAGE_STATE)
        seen[page] = state
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        problems += [f"{page}: console error: {msg}" for msg in errors]
        problems += [f"{page}: image not loaded: {img['src']}" for img in state["images"] if not img["ok"]]
        if page == "index.html":
            browser.save_screenshot(str(tmp_path / "home.png"))
        if page.startswith("lessons/01_"):
            browser.save_screenshot(str(tmp_path / "lesson-01.png"))
            figure = next(i for i in browser.find_elements("css selector", ".cell_output img") if i.size["width"])
            figure.screenshot(str(tmp_path / "lesson-01-figure.png"))  # the first figure outside a hidden tab
    for page in (p for p in pages if p.startswith("lessons/")):
        nb = json.loads((ROOT / "lessons" / Path(page).with_suffix(".ipynb").name).read_text())
        figures = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        shown = sum(img["ok"] and img["output"] and img["shown"] for img in seen[page]["images"])
        assert figures >= 1 and shown >= figures, f"{page}: {shown} of {figures} figures shown (not in a hidden tab)"
    for page, state in seen.items():
        for link in state["links"]:
            url, anchor = urldefrag(link)
            if not url.startswith(base):
                continue
            target = urlparse(url).path.lstrip("/") or "index.html"
            target = target + "index.html" if target.endswith("/") else target
            if not (html / target).exists():
                problems.append(f"{page}: broken link {link}")
            elif anchor and target in seen and unquote(anchor) not in seen[target]["ids"]:
                problems.append(f"{page}: link to a missing anchor {link}")
    assert not problems, "\n".join(problems[:40])
    assert sum(state["tabs"] for state in seen.values()) >= 1, "no lesson shows PyTorch/TensorFlow tabs"
    for shot in ("home.png", "lesson-01.png", "lesson-01-figure.png"):
        assert (tmp_path / shot).stat().st_size > 10_000, shot
    print(f"screenshots: {tmp_path}")



def test_framework_sections_become_tabs():
    from prunerl.course.site.build import framework_tabs

    page = ("<section><h1>L</h1><section id='a'><h2>PyTorch: prune</h2><p>t</p></section>"
            "<section id='b'><h2>Keras 3: the same</h2><p>k</p></section>"
            "<section id='c'><h2>Pitfalls</h2></section></section>")
    html, n = framework_tabs(page)
    assert n == 1 and html.count("sd-tab-content") == 2 and "<h2>Pitfalls</h2></section></section>" in html
    assert html.index("PyTorch: prune") < html.index("Keras 3: the same") < html.index("Pitfalls")
    assert framework_tabs(page.replace("Keras 3", "PyTorch and Keras"))[1] == 0  # a section about both stays
    figure = page.replace("<p>k</p>", "<div class='cell_output'><img src='f.png'></div>")
    assert framework_tabs(figure)[1] == 0  # a tab would hide the lesson's figure
