"""PyTorch/TensorFlow tabs on the built lesson pages, d2l-style: one tab set per piece of code that differs by
framework, the prose and the figures around it shown to every reader.

Two kinds of pair are put in tabs:
- **twin cells**: the cells ``cells.split_framework_twins`` tagged ``framework-torch`` and ``framework-tf``;
- **twin sections**: a section whose heading names PyTorch (not Keras or TensorFlow) followed by one whose heading
  names Keras or TensorFlow (not PyTorch). The second tab holds the Keras section up to its first figure; the
  figure and what follows it compare the frameworks and stay shown after the tabs.
"""
from __future__ import annotations

import re

TORCH_HEAD, TF_HEAD = re.compile(r"\bPyTorch\b"), re.compile(r"\b(Keras|TensorFlow)\b")
LABELS = ("PyTorch", "TensorFlow (Keras 3)")


def _tab_set(soup, count: int, anchor, parts: list[list]):
    """Put a sphinx-design tab set (its CSS and script are on every page) before ``anchor``, holding ``parts``,
    one list of elements a tab."""
    tabs = soup.new_tag("div", attrs={"class": "sd-tab-set docutils framework-tabs"})
    anchor.insert_before(tabs)
    for i, (label, elements) in enumerate(zip(LABELS, parts)):
        ident = f"framework-tab-{count}-{i}"
        radio = soup.new_tag("input", attrs={"id": ident, "name": f"framework-tabs-{count}", "type": "radio"})
        if i == 0:
            radio["checked"] = "checked"
        tag = soup.new_tag("label", attrs={"class": "sd-tab-label", "for": ident})
        tag.string = label
        content = soup.new_tag("div", attrs={"class": "sd-tab-content docutils"})
        for element in elements:
            content.append(element.extract())
        tabs.extend([radio, tag, content])


def _twin_cells(soup, count: int) -> int:
    for torch in soup.select("div.cell.tag_framework-torch"):
        tf = torch.find_next_sibling("div")
        if tf is None or "tag_framework-tf" not in tf.get("class", []):
            continue
        _tab_set(soup, count, torch, [[torch], [tf]])
        count += 1
    return count


def _twin_sections(soup, count: int) -> int:
    for section in soup.select("section > section"):
        head, prev = section.find(["h2", "h3"]), section.find_previous_sibling("section")
        prev_head = prev.find(["h2", "h3"]) if prev is not None else None
        if head is None or prev_head is None or prev.find_parent(class_="sd-tab-set"):
            continue
        head_text, prev_text = head.get_text(), prev_head.get_text()
        if not (TF_HEAD.search(head_text) and not TORCH_HEAD.search(head_text)
                and TORCH_HEAD.search(prev_text) and not TF_HEAD.search(prev_text)):
            continue
        children = [c for c in section.children if getattr(c, "name", None)]
        first_figure = next((i for i, c in enumerate(children) if c.select(".cell_output img")), len(children))
        moved = children[:first_figure]
        holder = soup.new_tag("section", attrs={k: v for k, v in section.attrs.items()})
        section.attrs = {"class": ["framework-shared"]}  # its id and heading anchor move into the tab
        holder.extend([c.extract() for c in moved])
        _tab_set(soup, count, section, [[prev], [holder]])
        if not section.find(True):
            section.decompose()
        count += 1
    return count


def framework_tabs(html: str) -> tuple[str, int]:
    """Put a lesson page's framework twins into tabs; returns (html, tab sets)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    count = _twin_sections(soup, _twin_cells(soup, 0))
    return str(soup), count
