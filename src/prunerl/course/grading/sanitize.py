"""What a learner's notebook puts into HTML (outputs, markdown, raw cells), made inert before a browser shows it.

The autograded notebook is rendered by formgrader and by ``nbgrader generate_feedback``, and the feedback HTML by
``release_feedback`` and formgrader, on the instructor's Jupyter origin: a learner's ``<script>`` or
``<img onerror=...>`` there runs with the instructor's session. So both are cleaned with ``nh3`` (an allow-list
HTML sanitizer) before they are written anywhere an instructor looks. Cells nbgrader restored from the master copy
(locked cells) are the course's own and keep their source, so nbgrader's checksums still match.
"""
from __future__ import annotations

import copy
import re

import nh3

# Tags and attributes of nbconvert's rendered cells (pygments, ANSI colours, tables, anchors) and of plain markup.
_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"class", "id", "title", "lang", "dir", "style"},
               "a": {"href", "hreflang", "name"}}
_STYLE = {"color", "background-color", "font-weight", "font-style", "text-decoration", "text-align"}
_IMAGE_URI = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*\Z")
_BODY = re.compile(r"<body\b", re.IGNORECASE)
# Output types that no renderer interprets as markup; everything else is cleaned (HTML, markdown) or dropped
# (JavaScript, SVG, widgets, LaTeX for MathJax, any vendor type).
_PLAIN = {"text/plain", "application/json"}
_IMAGES = {"image/png", "image/jpeg", "image/gif"}


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """``data:`` URLs only as the source of a raster image (nbconvert embeds plots so); never as a link."""
    if attr in ("href", "src") and value.strip().lower().startswith("data:"):
        return value if tag == "img" and attr == "src" and _IMAGE_URI.match(value.strip()) else None
    return value


def html(fragment: str) -> str:
    """An HTML fragment with every script, event handler, style sheet, frame, form and foreign URL scheme gone."""
    return nh3.clean(fragment, attributes=_ATTRIBUTES, attribute_filter=_attribute,
                     url_schemes=nh3.ALLOWED_URL_SCHEMES | {"data"}, filter_style_properties=_STYLE)


def markdown(source: str) -> str:
    """Markdown as nbconvert renders it, cleaned; the HTML is itself valid markdown, so it stays a markdown cell."""
    from nbconvert.filters.markdown import markdown2html_mistune

    return html(markdown2html_mistune(source))


def feedback(document: str) -> str:
    """nbgrader's feedback page with its body cleaned. What precedes ``<body`` is nbgrader's template (styles,
    MathJax, the notebook's name), which no learner text reaches; everything after it is cleaned."""
    found = _BODY.search(document)
    if found is None:
        return html(document)
    return f"{document[:found.start()]}<body>\n{html(document[found.start():])}\n</body>\n</html>\n"


def _output(output: dict) -> dict:
    output = copy.deepcopy(output)
    if "data" not in output:  # stream and error outputs: renderers escape them as text
        return output
    data, kept = output.get("data") or {}, {}
    for mime, value in data.items():
        text = "".join(value) if isinstance(value, list) else value
        if not isinstance(text, str):
            if mime == "application/json":
                kept[mime] = value
            continue
        if mime in _PLAIN or (mime in _IMAGES and _BASE64.match(text)):
            kept[mime] = text
        elif mime == "text/html":
            kept[mime] = html(text)
        elif mime == "text/markdown":
            kept[mime] = markdown(text)
    if not kept:
        kept["text/plain"] = f"[output not shown: {', '.join(sorted(data)) or 'empty'}]"
    output["data"] = kept
    # nbconvert writes image metadata into unquoted attributes (width=...): only plain numbers survive
    output["metadata"] = {mime: {k: v for k, v in meta.items() if k in ("width", "height") and type(v) is int}
                          for mime, meta in (output.get("metadata") or {}).items()
                          if mime in kept and isinstance(meta, dict)}
    return output


def notebook(nb):
    """A copy of an autograded notebook that renders no learner markup: outputs cleaned, the learner's markdown
    and raw cells cleaned, attachments and notebook metadata beyond the kernel's gone."""
    nb = copy.deepcopy(nb)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    for cell in nb.cells:
        locked = bool(cell.get("metadata", {}).get("nbgrader", {}).get("locked"))
        if cell.cell_type == "code":
            cell.outputs = [_output(o) for o in cell.get("outputs", [])]
        elif not locked:
            cell.pop("attachments", None)
            cell.source = markdown(cell.source) if cell.cell_type == "markdown" else html(cell.source)
    return nb
