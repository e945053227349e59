"""Build the static site with Jupyter Book 1 (Sphinx + MyST-NB), offline, from the cached lesson outputs."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from .notebooks import stale_lessons
from .pages import write_sources

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
MATHJAX = "../mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"


class SiteError(Exception):
    """A build that cannot go on: stale lessons, a missing dependency, a failing Sphinx run."""


def _config(repository: str) -> str:
    # MathJax is served from the site itself (jupyter-server-mathjax ships it): the site works offline. It goes in
    # html_extra_path, not _static, where Jupyter Book would load every .js file on every page.
    return f"""title: prunerl
author: the prunerl course
copyright: ""
only_build_toc_files: true
execute:
  execute_notebooks: "off"
parse:
  myst_enable_extensions: [colon_fence, dollarmath, amsmath, linkify]
html:
  use_repository_button: false
  use_issues_button: false
  use_edit_page_button: false
repository:
  url: https://github.com/{repository}
sphinx:
  extra_extensions: [sphinx_design]
  config:
    mathjax_path: {MATHJAX}
    html_extra_path: [_extra]
    html_favicon: _favicon/favicon.svg
    html_context:
      default_mode: light
    mathjax2_config:
      HTML-CSS: {{availableFonts: [], webFont: STIX-Web, imageFont: null}}
      messageStyle: none
    nb_merge_streams: true
    myst_heading_anchors: 3
    html_show_sphinx: false
    suppress_warnings: [mystnb.unknown_mime_type, myst.header]
"""


def _toc(pages: list[str]) -> str:
    lines = ["format: jb-book", "root: index", "parts:"]
    for caption, prefix in (("Lessons", "lessons/"), ("Exercises", "exercises/"), ("Results and guides", "docs/")):
        chosen = [p for p in pages if p.startswith(prefix)]
        if chosen:
            lines += [f"- caption: {caption}", "  chapters:"] + [f"  - file: {p}" for p in chosen]
    return "\n".join(lines) + "\n"


def _mathjax(extra: Path) -> None:
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise SiteError("jupyter-server-mathjax is missing: pip install -e '.[site]'") from exc
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", extra / "mathjax",
                    ignore=shutil.ignore_patterns("localization"))


FRAMEWORK = re.compile(r"\b(Keras|TensorFlow)\b")


def framework_tabs(html: str) -> tuple[str, int]:
    """Put a lesson's framework sections into tabs: a section whose heading names Keras or TensorFlow, and not
    PyTorch, becomes the second tab of the section before it (the PyTorch version), unless it draws a figure (a
    hidden tab would hide it). Returns (html, tab sets)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    count = 0
    for section in soup.select("section > section"):
        head = section.find(["h2", "h3"])
        prev = section.find_previous_sibling("section")
        if head is None or prev is None or prev.parent is None or "PyTorch" in head.get_text():
            continue
        if not FRAMEWORK.search(head.get_text()) or prev.find_parent(class_="sd-tab-set"):
            continue
        if section.select(".cell_output img"):  # a figure there is the lesson's, not one framework's: keep it shown
            continue
        tabs = soup.new_tag("div", attrs={"class": "sd-tab-set docutils framework-tabs"})
        prev.insert_before(tabs)
        for i, (label, part) in enumerate((("PyTorch", prev), ("TensorFlow (Keras 3)", section))):
            ident = f"framework-tab-{count}-{i}"
            radio = soup.new_tag("input", attrs={"id": ident, "name": f"framework-tabs-{count}", "type": "radio"})
            if i == 0:
                radio["checked"] = "checked"
            tag = soup.new_tag("label", attrs={"class": "sd-tab-label", "for": ident})
            tag.string = label
            content = soup.new_tag("div", attrs={"class": "sd-tab-content docutils"})
            content.append(part.extract())
            tabs.extend([radio, tag, content])
        count += 1
    return str(soup), count


def dedupe_inline_scripts(html: str) -> str:
    """Jupyter Book 1 on Sphinx 7 writes some extensions' inline set-up scripts twice; the second `const` is a
    SyntaxError in the browser. Keep the first copy of each identical inline script."""
    seen: set[str] = set()

    def once(m: re.Match) -> str:
        if m.group(0) in seen:
            return ""
        seen.add(m.group(0))
        return m.group(0)

    return re.sub(r"<script>[^<]*</script>", once, html)


def build_site(root: Path, out: Path, repository: str, log=print) -> Path:
    """Build the site into ``out`` (the static folder is ``out/html``); raises SiteError naming stale lessons."""
    stale = stale_lessons(root)
    if stale:
        raise SiteError("stale lesson outputs (run `prunerl site --execute`):\n" +
                        "\n".join(f"  {why}" for why in stale.values()))
    src = out / "book"
    pages = write_sources(root, src, repository)
    (src / "_config.yml").write_text(_config(repository), encoding="utf-8")
    (src / "_toc.yml").write_text(_toc(pages), encoding="utf-8")
    _mathjax(src / "_extra")
    (src / "_favicon").mkdir()
    shutil.copy2(Path(__file__).with_name("favicon.svg"), src / "_favicon" / "favicon.svg")
    if (out / "_build").exists():
        shutil.rmtree(out / "_build")
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", str(src), "--path-output", str(out), "--keep-going"]
    log(f"jupyter-book: {len(pages)} pages")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SiteError(f"jupyter-book failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    html = out / "_build" / "html"
    shutil.copy2(Path(__file__).with_name("colab-badge.svg"), html / "_static" / "colab-badge.svg")
    for page in sorted(html.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        # the badge image is served by the site itself: pages load nothing from other hosts
        badge = "../" * (len(page.relative_to(html).parts) - 1) + "_static/colab-badge.svg"
        new = dedupe_inline_scripts(text.replace(COLAB_BADGE, badge))
        if page.parent.name == "lessons":
            new, n = framework_tabs(new)
            log(f"{page.name}: {n} PyTorch/TensorFlow tab set(s)")
        if new != text:
            page.write_text(new, encoding="utf-8")
    return html
