"""The stock bill rendered through the whole engine, read back as a user would."""

from __future__ import annotations

import io
import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from pypdf import PdfReader
from sqlalchemy.orm import Session
from support import pdf_text, to_xml

from ccm.errors import DataValidationError, InputError
from ccm.inputs import load_data
from ccm.rendering.engine import default_renderer
from ccm.rendering.service import render_document, resolve_specs
from ccm.rendering.spec import Channel
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

EMMA, LIAM, JURGEN, SOPHIE = SAMPLE_CUSTOMERS


def bill(customer: Any = JURGEN, **overrides: Any) -> dict[str, Any]:
    data = bill_data(customer)
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("de_DE", "EUR", "1.234,56 €"),
        ("en_US", "USD", "$1,234.56"),
        ("en_GB", "GBP", "£1,234.56"),
        ("fr_FR", "EUR", "1 234,56 €"),
    ],
)
def test_pdf_text_holds_locale_formatted_amount_name_and_address(
    session: Session, locale: str, currency: str, expected: str
) -> None:
    document = render_document(
        session, "utility-bill", bill(total=Decimal("1234.56"), currency=currency), "pdf",
        locale=locale,
    )
    text = pdf_text(document.content)
    assert document.content.startswith(b"%PDF-")
    assert expected in text
    assert "Jürgen Weiß" in text
    assert "Mühlenstraße 7" in text and "21029 Hamburg" in text
    assert document.page_count == len(PdfReader(io.BytesIO(document.content)).pages) >= 1
    assert document.warnings == ()


def test_german_bill_is_in_german_and_english_bill_in_english(session: Session) -> None:
    german = pdf_text(render_document(session, "utility-bill", bill(JURGEN), "pdf",
                                      locale="de_DE").content)
    english = pdf_text(render_document(session, "utility-bill", bill(EMMA), "pdf",
                                       locale="en_GB").content)
    assert "Ihre Energierechnung" in german and "Zu zahlender Betrag" in german
    assert "Your energy bill" in english and "Amount due" in english
    assert "Energierechnung" not in english


def test_austrian_customer_falls_back_to_german(session: Session) -> None:
    text = pdf_text(render_document(session, "utility-bill", bill(SOPHIE), "pdf",
                                    locale="de_AT").content)
    assert "Ihre Energierechnung" in text
    assert "Sophie Gruber" in text


def test_two_renders_of_the_same_inputs_are_byte_identical(session: Session) -> None:
    first = render_document(session, "utility-bill", bill(), "pdf", locale="de_DE")
    second = render_document(session, "utility-bill", bill(), "pdf", locale="de_DE")
    assert first.content == second.content
    assert first.sha256 == second.sha256
    other = render_document(session, "utility-bill", bill(total=Decimal("1.00")), "pdf",
                            locale="de_DE")
    assert other.sha256 != first.sha256


