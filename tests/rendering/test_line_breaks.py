"""Line breaks remembered across documents change no byte of a PDF, are used only by
ccm's renders, and are forgotten when the fonts may have changed."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import weasyprint
from sqlalchemy.orm import Session
from support import pdf_text
from weasyprint.layout import inline as weasyprint_inline

from ccm.demo import DEMO_TEMPLATES
from ccm.inputs import normalise_numbers
from ccm.rendering import line_breaks
from ccm.rendering.engine import Renderer
from ccm.rendering.line_breaks import TEXT_PROPERTIES, LineBreakMemo, remembering
from ccm.rendering.pdf import PdfRenderer
from ccm.rendering.service import resolve_specs
from ccm.stock.customers import SAMPLE_CUSTOMERS

#: Text set in as many of the properties line breaking reads as a document can use, the
#: same words in several styles, so that a key missing a property would answer one style
#: with another's measurements.
STRESS_HTML = """<!doctype html><html lang="de"><head><title>Satzprobe</title><style>
@page { size: A5; margin: 12mm }
body { font-family: DejaVu Sans, sans-serif; font-size: 10pt }
.w { width: 38mm; border: 1px solid #000 }
.ls { letter-spacing: 1.5px } .ws { word-spacing: 6px } .sc { font-variant: small-caps }
.b { font-weight: bold } .i { font-style: italic } .big { font-size: 14pt }
.hy { hyphens: auto } .pre { white-space: pre } .u { text-decoration: underline }
.j { text-align: justify } .ow { overflow-wrap: anywhere } .wb { word-break: break-all }
.el { white-space: nowrap; overflow: hidden; text-overflow: ellipsis }  /* drawing
   changes a layout: a remembered one must come back fresh */
.tab { white-space: pre; tab-size: 12 }
.num { font-variant-numeric: diagonal-fractions slashed-zero }
.lig { font-variant-ligatures: none } .feat { font-feature-settings: "kern" 0 }
.hc { hyphens: manual; hyphenate-character: "~" }
.bl { max-lines: 2; block-ellipsis: auto } .kern { font-kerning: none }
.rtl { direction: rtl }
table { border-collapse: collapse } td { border: 1px solid #999; padding: 1mm }
</style></head><body>
%s
<table><tr><td>Grundpreis Strom</td><td class="num">1.234,56 €</td></tr>
<tr><td class="b">Grundpreis Strom</td><td class="big">1.234,56 €</td></tr></table>
</body></html>"""
PHRASE = ("Donaudampfschifffahrtsgesellschaftskapitänsmütze und Arbeitspreis "
          "für Energieversorgung im Abrechnungszeitraum")
#: Kerning pairs, ligatures and figures: a table cell shrinks to its text, so any
#: difference in a measured width moves the cell's border.
SHORT = "AVATAR Tor Wolf ffi fl 1.111,11 €"
CLASSES = ("", "ls", "ws", "sc", "b", "i", "big", "hy", "pre", "u", "j", "ow", "wb", "el",
           "lig", "feat", "num", "bl", "kern", "rtl")


def _stress_html() -> str:
    paragraphs = [f'<p class="w {name}">{PHRASE}</p><table><tr><td class="{name}">{SHORT}'
                  f'</td></tr></table>' for name in CLASSES]
    for name in ("pre", "tab"):
        paragraphs.append(f'<table><tr><td class="{name}">Zähler\tStand\tVerbrauch'
                          '</td></tr></table>')
    for name in ("", "hc"):
        paragraphs.append(f'<p class="w {name}">Verbrauchs&shy;abrechnung '
                          'Verbrauchs&shy;abrechnung</p>')
    paragraphs.append(f'<p class="w hy" lang="en">{PHRASE}</p>')
    return STRESS_HTML % "\n".join(paragraphs)


def _render(pdf: PdfRenderer, html: str, css: str = "") -> bytes:
    stylesheet = pdf.stylesheet(f"test:{hash(css)}", css or "p { margin: 1mm 0 }", {})
    return pdf.render(html, stylesheet=stylesheet, assets={}, variant="pdf/ua-1",
                      identifier=b"0" * 32, warnings=[]).content


def test_weasyprint_reads_no_text_property_the_key_leaves_out() -> None:
    """Every style property WeasyPrint's line breaking (and the font code it calls)
    reads is part of the memo's key; a WeasyPrint upgrade that reads another fails here."""
    package = Path(weasyprint.__file__).parent
    source = (package / "text" / "line_break.py").read_text() + \
        (package / "text" / "fonts.py").read_text()
    read = set(re.findall(r"style\['([a-z_]+)'\]", source))
    assert read, "WeasyPrint's sources no longer read style properties this way"
    assert read <= set(TEXT_PROPERTIES), sorted(read - set(TEXT_PROPERTIES))


def test_hook_is_installed_where_weasyprint_looks_it_up() -> None:
    assert line_breaks.INSTALLED
    assert weasyprint_inline.split_first_line is line_breaks._split_first_line


def test_remembered_line_breaks_give_the_same_bytes_in_every_style() -> None:
    remembering_pdf, fresh_pdf = PdfRenderer(), PdfRenderer(remember_line_breaks=False)
    html = _stress_html()
    expected = _render(fresh_pdf, html)
    memo = remembering_pdf.line_breaks
    assert memo is not None
    first = _render(remembering_pdf, html)
    misses = memo.misses
    again = _render(remembering_pdf, html)
    assert first == expected and again == expected
    assert memo.misses == misses and memo.hits > 100  # the second render asked Pango nothing
    text = pdf_text(again)
    assert "Grundpreis Strom" in text and "1.234,56 €" in text


def test_stock_documents_are_byte_identical_with_and_without_the_memo(
        session: Session) -> None:
    remembering_renderer, fresh_renderer = Renderer(), Renderer()
    fresh_renderer.pdf.line_breaks = None
    for key, make_data in DEMO_TEMPLATES.items():
        template, brand = resolve_specs(session, key)
        for customer in SAMPLE_CUSTOMERS:
            data = normalise_numbers(make_data(customer))
            for locale in (customer.locale, "en_GB"):
                expected = fresh_renderer.render(template, brand, data, locale, "pdf")
                document = remembering_renderer.render(template, brand, data, locale, "pdf")
                assert document.content == expected.content, (key, customer.name, locale)
    memo = remembering_renderer.pdf.line_breaks
    assert memo is not None and memo.hits > memo.misses


def test_other_weasyprint_calls_in_the_process_do_not_use_it() -> None:
    pdf = PdfRenderer()
    html = _stress_html()
    _render(pdf, html)
    memo = pdf.line_breaks
    assert memo is not None
    hits, misses = memo.hits, memo.misses
    weasyprint.HTML(string=html).write_pdf()
    assert (memo.hits, memo.misses) == (hits, misses)


def test_memo_outside_a_render_is_only_what_is_activated() -> None:
    memo = LineBreakMemo()
    with remembering(memo):
        assert line_breaks._active.get() is memo
        with remembering(None):
            assert line_breaks._active.get() is None
        assert line_breaks._active.get() is memo
    assert line_breaks._active.get() is None


def test_memo_keeps_at_most_its_entries_dropping_the_least_recently_used() -> None:
    pdf = PdfRenderer()
    pdf.line_breaks = LineBreakMemo(max_entries=25)
    expected = _render(PdfRenderer(remember_line_breaks=False), _stress_html())
    assert _render(pdf, _stress_html()) == expected
    assert len(pdf.line_breaks) == 25
    assert _render(pdf, _stress_html()) == expected


def test_new_fonts_make_it_forget() -> None:
    pdf = PdfRenderer()
    memo = pdf.line_breaks
    assert memo is not None
    _render(pdf, _stress_html())
    assert len(memo) > 0
    # A brand stylesheet parsed later may bring @font-face rules of its own.
    pdf.stylesheet("test:another brand", "p { margin: 2mm 0 }", {})
    assert len(memo) == 0
    _render(pdf, _stress_html())
    misses = memo.misses
    assert len(memo) > 0
    # A document with its own @font-face is measured afresh and empties the memo.
    own_fonts = _stress_html().replace(
        "<style>", "<style>@font-face { font-family: Mine; src: local(DejaVu Serif) }", 1)
    hits = memo.hits
    _render(pdf, own_fonts)
    assert len(memo) == 0 and memo.hits == hits and memo.misses == misses


def test_an_unexpected_weasyprint_function_is_left_alone(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def other(text: str, style: object) -> None:  # a WeasyPrint that changed the function
        raise AssertionError

    monkeypatch.setattr(weasyprint_inline, "split_first_line", other)
    with caplog.at_level(logging.WARNING, logger="ccm.rendering.line_breaks"):
        assert line_breaks._install() is False
    assert weasyprint_inline.split_first_line is other
    assert "not remembered" in caplog.text
