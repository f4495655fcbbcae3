"""The plain-text alternative of an email, derived from its HTML.

Mail clients that do not show HTML (and spam filters that compare both parts) read this:
headings, paragraphs and table rows on their own lines, links with their address.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html
from lxml.etree import _Element

_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol",
     "h1", "h2", "h3", "h4", "h5", "h6", "address", "blockquote", "dl", "dt", "dd", "hr"}
)
_SKIP = frozenset({"head", "style", "script", "title"})
_SPACES = re.compile(r"[ \t\u00a0]+")


def html_to_text(markup: str) -> str:
    if not markup.strip():
        return "\n"
    try:
        root = lxml_html.document_fromstring(markup)
    except etree.ParserError:  # a document with nothing left in it
        return "\n"
    body = root.find("body")
    parts: list[str] = []
    _walk(body if body is not None else root, parts)
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text + "\n"


def _walk(element: _Element, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _SKIP:
        _tail(element, parts)
        return
    if tag in _BLOCKS:
        parts.append("\n\n" if tag in ("p", "h1", "h2", "h3", "table", "ul", "ol") else "\n")
    if tag == "br":
        parts.append("\n")
    elif tag == "li":
        parts.append("\n- ")
    elif tag == "img":
        alt = element.get("alt")
        if alt:
            parts.append(alt)
    if element.text and tag not in ("img",):
        parts.append(element.text)
    for child in element:
        _walk(child, parts)
        if tag == "tr" and isinstance(child.tag, str) and child.tag in ("td", "th"):
            parts.append("  ")
    if tag == "a":
        href = element.get("href") or ""
        label = element.text_content().strip()
        if href.startswith(("http://", "https://", "mailto:")) and href not in label:
            parts.append(f" ({href.removeprefix('mailto:')})")
    if tag in _BLOCKS:
        parts.append("\n")
    _tail(element, parts)


def _tail(element: _Element, parts: list[str]) -> None:
    if element.tail:
        parts.append(element.tail)
