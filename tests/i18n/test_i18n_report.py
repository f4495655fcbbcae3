"""The missing-translations report: per template version and locale, the messages its
fallback chain does not translate, with the part and line they are used on."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccm.errors import InputError
from ccm.i18n.cli import i18n_app
from ccm.i18n.report import TEMPLATE_TEXT, TranslationReport, registry_report, version_report
from ccm.templates.models import TemplateKind, TemplateVersion
from ccm.templates.service import TemplateContent, add_template_version, ensure_template

STOCK = ("loyalty-offer", "overdue-notice", "payment-reminder", "utility-bill",
         "welcome-letter")
EMAIL = """<p>{% trans %}Alpha{% endtrans %}</p>
<p>{% trans %}Bravo{% endtrans %}</p>
<p>{% trans %}Charlie{% endtrans %}</p>
"""
SMS = "{% trans %}Delta{% endtrans %} {{ ngettext('%(num)s day', '%(num)s days', 2) }}"


def create_version(session: Session, translations: dict[str, Any]) -> TemplateVersion:
    """A draft with messages in its email body, SMS body and subject."""
    key = f"i18n-{uuid.uuid4().hex[:10]}"
    template = ensure_template(session, key, TemplateKind.NOTICE, "northwind")
    content = TemplateContent(
        journey_key="utility-customer", stage_key="first-bill",
        bodies={"email": EMAIL, "sms": SMS}, subject="{% trans %}Echo{% endtrans %}",
        data_schema={"type": "object"}, translations=translations)
    return add_template_version(session, template, content)


def missing(report: TranslationReport, locale: str) -> list[tuple[str, str, int]]:
    coverage = next(c for c in report.locales if c.locale == locale)
    return [(m.msgid, m.part, m.line) for m in coverage.missing]


def test_messages_a_catalog_lacks_are_reported_with_part_and_line(session: Session) -> None:
    row = create_version(session, {
        "de": {"Alpha": "A", "Bravo": "B", "%(num)s day": ["%(num)s Tag", ""]},
        "de_AT": {"Charlie": "C"},
    })
    report = version_report(session, row.template.key, row.version)
    assert (report.version, report.status, report.messages) == (1, "draft", 6)
    assert [c.locale for c in report.locales] == ["de", "de_AT"]
    # The plural has one of its two forms: "2 days" would come out in English.
    assert missing(report, "de") == [("Charlie", "email", 3), ("Delta", "sms", 1),
                                     ("%(num)s day", "sms", 1), ("Echo", "subject", 1)]
    austrian = report.locales[1]
    assert austrian.catalog_chain == ("de_AT", "de")
    assert missing(report, "de_AT") == [("Delta", "sms", 1), ("%(num)s day", "sms", 1),
                                        ("Echo", "subject", 1)]
    assert dict(austrian.answered_by) == {"Alpha": "de", "Bravo": "de", "Charlie": "de_AT"}
    assert austrian.answers() == {"de": 2, "de_AT": 1}
    assert austrian.missing[1].plural == "%(num)s days"
    assert not report.complete


def test_locales_asked_for_without_a_catalog(session: Session) -> None:
    row = create_version(session, {"de": {"Alpha": "A", "Bravo": "B", "Charlie": "C",
                                          "Delta": "D", "Echo": "E",
                                          "%(num)s day": ["%(num)s Tag", "%(num)s Tage"]}})
    report = version_report(session, row.template.key, row.version,
                            ["de-AT", "fr_FR", "en_US", "de"])
    assert [c.locale for c in report.locales] == ["de", "de_AT", "fr_FR", "en_US"]
    austrian, french, american = report.locales[1:]
    assert austrian.catalog_chain == ("de",) and not austrian.own_catalog
    assert austrian.missing == () and austrian.translated == 6
    assert set(austrian.answered_by.values()) == {"de"}
    assert french.catalog_chain == () and len(french.missing) == 6
    # The template is written in en_GB: English locales read its own text.
    assert american.missing == () and set(american.answered_by.values()) == {TEMPLATE_TEXT}
    assert report.complete is False
    with pytest.raises(InputError, match="unknown locale"):
        version_report(session, row.template.key, row.version, ["xx_QQ"])


def test_the_stock_registry_misses_no_german_translation(session: Session) -> None:
    reports = {r.template: r for r in registry_report(session, ["de_AT", "de_DE"])
               if r.template in STOCK}
    assert set(reports) == set(STOCK)
    for key, report in reports.items():
        assert [c.locale for c in report.locales] == ["de", "de_AT", "de_DE"], key
        assert report.messages > 10, key
        for coverage in report.locales:
            assert coverage.missing == (), (key, coverage.locale)
            assert coverage.catalog_chain == ("de",)
            assert coverage.translated == report.messages
    # The bill's payment slip is a shared block: its messages count for the bill.
    bill = registry_report(session, template="utility-bill")[0]
    assert "Payee" in bill.locales[0].answered_by


def test_ccm_i18n_report(engine: Engine) -> None:
    app = typer.Typer()
    app.add_typer(i18n_app, name="i18n")
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    result = runner.invoke(app, ["i18n", "report", "--database-url", url, "--template",
                                 "utility-bill", "--locale", "de_AT", "--json"])
    assert result.exit_code == 0, result.output
    [bill] = json.loads(result.output)
    assert bill["template"] == "utility-bill" and bill["default_locale"] == "en_GB"
    assert [(c["locale"], c["catalog_chain"], c["missing"]) for c in bill["locales"]] == [
        ("de", ["de"], []), ("de_AT", ["de"], [])]
    french = runner.invoke(app, ["i18n", "report", "--database-url", url, "--template",
                                 "utility-bill", "--locale", "fr_FR", "--strict"])
    assert french.exit_code == 1
    assert "fr_FR" in french.output and "pdf:11  Your energy bill" in french.output
    unknown = runner.invoke(app, ["i18n", "report", "--database-url", url, "--template",
                                  f"no-such-{uuid.uuid4().hex[:6]}"])
    assert unknown.exit_code == 2 and "not_found" in unknown.output
