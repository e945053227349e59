"""Build the static site with Jupyter Book 1 (Sphinx + MyST-NB), offline, from the cached lesson outputs."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

from .notebooks import stale_lessons
from .pages import write_sources
from .tabs import framework_tabs

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
MATHJAX = "../mathjax/tex-chtml.js"  # relative to _static: the site's own copy of MathJax 3
# MathJax 3's es5 builds other than tex-chtml.js: not loaded by the pages, so not copied
MATHJAX_UNUSED = ("core.js", "latest.js", "loader.js", "mml-*", "node-main.js", "startup.js", "tex-chtml-full*",
                  "tex-mml-*", "tex-svg*")


class SiteError(Exception):
    """A build that cannot go on: stale lessons, a missing dependency, a failing Sphinx run."""


def _config(repository: str) -> str:
    # MathJax 3 is served from the site itself (the django-static-mathjax wheel ships it): the site works offline.
    # It goes in html_extra_path, not _static, where Jupyter Book would load every .js file on every page.
    # Markdown outputs (the lessons' L.md prose) are parsed as MyST, so their $...$ becomes maths too.
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
    mathjax3_config:
      chtml: {{matchFontHeight: false}}
    html_extra_path: [_extra]
    html_favicon: _favicon/favicon.svg
    html_context:
      default_mode: light
    nb_merge_streams: true
    nb_render_markdown_format: myst
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
        import mathjax
    except ImportError as exc:
        raise SiteError("MathJax 3 is missing (the django-static-mathjax package): pip install -e '.[site]'") from exc
    static = Path(mathjax.__file__).parent / "static" / "mathjax"
    top = static / "es5"

    def unused(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if Path(folder) == top and any(fnmatch(n, p) for p in MATHJAX_UNUSED)]

    shutil.copytree(top, extra / "mathjax", ignore=unused)
    shutil.copy2(static / "LICENSE", extra / "mathjax" / "LICENSE")


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
    (src / "_static").mkdir()  # Jupyter Book links every stylesheet found there into every page
    shutil.copy2(Path(__file__).with_name("prunerl.css"), src / "_static" / "prunerl.css")
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
