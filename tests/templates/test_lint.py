"""Brand governance lint: the stock templates pass; an off-brand colour or font, an
outside image and a letter without the legal footer are each reported where they are."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.brand.service import published_brand_version
from ccm.brand.tokens import BrandTokens
from ccm.templates.lint import lint_template, lint_version
from ccm.templates.models import Template, TemplateVersion
from ccm.templates.service import published_blocks


def _context(session: Session) -> tuple[BrandTokens, dict[str, str]]:
    tokens = BrandTokens.model_validate(published_brand_version(session, "northwind").tokens)
    blocks = {name: source for name, (_, source) in published_blocks(session).items()}
    return tokens, blocks


def test_the_stock_templates_pass(session: Session) -> None:
    stock = ["utility-bill", "welcome-letter", "loyalty-offer", "payment-reminder",
             "overdue-notice"]  # other tests add templates of their own to the database
    rows = session.scalars(select(TemplateVersion).join(Template)
                           .where(Template.key.in_(stock))).all()
    assert {row.template.key for row in rows} == set(stock)
    for row in rows:
        assert lint_version(session, row) == [], row.template.key


def test_off_brand_colours_and_fonts_are_reported_with_their_line(session: Session) -> None:
    tokens, blocks = _context(session)
    body = ('{% extends "layout/document" %}\n'
            "{% block content %}\n"
            '<p style="color: #0b5d4b">on brand</p>\n'
            '<p style="color:#FF0000; background: white">red on white</p>\n'
            "<style>h2 { color: crimson; font-family: Comic Sans MS, sans-serif }</style>\n"
            '<p style="color: {{ brand.palette.accent }}">from the tokens</p>\n'
            '<p style="border-color: rgb(1, 2, 3)">{{ "#123456" }}</p>\n'
            "{% endblock %}\n")
    findings = lint_template("letter", {"pdf": body}, tokens, blocks)
    got = [(f.line, f.rule, f.message.split(" is ")[0]) for f in findings]
    assert got == [(4, "off_brand_colour", "colour #FF0000"),
                   (5, "off_brand_colour", "colour crimson"),
                   (5, "off_brand_font", "font family 'Comic Sans MS'"),
                   (7, "off_brand_colour", "colour rgb(1, 2, 3)")]
    assert str(findings[0]).startswith("bodies/pdf:4: colour #FF0000 is not one of")


def test_a_letter_without_the_legal_footer_and_an_outside_image(session: Session) -> None:
    tokens, blocks = _context(session)
    bodies = {"pdf": '<html><body><img src="https://cdn.example/logo.png"></body></html>',
              "email": '{% extends "layout/email" %}',
              "sms": "A text, no footer needed."}
    findings = lint_template("letter", bodies, tokens, blocks)
    assert [(f.part, f.line, f.rule) for f in findings] == [
        ("bodies/pdf", 1, "outside_image"), ("bodies/pdf", None, "missing_legal_footer")]
    assert lint_template("promotion", {"pdf": "<p>Offer</p>"}, tokens, blocks) == []
