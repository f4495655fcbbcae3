"""Brand governance lint: the stock templates, blocks and layouts pass; an off-brand colour
or font (only where CSS is), an outside image (protocol-relative and srcset too), a literal
inside a Jinja tag and a letter without the legal footer are each reported where they are,
in the body or in the block it reaches."""

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


def test_the_stock_blocks_and_layouts_pass(session: Session) -> None:
    tokens, blocks = _context(session)
    assert {"layout/document", "layout/email", "block/letterhead"} <= blocks.keys()
    everything = "\n".join(f'{{% include "{name}" %}}' for name in sorted(blocks))
    assert lint_template("promotion", {"html": everything}, tokens, blocks) == []


def test_numbers_in_text_are_not_colours(session: Session) -> None:
    tokens, blocks = _context(session)
    html = ('{% extends "layout/document" %}\n'
            "{% block content %}\n"
            "<h1>Invoice #1234</h1>\n"
            "<p>Your ticket #beef about order #2026 (ref #abc) is closed.</p>\n"
            "<style>\n#bad { margin: 0 }\n.ref::before { content: \"#1234\" }\n</style>\n"
            '<a href="https://northwind.example/help">help</a>\n'
            "{% endblock %}\n")
    text = "Invoice #1234, ticket #beef, order #2026.\ncolor: red; font-family: Comic Sans\n"
    bodies = {"pdf": html, "email": html.replace("layout/document", "layout/email"),
              "email_text": text, "sms": text}
    assert lint_template("bill", bodies, tokens, blocks) == []


def test_a_style_element_finding_is_on_its_own_line(session: Session) -> None:
    tokens, blocks = _context(session)
    body = ("<style>\n"
            "h1 {\n"
            "  color: #0b5d4b;\n"
            "  border-bottom: 1px solid\n"
            "    #ff00aa;\n"
            "  font-family: DejaVu Sans,\n"
            "    Papyrus;\n"
            "}\n"
            "</style>\n"
            '<font face="DejaVu Sans" color="fuchsia">x</font>\n'
            '<svg><rect fill="#0b5d4b" stroke="#123456"/></svg>\n')
    got = [(f.line, f.rule, f.message.split(" is ")[0])
           for f in lint_template("promotion", {"html": body}, tokens, blocks)]
    assert got == [(5, "off_brand_colour", "colour #ff00aa"),
                   (7, "off_brand_font", "font family 'Papyrus'"),
                   (10, "off_brand_colour", "colour fuchsia"),
                   (11, "off_brand_colour", "colour #123456")]


def test_protocol_relative_and_srcset_images_are_outside(session: Session) -> None:
    tokens, blocks = _context(session)
    body = ('<img src="//evil.example/a.png">\n'
            '<div style="background: url(//x.example/y.png)"></div>\n'
            '<img srcset="ccm-asset:abc 1x, https://cdn.example/b.png 2x">\n'
            '<img src="ccm-asset:abc" alt="#1">\n'
            '<link rel="stylesheet" href="//fonts.example/css">\n'
            '<a href="//northwind.example/pay">a link is not an image</a>\n')
    findings = lint_template("promotion", {"html": body}, tokens, blocks)
    assert [(f.line, f.rule) for f in findings] == [
        (1, "outside_image"), (2, "outside_image"), (3, "outside_image"), (5, "outside_image")]
    assert "'https://cdn.example/b.png'" in findings[2].message


