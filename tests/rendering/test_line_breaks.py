"""Line breaks remembered across documents change no byte of a PDF, are used only by
ccm's renders, and are forgotten when the fonts may have changed."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from pathlib import Path

import pytest
import weasyprint
from pypdf import PdfReader
from sqlalchemy.orm import Session
from support import pdf_text
from weasyprint.layout import inline as weasyprint_inline

from ccm.demo import DEMO_TEMPLATES
from ccm.inputs import normalise_numbers
from ccm.rendering import line_breaks
from ccm.rendering.engine import Renderer
from ccm.rendering.line_breaks import MAX_TEXT, TEXT_PROPERTIES, LineBreakMemo, remembering
from ccm.rendering.pdf import PdfRenderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import AssetData
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


def test_a_new_brand_stylesheet_makes_it_forget() -> None:
    pdf = PdfRenderer()
    memo = pdf.line_breaks
    assert memo is not None
    _render(pdf, _stress_html())
    assert len(memo) > 0
    face = "@font-face { font-family: Brand; src: local(DejaVu Serif) } p { margin: 2mm 0 }"
    pdf.stylesheet("test:another brand", face, {})
    assert len(memo) == 0


MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf").read_bytes()
MONO_SHA = hashlib.sha256(MONO).hexdigest()
SVG_WITH_FONT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style>@font-face '
    f'{{ font-family: Later; src: url(ccm-asset:{MONO_SHA}) }}</style>'
    '<rect width="10" height="10"/></svg>').encode()
SVG_SHA = hashlib.sha256(SVG_WITH_FONT).hexdigest()
FONT_ASSETS = {MONO_SHA: AssetData(MONO_SHA, "font/ttf", MONO),
               SVG_SHA: AssetData(SVG_SHA, "image/svg+xml", SVG_WITH_FONT)}
LATER_TEXT = '<p style="font-family: Later, serif; width: 40mm">' + \
    "iiii llll " * 6 + "</p>"


FACE = f"@font-face {{ font-family: Later; src: url(ccm-asset:{MONO_SHA}) }}"


@pytest.mark.parametrize(("head", "body"), [
    (f"<style>{FACE}</style>", ""),
    # The same at-rule with a CSS escape: no search of the text would find it.
    ("<style>" + FACE.replace("font-face", "font-f\\61 ce") + "</style>", ""),
    # An SVG image's own stylesheet adds to the same font configuration.
    ("", f'<img src="ccm-asset:{SVG_SHA}" alt="">'),
], ids=["font-face", "escaped-font-face", "svg-image"])
def test_a_font_added_by_a_document_is_never_measured_with_the_old_fonts(
        head: str, body: str) -> None:
    """A family measured before it existed (falling back to serif) and then added by a
    later document: that document's text is laid out in the new font's widths."""
    before = f"<html><head><title>t</title></head><body>{LATER_TEXT}</body></html>"
    after = f"<html><head><title>t</title>{head}</head><body>{body}{LATER_TEXT}</body></html>"

    def run(pdf: PdfRenderer) -> list[bytes]:
        stylesheet = pdf.stylesheet("test:fonts", "p { margin: 0 }", FONT_ASSETS)
        return [pdf.render(html, stylesheet=stylesheet, assets=FONT_ASSETS,
                           variant="pdf/ua-1", identifier=b"0" * 32, warnings=[]).content
                for html in (before, after, before)]

    remembered, fresh = run(PdfRenderer()), run(PdfRenderer(remember_line_breaks=False))
    assert remembered == fresh
    fonts = PdfReader(io.BytesIO(remembered[1])).pages[0]["/Resources"]["/Font"]
    assert any(str(font["/BaseFont"]).endswith("+Later") for font in fonts.values())


def test_a_calc_the_line_breaker_resolves_itself_is_not_remembered() -> None:
    """``hyphenate-limit-zone: calc(1% + 1rem)`` stays a formula until line breaking
    resolves it against the root font size: two documents differing only there."""
    pdf, fresh = PdfRenderer(), PdfRenderer(remember_line_breaks=False)
    css = ("p { font-size: 12px; width: 60mm; hyphens: auto; margin: 0; "
           "hyphenate-limit-zone: calc(1% + 1rem) }")
    text = ("Communication fundamentally unbelievable extraordinarily characterisation "
            "internationalisation responsibilities")
    for root in (1, 200, 1):
        html = (f'<html lang="en"><head><title>t</title><style>html {{ font-size: {root}px }}'
                f"</style></head><body><p>{text}</p></body></html>")
        assert _render(pdf, html, css) == _render(fresh, html, css)


def test_long_texts_are_not_kept() -> None:
    pdf = PdfRenderer()
    memo = pdf.line_breaks
    assert memo is not None
    paragraph = "Verbrauch im Abrechnungszeitraum " * 60
    html = f"<html><head><title>t</title></head><body><p>{paragraph}</p></body></html>"
    _render(pdf, html)
    assert len(memo) > 0
    assert max(len(key[0]) for key in memo._entries) <= MAX_TEXT


def test_an_unexpected_weasyprint_function_is_left_alone(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def other(text: str, style: object) -> None:  # a WeasyPrint that changed the function
        raise AssertionError

    monkeypatch.setattr(weasyprint_inline, "split_first_line", other)
    with caplog.at_level(logging.WARNING, logger="ccm.rendering.line_breaks"):
        assert line_breaks._install() is False
    assert weasyprint_inline.split_first_line is other
    assert "not remembered" in caplog.text
