"""Customers get their language: German for Germany, German for Austria through the
``de_AT -> de`` fallback, the template's own text where no catalog answers; and the msgids
extraction finds are exactly those rendering looks up."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy.orm import Session
from support import pdf_text

from ccm.documents.service import DocumentRequest, prepare_document, render_prepared
from ccm.i18n.extract import TemplateSource, extract_messages
from ccm.rendering.engine import Renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import RenderedDocument, TemplateSpec
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

GERMAN, AUSTRIAN = SAMPLE_CUSTOMERS[2], SAMPLE_CUSTOMERS[3]
FRENCH = dataclasses.replace(SAMPLE_CUSTOMERS[0], customer_id="C-109001", locale="fr_FR")
assert (GERMAN.locale, AUSTRIAN.locale) == ("de_DE", "de_AT")


def bill(session: Session, customer: Any, channel: str) -> RenderedDocument:
    request = DocumentRequest(template="utility-bill", customer_id=customer.customer_id,
                              channel=channel, locale=customer.locale,
                              data=bill_data(customer))
    return render_prepared(prepare_document(session, request))


def text_of(document: RenderedDocument) -> str:
    if document.media_type == "application/pdf":
        return str(pdf_text(document.content))
    return document.content.decode()


def test_the_stock_bill_has_only_a_german_catalog(session: Session) -> None:
    template, _ = resolve_specs(session, "utility-bill")
    assert set(template.translations) == {"de"}  # de_DE and de_AT both fall back to it


@pytest.mark.parametrize("channel", ["html", "sms", "pdf"])
@pytest.mark.parametrize("customer", [GERMAN, AUSTRIAN], ids=["de_DE", "de_AT"])
def test_german_and_austrian_customers_get_german_text(session: Session, customer: Any,
                                                       channel: str) -> None:
    text = text_of(bill(session, customer, channel))
    if channel == "sms":
        assert text.startswith("Northwind: Ihre Rechnung ")
        assert "your bill" not in text
        return
    assert "Ihre Energierechnung" in text and "Your energy bill" not in text
    assert "Zu zahlender Betrag" in text and "Amount due" not in text
    # The payment slip is a shared block: its messages come from the bill's catalog too.
    assert "Empfänger" in text and "Payee" not in text


@pytest.mark.parametrize("channel", ["html", "sms", "pdf"])
def test_a_locale_without_a_catalog_gets_the_template_text(session: Session,
                                                           channel: str) -> None:
    text = text_of(bill(session, FRENCH, channel))
    if channel == "sms":
        assert text.startswith("Northwind: your bill ") and "Ihre" not in text
        return
    assert "Your energy bill" in text and "Payee" in text
    assert "Ihre Energierechnung" not in text and "Empfänger" not in text


# -- what extraction finds is what rendering asks for --------------------------------

TRICKY_HTML = """<p>{% trans %}
  Indented text over
  two lines
{% endtrans %}</p>
  {% trans name=name %}Dear {{ name }}, 100% sure{% endtrans %}
<p>{{ _("Call %(phone)s now", phone=phone) }}</p>
{% for i in [1] %}
    {% trans count=n %}{{ count }} meter{% pluralize %}{{ count }} meters{% endtrans %}
{% endfor %}
<p>{{ gettext("Plain & simple") }}</p>
"""
TRICKY_SMS = ("{% trans name=name %}Hi {{ name }}{% endtrans %} "
              "{{ ngettext('%(num)s day', '%(num)s days', n) }}")


def test_extracted_msgids_are_the_ones_rendering_looks_up(session: Session) -> None:
    _, brand = resolve_specs(session, "utility-bill")
    messages = extract_messages(TemplateSource({"html": TRICKY_HTML, "sms": TRICKY_SMS}))
    catalog: dict[str, Any] = {
        m.msgid: (["ÜB1 " + m.msgid, "ÜB2 " + m.plural] if m.plural else "ÜB " + m.msgid)
        for m in messages}
    assert len(messages) == 7
    # The renderer trims the newline after a block tag: so does extraction (Jinja's and
    # Babel's defaults would keep it, and the msgid would never match).
    assert "  Indented text over\n  two lines\n" in catalog
    assert "Dear %(name)s, 100%% sure" in catalog  # new-style gettext escapes %
    spec = TemplateSpec(key="i18n-tricky", version=1, kind="notice", journey_key="-",
                        stage_key="-", default_locale="en_GB",
                        bodies={"html": TRICKY_HTML, "sms": TRICKY_SMS},
                        translations={"de": catalog})
    data = {"name": "Ada", "phone": "040 1234", "n": 3}
    renderer = Renderer()
    html = renderer.render(spec, brand, data, "de_DE", "html", validate=False).content.decode()
    sms = renderer.render(spec, brand, data, "de_AT", "sms", validate=False).content.decode()
    for expected in ("ÜB   Indented text over\n  two lines\n", "ÜB Dear Ada, 100% sure",
                     "ÜB Call 040 1234 now", "ÜB2 3 meters", "ÜB Plain & simple"):
        assert expected in html
    assert sms == "ÜB Hi Ada ÜB2 3 days"
    english = renderer.render(spec, brand, data, "en_GB", "html", validate=False)
    assert "ÜB" not in english.content.decode()
    assert "Dear Ada, 100% sure" in english.content.decode()
