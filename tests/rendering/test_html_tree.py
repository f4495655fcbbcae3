"""The C parser builds the tree WeasyPrint's own (tinyhtml5) would: same elements, same
text and tails, on the markup documents are made of and on markup HTML5 repairs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import tinyhtml5
from sqlalchemy.orm import Session

from ccm.rendering import pdf
from ccm.rendering.html_tree import parse_html
from ccm.rendering.service import render_document
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data, promotion_data, welcome_data

MARKUP = [
    # documents as the layouts make them
    "<!doctype html><html lang='de-DE'><head><meta charset='utf-8'><title>Rechnung</title>"
    "<style>p{color:red}</style></head>\n<body class='bill'>\n<h1>Ihre Rechnung</h1>\n"
    "<p>Betrag: 1.234,56&nbsp;€ &amp; mehr</p>\n</body>\n</html>\n",
    # tables without tbody, with thead and cells left open
    "<table class='items'><thead><tr><th>a<th>b</thead><tr><td>1<td>2<tr><td>3</table>",
    # text HTML5 moves out of a table (foster parenting)
    "<table>stray text<tr><td>cell</td></tr></table>",
    # paragraphs closed by blocks, list items left open, misnested inline elements
    "<p>one<div>block</div><p>two<ul><li>a<li>b</ul><b><i>x</b>y</i>",
    # whitespace around head and body, and after the end of the document
    "<html>\n  <head>\n  </head>\n  <body>\n  text\n  </body>\n</html>\n\n",
    # boolean, unquoted and repeated attributes; character references
    "<input type=checkbox checked disabled><a href=x?a=1&amp;b=2 title='&lt;&quot;'>l</a>"
    "<p class=a class=b>&#x20AC; &euro; &copy</p>",
    # void elements, a fragment without html or body, raw text elements
    "<br><img src='asset:abc' alt=''><hr>after<script>if (a < b) {}</script>"
    "<textarea><b>not bold</b></textarea>",
    # comments, SVG and template go to tinyhtml5 itself
    "<p>a<!-- note -->b</p><svg viewBox='0 0 1 1'><circle r='1'/></svg>"
    "<template><p>t</p></template>",
]


def _shape(element: ET.Element) -> object:
    return (element.tag, dict(element.attrib), element.text,
            [_shape(child) for child in element], element.tail)


@pytest.mark.parametrize("markup", MARKUP)
def test_the_tree_is_the_one_tinyhtml5_builds(markup: str) -> None:
    expected = tinyhtml5.parse(markup, namespace_html_elements=False)
    assert _shape(parse_html(markup)) == _shape(expected)


@pytest.fixture
def stock_pdf_bodies(session: Session, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The HTML of every stock template's PDF, as the PDF renderer is handed it."""
    seen: list[str] = []

    def keep(markup: str) -> ET.Element:
        seen.append(markup)
        return parse_html(markup)

    monkeypatch.setattr(pdf, "parse_html", keep)
    customer = SAMPLE_CUSTOMERS[2]
    for key, data in (("utility-bill", bill_data(customer)), ("payment-reminder",
                      bill_data(customer)), ("overdue-notice", bill_data(customer)),
                      ("welcome-letter", welcome_data(customer)),
                      ("loyalty-offer", promotion_data(customer))):
        for locale in ("de_DE", "en_GB"):
            render_document(session, key, data, "pdf", locale=locale)
    return seen


def test_every_stock_document_body_parses_alike(stock_pdf_bodies: list[str]) -> None:
    assert len(stock_pdf_bodies) == 10
    for markup in stock_pdf_bodies:
        expected = tinyhtml5.parse(markup, namespace_html_elements=False)
        assert _shape(parse_html(markup)) == _shape(expected)
