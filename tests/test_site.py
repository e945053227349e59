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

from prunerl.course.site import RELEASE, REPOSITORY
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
        assert colab_cell() in text, f"{py.name}: the Colab install cell is missing or changed"
        assert f"github/{REPOSITORY}/blob/{RELEASE}/lessons/{py.stem}.ipynb" in text, f"{py.name}: no Colab badge"
        first_code_cell = re.search(r"^# %%$", text, re.M).start()
        assert text.index(colab_cell()) == first_code_cell, f"{py.name}: the Colab cell must come first"


def test_colab_cell_does_nothing_off_colab():
    import sys

    namespace = {}
    exec(colab_cell().replace("# %%\n", ""), namespace)  # noqa: S102 - the lesson's own cell
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


SHOTS = ROOT / "build" / "site-screenshots"  # kept after the run (git-ignored): look at them
MIN_FIGURE_PX = 480  # a figure is drawn at least this wide (or at its natural width if smaller) ...
# ... and at no less than 0.7 of its pixels: a 9-point label drawn at 100 dpi stays about 9 px tall
MIN_FIGURE_SCALE = 0.7

# the page has loaded and MathJax 3 (served by the site) has typeset it; null when the page loads no MathJax
LOADED = """
const done = arguments[0];
const typeset = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
  ? MathJax.startup.promise.then(() => done(true), () => done(false)) : done(null);
if (document.readyState === 'complete') typeset(); else window.addEventListener('load', typeset);
"""
PAGE_STATE = r"""
const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
const text = [];  // the page's prose: code, typeset maths and scripts left out
const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const n = walker.currentNode;
  if (!n.parentElement.closest('pre, code, .cell_input, mjx-container, script, style')) text.push(n.nodeValue);
}
return {
  images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0,
                                                 output: !!i.closest('.cell_output, .output'),
                                                 natural: i.naturalWidth, width: i.getBoundingClientRect().width,
                                                 shown: i.getBoundingClientRect().width > 0})),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  tabs: document.querySelectorAll('.framework-tabs').length,
  maths: document.querySelectorAll('mjx-container').length,
  math_errors: document.querySelectorAll('mjx-merror').length,
  prose: text.join(' '),
  inputs: Array.from(document.querySelectorAll('.cell_input')).map(e => e.innerText),
  searches: Array.from(document.querySelectorAll('.search-button-field, input[type=search]')).filter(visible).length,
};
"""
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\$[^$\s][^$\n]*\$")


def _full_page_screenshot(driver, path: Path) -> None:
    """The whole page: the window is made as tall as the page for the shot (the book theme scrolls its body, which
    Chromium's beyond-the-viewport capture draws shifted)."""
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    driver.set_window_size(width, min(driver.execute_script("return document.documentElement.scrollHeight"), 16_000))
    driver.save_screenshot(str(path))
    driver.set_window_size(width, height)


@pytest.fixture(scope="module")
def pages(site, browser):
    """Every page opened once in Chromium: its state, its console errors; full-page screenshots of the home page
    and of every lesson go to build/site-screenshots/."""
    html, base = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    seen = {}
    for page in sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html") if "_static" not in p.parts):
        browser.get(base + page)
        typeset = browser.execute_async_script(LOADED)
        state = browser.execute_script(PAGE_STATE)
        state["typeset"] = typeset
        state["errors"] = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        if page == "index.html" or page.startswith("lessons/"):
            _full_page_screenshot(browser, SHOTS / (Path(page).stem + ".png"))
        seen[page] = state
    return seen


def _lessons(pages):
    return {page: state for page, state in pages.items() if page.startswith("lessons/")}