def test_renders_from_many_threads_at_once_all_succeed_alike(session: Session) -> None:
    """One renderer shared by request threads: WeasyPrint's shared state (the cached SVG
    logo, the font map) must not be drawn on by two threads at once."""
    template, brand = resolve_specs(session, "utility-bill")
    renderer = default_renderer()
    data = bill()
    results: list[bytes] = []
    failures: list[BaseException] = []
    start = threading.Barrier(6)

    def render() -> None:
        start.wait()
        try:
            for _ in range(2):
                results.append(renderer.render(template, brand, data, "de_DE", "pdf").content)
        except BaseException as exc:  # collected: a thread's exception is otherwise lost
            failures.append(exc)

    threads = [threading.Thread(target=render) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(results) == 12 and len(set(results)) == 1


def test_json_and_xml_data_render_byte_identical_pdfs(session: Session) -> None:
    template, brand = resolve_specs(session, "utility-bill")
    data = bill()
    # Numbers as JSON numbers, exactly as a billing system would send them.
    from_json = load_data(json.dumps(data, default=_json_number).encode())
    xml = etree.tostring(to_xml(data), xml_declaration=True, encoding="utf-8")
    from_xml = load_data(xml, schema=template.data_schema)
    assert from_json == from_xml
    renderer = default_renderer()
    pdf_from_json = renderer.render(template, brand, from_json, "de_DE", Channel.PDF)
    pdf_from_xml = renderer.render(template, brand, from_xml, "de_DE", Channel.PDF)
    assert pdf_from_json.content == pdf_from_xml.content


class _Raw(float):
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _Raw(str(value))
    raise TypeError(type(value))


def test_missing_and_mistyped_fields_fail_naming_their_paths(session: Session) -> None:
    data = bill()
    del data["customer"]["name"]
    data["items"][3]["amount"] = "lots"
    with pytest.raises(DataValidationError) as caught:
        render_document(session, "utility-bill", data, "pdf", locale="de_DE")
    messages = [str(v) for v in caught.value.violations]
    assert "/customer/name: required property is missing" in messages
    assert "/items/3/amount: expected number" in messages
    assert "/items/3/amount" in caught.value.detail


def test_standalone_html_embeds_style_and_logo(session: Session) -> None:
    document = render_document(session, "utility-bill", bill(), "html", locale="de_DE")
    page = document.content.decode()
    assert document.media_type.startswith("text/html")
    assert "<style>" in page and "ccm-asset:" not in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert '<html lang="de-DE">' in page
    head = page[page.index("<head>"):page.index("</head>")]
    assert head.index("Content-Security-Policy") < head.index("<style>")
    assert "default-src 'none'" in head
    assert "Jürgen Weiß" in page and "Mühlenstraße 7" in page
    assert document.title and "NW-2026" in document.title


def test_email_is_inlined_with_text_alternative_and_inline_png_logo(session: Session) -> None:
    document = render_document(session, "utility-bill", bill(EMMA), "email", locale="en_GB")
    page = document.content.decode()
    assert "<style" not in page  # every rule inlined for mail clients
    assert 'style="' in page
    _, brand = resolve_specs(session, "utility-bill")
    png = brand.tokens.logo.png
    assert [image.sha256 for image in document.inline_images] == [png]
    assert f"cid:{document.inline_images[0].content_id}" in page
    assert document.subject == f"Your Northwind Energy bill {bill(EMMA)['invoice_number']}"
    assert document.text is not None
    assert "Amount due" in document.text and "€" in document.text
    assert "<" not in document.text
    german = render_document(session, "utility-bill", bill(JURGEN), "email", locale="de_DE")
    assert german.subject is not None and german.subject.startswith("Ihre Northwind")


def test_sms_bill_is_gsm7_with_segment_count(session: Session) -> None:
    document = render_document(session, "utility-bill", bill(EMMA), "sms", locale="en_GB")
    text = document.content.decode()
    assert document.sms_encoding == "GSM-7"
    assert document.sms_segments == 1
    assert "€578.73" in text and "\u00a0" not in text
    german = render_document(session, "utility-bill", bill(JURGEN), "sms", locale="de_DE")
    assert "Ihre Rechnung" in german.content.decode()


def test_bill_has_at_least_twenty_line_items_and_totals_add_up() -> None:
    data = bill_data(EMMA)
    assert len(data["items"]) >= 20
    assert sum(item["amount"] for item in data["items"]) == data["subtotal"]
    gross = data["subtotal"] + sum(tax["amount"] for tax in data["taxes"])
    assert gross - data["payments_received"] == data["total"]


def test_sms_over_the_template_segment_limit_is_an_error(session: Session) -> None:
    import dataclasses

    from ccm.errors import SmsTooLongError

    template, brand = resolve_specs(session, "utility-bill")
    chatty = dataclasses.replace(
        template, sms_max_segments=1,
        bodies={"sms": "{% for i in range(20) %}Your bill {{ invoice_number }}. {% endfor %}"},
    )
    with pytest.raises(SmsTooLongError, match=r"SMS needs \d+ segments .* allows 1"):
        default_renderer().render(chatty, brand, bill(), "en_GB", Channel.SMS)


def test_locale_is_read_in_either_spelling_and_an_unknown_one_is_refused_every_time(
        session: Session) -> None:
    template, brand = resolve_specs(session, "utility-bill")
    renderer = default_renderer()
    for spelling in ("de-AT", "de_AT", "de-at"):
        assert renderer.render(template, brand, bill(), spelling, "sms").locale == "de_AT"
    for _ in range(2):  # a refusal is not remembered as an answer
        with pytest.raises(InputError, match="unknown locale 'xx_QQ'"):
            renderer.render(template, brand, bill(), "xx_QQ", "sms")
