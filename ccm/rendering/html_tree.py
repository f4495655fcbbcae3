"""A document's HTML as the element tree WeasyPrint lays out, parsed in C.

WeasyPrint parses with tinyhtml5, an HTML5 parser in pure Python: about a tenth of a
bill's PDF time. Lexbor (through selectolax) implements the same HTML5 parsing algorithm
in C, so it builds the same tree — implied `<tbody>`, `<p>` closed by a block, text
foster-parented out of tables, whitespace placed where the specification puts it — in a
fraction of the time. The tree is handed to WeasyPrint as tinyhtml5 would have made it:
``xml.etree`` elements without namespaces, text and tails in place.

What the two would not build alike goes to tinyhtml5 as before: foreign content (SVG,
MathML, whose elements tinyhtml5 gives namespaces), `<template>` contents, and comments
(which tinyhtml5 keeps as nodes). A test holds the two parsers' trees equal on the markup
documents are made of.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import tinyhtml5
from selectolax.lexbor import LexborHTMLParser

#: Markup whose tree tinyhtml5 builds differently from a plain HTML walk.
_NEEDS_TINYHTML5 = re.compile(r"<(?:svg|math|template)\b|<!--", re.I)


def parse_html(markup: str) -> ET.Element:
    """The ``<html>`` element of ``markup``, as tinyhtml5 parses it (no namespaces)."""
    if _NEEDS_TINYHTML5.search(markup):
        return _tinyhtml5(markup)
    return _element(LexborHTMLParser(markup).root, None)


def _tinyhtml5(markup: str) -> ET.Element:
    root: ET.Element = tinyhtml5.parse(markup, namespace_html_elements=False)
    return root


def _element(node: Any, parent: ET.Element | None) -> ET.Element:
    attributes = {name: value if value is not None else ""
                  for name, value in node.attributes.items()}
    element = (ET.Element(node.tag, attributes) if parent is None
               else ET.SubElement(parent, node.tag, attributes))
    last: ET.Element | None = None
    for child in node.iter(include_text=True):
        if child.tag == "-text":
            text = child.text_content
            if last is None:
                element.text = (element.text or "") + text
            else:
                last.tail = (last.tail or "") + text
        elif child.tag.startswith(("_", "!")):  # a comment or doctype: not laid out
            continue
        else:
            last = _element(child, element)
    return element