def _notebook(page: str) -> dict:
    return json.loads((ROOT / "lessons" / Path(page).with_suffix(".ipynb").name).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_every_page_in_chromium(site, pages):
    html, base = site
    assert "index.html" in pages and len(_lessons(pages)) == 8
    problems = []
    for page, state in pages.items():
        problems += [f"{page}: console error: {msg}" for msg in state["errors"]]
        problems += [f"{page}: image not loaded: {img['src']}" for img in state["images"] if not img["ok"]]
        if state["searches"] != 1 and page != "search.html":  # the search page adds its own query box
            problems.append(f"{page}: {state['searches']} search boxes shown")
        for link in state["links"]:
            url, anchor = urldefrag(link)
            if not url.startswith(base):
                continue
            target = urlparse(url).path.lstrip("/") or "index.html"
            target = target + "index.html" if target.endswith("/") else target
            if not (html / target).exists():
                problems.append(f"{page}: broken link {link}")
            elif anchor and target in pages and unquote(anchor) not in pages[target]["ids"]:
                problems.append(f"{page}: link to a missing anchor {link}")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.slow
def test_lesson_maths_is_typeset(pages):
    for page, state in _lessons(pages).items():
        assert state["typeset"] is True, f"{page}: MathJax did not load or failed"
        assert state["maths"] >= 1 and state["math_errors"] == 0, f"{page}: {state['maths']} formulas typeset, " \
                                                                  f"{state['math_errors']} TeX errors"
        raw = sorted(set(RAW_TEX.findall(state["prose"])))
        assert not raw, f"{page}: raw TeX left in the text: {raw[:10]}"


@pytest.mark.slow
def test_lesson_figures_are_legible(pages):
    for page, state in _lessons(pages).items():
        nb = _notebook(page)
        figures = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        shown = [img for img in state["images"] if img["ok"] and img["output"] and img["shown"]]
        assert figures >= 1 and len(shown) >= figures, f"{page}: {len(shown)} of {figures} figures shown"
        for img in shown:
            assert img["width"] >= min(img["natural"], MIN_FIGURE_PX) - 1, f"{page}: {img} drawn too small"
            assert img["width"] >= MIN_FIGURE_SCALE * img["natural"] - 1, f"{page}: {img} shrunk too much"
    for shot in ["index"] + [Path(page).stem for page in _lessons(pages)]:
        assert (SHOTS / f"{shot}.png").stat().st_size > 50_000, f"{shot}: no full-page screenshot"


@pytest.mark.slow
def test_framework_twins_are_tabs(site, pages, browser):
    """Every lesson shows one tab set per framework twin its notebook holds (twin cells, and a Keras section after
    its PyTorch one), every lesson holds at least one, and the TensorFlow tab shows its code when chosen."""
    from prunerl.course.site.cells import split_framework_twins

    with_tabs = []
    for page, state in _lessons(pages).items():
        nb = _notebook(page)
        heads = [ln for c in nb["cells"] if c["cell_type"] == "markdown" for ln in "".join(c["source"]).splitlines()
                 if re.match(r"#{2,3} ", ln)]
        sections = sum(1 for a, b in zip(heads, heads[1:]) if re.search(r"\bPyTorch\b", a)
                       and not re.search(r"\bKeras|TensorFlow\b", a) and re.search(r"\b(Keras|TensorFlow)\b", b)
                       and not re.search(r"\bPyTorch\b", b))
        expected = split_framework_twins(nb) + sections
        assert state["tabs"] == expected, f"{page}: {state['tabs']} tab sets for {expected} framework twins"
        with_tabs += [page] if expected else []
    without = sorted(set(_lessons(pages)) - set(with_tabs))
    assert len(_lessons(pages)) == 8 and not without, f"lessons without PyTorch/TensorFlow tabs: {without}"
    html, base = site
    browser.get(base + with_tabs[0])
    tf_label = browser.find_element("css selector", ".framework-tabs > label:nth-of-type(2)")
    tf_code = browser.find_elements("css selector", ".framework-tabs > .sd-tab-content")[1]
    assert not tf_code.is_displayed()
    tf_label.click()
    assert tf_code.is_displayed() and ("tensorflow" in tf_code.text.lower() or "keras" in tf_code.text.lower())


@pytest.mark.slow
def test_prose_building_code_is_hidden_and_its_output_kept(pages):
    for page, state in _lessons(pages).items():
        shown = [ln for text in state["inputs"] for ln in text.splitlines()]
        assert not [ln for ln in shown if re.match(r"L\.(md|record|interview_card)\(", ln)], page
        assert "The 60-second answer." in state["prose"], f"{page}: the interview card's output is gone"


def test_prose_statements_and_framework_twins_on_a_notebook():
    from prunerl.course.site.cells import prepare_lesson

    def code(src, outputs=()):
        return {"cell_type": "code", "source": src, "metadata": {}, "outputs": list(outputs), "execution_count": 1}

    out = [{"output_type": "stream", "name": "stdout", "text": "ok\n"}]
    nb = {"cells": [
        code("import torch\nimport tensorflow as tf\nx = 1\n"),
        code("n = x + 1\ntext = f'{n} units'\nif n > 1:\n    text += ' (many)'\nL.md(text)\nL.record('l', n=n)\n"),
        code("print(x)\n# PyTorch\ndef t_call():\n    return torch.ones(1)\n\n\ndef k_call():\n    return tf.ones(1)\n"
             "\n\nprint(t_call(), k_call())\nL.md('done')\n", out),
        code("y = n * 2\nL.md(f'{y}')\n"),
        code("print(y)\n"),
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    cells = prepare_lesson(nb)["cells"]
    sources = ["".join(c["source"]) for c in cells]
    tags = [c["metadata"].get("tags", []) for c in cells]
    assert sources[1] == "n = x + 1"  # n is read later: it stays; the text it builds and the calls go
    assert sources[2] == "print(x)"
    assert tags[3] == ["framework-torch"] and sources[3].startswith("# PyTorch\ndef t_call")
    assert tags[4] == ["framework-tf"] and sources[4].startswith("def k_call") and "torch" not in sources[4]
    assert sources[5] == "print(t_call(), k_call())" and cells[5]["outputs"] == out and not cells[3]["outputs"]
    assert sources[6] == "y = n * 2"  # read by the next cell
    assert sources[7].strip() == "print(y)" and all("L." not in s for s in sources)
    assert nb["cells"][1]["source"].endswith("L.record('l', n=n)\n"), "the lesson itself is left as it was"


def test_wide_figures_take_the_margin():
    import base64
    import struct

    from prunerl.course.site.cells import png_width, widen_figures

    def figure(width):
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", width, 300) + b"\x08\x06\x00\x00\x00"
        return {"cell_type": "code", "source": "", "metadata": {},
                "outputs": [{"output_type": "display_data", "data": {"image/png": base64.b64encode(png).decode()}}]}

    nb = {"cells": [figure(600), figure(1289)]}
    assert png_width(nb["cells"][1]["outputs"][0]["data"]["image/png"]) == 1289
    assert widen_figures(nb) == 1 and nb["cells"][1]["metadata"]["tags"] == ["full-width"]
    assert "tags" not in nb["cells"][0]["metadata"]


def test_framework_twins_become_tabs_in_html():
    from prunerl.course.site.tabs import framework_tabs

    page = ("<section><h1>L</h1><section id='a'><h2>PyTorch: prune</h2><p>t</p></section>"
            "<section id='b'><h2>Keras 3: the same</h2><p>k</p></section>"
            "<section id='c'><h2>Pitfalls</h2></section></section>")
    html, n = framework_tabs(page)
    assert n == 1 and html.count("sd-tab-content") == 2 and "<h2>Pitfalls</h2></section></section>" in html
    assert html.index("PyTorch: prune") < html.index("Keras 3: the same") < html.index("Pitfalls")
    assert framework_tabs(page.replace("Keras 3", "PyTorch and Keras"))[1] == 0  # a section about both stays
    assert framework_tabs(page.replace("PyTorch: prune", "Fine-tune"))[1] == 0  # not the Keras section's twin
    figure = page.replace("<p>k</p>", "<p>k</p><div class='cell_output'><img src='f.png'></div><p>after</p>")
    html, n = framework_tabs(figure)
    assert n == 1 and html.index("f.png") > html.rindex("sd-tab-content"), "the figure stays out of the tabs"
    assert html.index("<p>k</p>") < html.index("f.png") < html.index("after")
    cells = ("<div class='cell'>a</div><div class='cell tag_framework-torch'>t</div>"
             "<div class='cell tag_framework-tf'>k</div><div class='cell'>out</div>")
    html, n = framework_tabs(cells)
    assert n == 1 and html.index(">a<") < html.index("sd-tab-set") < html.index(">t<") < html.index(">k<") \
        < html.index(">out<")
