"""Every stock template renders on every channel it declares, in English and German,
with no warnings: the same check a brand owner makes before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session
from support import pdf_text

from ccm.demo import DEMO_TEMPLATES
from ccm.rendering.service import render_document, resolve_specs
from ccm.stock import STOCK_DIR
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data

STOCK_TEMPLATES = sorted(p.name for p in (STOCK_DIR / "templates").iterdir() if p.is_dir())
CUSTOMERS = {c.locale: c for c in SAMPLE_CUSTOMERS}
#: Stock templates the demo leaves out (sent only by the journey), and the data they take.
JOURNEY_ONLY_TEMPLATES = {"payment-reminder": bill_data, "overdue-notice": bill_data}
TEMPLATE_DATA = {**DEMO_TEMPLATES, **JOURNEY_ONLY_TEMPLATES}


def test_the_demo_uses_every_stock_template() -> None:
    assert set(TEMPLATE_DATA) == set(STOCK_TEMPLATES)
    assert not set(DEMO_TEMPLATES) & set(JOURNEY_ONLY_TEMPLATES)
    kinds = {yaml.safe_load((STOCK_DIR / "templates" / key / "template.yaml").read_text())["kind"]
             for key in STOCK_TEMPLATES}
    assert {"bill", "letter", "promotion"} <= kinds


@pytest.mark.parametrize("key", STOCK_TEMPLATES)
@pytest.mark.parametrize("locale", ["en_GB", "de_DE"])
def test_stock_template_renders_on_every_channel(session: Session, key: str,
                                                 locale: str) -> None:
    template, _ = resolve_specs(session, key)
    assert {c.value for c in template.channels} == {"pdf", "html", "email", "sms"}
    assert "de" in template.translations
    customer = CUSTOMERS[locale]
    data = TEMPLATE_DATA[key](customer)
    for channel in template.channels:
        document = render_document(session, key, data, channel, locale=locale)
        assert document.warnings == (), (channel, document.warnings)
        if channel.value == "pdf":
            text = pdf_text(document.content)
            assert customer.name in text
            assert document.page_count is not None and document.page_count >= 1
        elif channel.value == "sms":
            assert document.sms_encoding == "GSM-7"
            assert document.sms_segments is not None
            assert document.sms_segments <= (template.sms_max_segments or 10)
        else:
            assert customer.first_name in document.content.decode()
        if channel.value == "email":
            assert document.subject and document.text
        if locale.startswith("de") and channel.value in ("html", "email"):
            german = [text for text in template.translations["de"].values()
                      if isinstance(text, str) and "%(" not in text and len(text) > 12]
            assert any(text in document.content.decode() for text in german), channel


@pytest.mark.parametrize("key", STOCK_TEMPLATES)
def test_german_catalog_covers_every_message(key: str) -> None:
    """Every msgid the templates use has a German translation (none left empty)."""
    from babel.messages.pofile import read_po

    folder = STOCK_DIR / "templates" / key
    with (folder / "locales" / "de.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    missing = [m.id for m in catalog if m.id and not m.string]
    assert missing == []
    assert len(list(catalog)) > 5


def test_stock_folder_has_brand_assets() -> None:
    brand = STOCK_DIR / "brands" / "northwind"
    assert (brand / "logo.svg").read_text().startswith("<svg")
    assert Path(brand / "logo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