def test_literals_inside_jinja_are_read_where_they_stand(session: Session) -> None:
    tokens, blocks = _context(session)
    body = ('<p style="color: {{ brand.palette.primary }}">from the tokens</p>\n'
            "<p style=\"color: {{ '#ff00aa' }}\">a literal</p>\n"
            '<p style="color: {% if level == \'red\' %}{{ brand.palette.accent }}'
            '{% endif %}">compared, not output</p>\n'
            "<p>{{ '#123456' }} is text, not CSS</p>\n"
            "<td bgcolor=\"{{ accent or 'crimson' }}\">\n"
            "<img alt=\"\"\n     src=\"{{ 'https://cdn.example/y.png' }}\">\n"
            "<div style=\"{{ 'color: #0b5d4b; background: url(//x.example/z.png)' }}\">\n")
    findings = lint_template("promotion", {"html": body}, tokens, blocks)
    assert [(f.line, f.rule, f.message.split(" is ")[0]) for f in findings] == [
        (2, "off_brand_colour", "colour #ff00aa"),
        (5, "off_brand_colour", "colour crimson"),
        (7, "outside_image", "'https://cdn.example/y.png'"),
        (8, "outside_image", "'//x.example/z.png'"),
    ]


def test_a_reached_block_is_linted_once_under_its_own_name(session: Session) -> None:
    tokens, blocks = _context(session)
    blocks = {**blocks,
              "block/letterhead": blocks["block/letterhead"].replace(
                  '<div class="sender">', '<div class="sender" style="color: #ff00aa">'),
              "layout/email": blocks["layout/email"].replace(
                  'width="160"', 'width="160" srcset="//cdn.example/logo@2x.png 2x"')}
    letterhead_line, layout_line = (
        next(n for n, line in enumerate(blocks[name].splitlines(), 1) if mark in line)
        for name, mark in (("block/letterhead", "#ff00aa"), ("layout/email", "srcset")))
    bodies = {"pdf": '{% extends "layout/document" %}',
              "html": '{% extends "layout/document" %}',
              "email": '{% extends "layout/email" %}'}
    findings = lint_template("letter", bodies, tokens, blocks)
    assert [(f.part, f.line, f.rule) for f in findings] == [
        ("block/letterhead", letterhead_line, "off_brand_colour"),
        ("layout/email", layout_line, "outside_image")]
    assert str(findings[0]).startswith(f"block/letterhead:{letterhead_line}: colour #ff00aa")


def test_the_families_of_a_font_shorthand_are_checked(session: Session) -> None:
    tokens, blocks = _context(session)
    body = ("<style>\n"
            "h1 { font: bold 18px/1.2 'DejaVu Sans', sans-serif }\n"
            "h2 { font: italic small-caps 700 1.1em Papyrus, serif }\n"
            "h3 { font: x-large/110% \"Comic Sans MS\" }\n"
            "h4 { font: caption } h5 { font: 12pt var(--brand-body) }\n"
            "</style>\n"
            '<p style="font: 10pt/12pt Wingdings">x</p>\n')
    got = [(f.line, f.message.split(" is ")[0])
           for f in lint_template("promotion", {"html": body}, tokens, blocks)]
    assert got == [(3, "font family 'Papyrus'"), (4, "font family '\"Comic Sans MS\"'"),
                   (7, "font family 'Wingdings'")]


def test_a_literal_set_to_a_variable_is_read_where_the_variable_is_output(
        session: Session) -> None:
    tokens, blocks = _context(session)
    body = ("{% set accent = '#ff00aa' %}\n"
            "{% set safe = brand.palette.primary %}\n"
            "{% set face = 'Papyrus' if fancy else 'DejaVu Sans' %}\n"
            "{% set level = 'red' %}{% if level == 'red' %}urgent{% endif %}\n"
            '<p style="color: {{ accent }}; background: {{ safe }}">x</p>\n'
            '<p style="font-family: {{ face }}, serif">y</p>\n'
            "<p>{{ accent }} and {{ level }} are text here, not CSS</p>\n"
            '<p style="color: {{ \'accent\' | length }}">a string is not the variable</p>\n')
    got = [(f.line, f.message.split(" is ")[0])
           for f in lint_template("promotion", {"html": body}, tokens, blocks)]
    assert got == [(1, "colour #ff00aa"), (3, "font family 'Papyrus'")]
