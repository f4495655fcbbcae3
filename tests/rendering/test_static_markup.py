"""Templates whose own markup is checked once: a render then checks only what data put in,
and must stay exactly as safe as the full sanitiser."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from ccm.rendering.engine import Renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import BrandSpec, Channel, TemplateSpec
from ccm.rendering.static_markup import MarkupPlan
from ccm.stock.customers import SAMPLE_CUSTOMERS, bill_data


def spec(body: str, channel: str = "html", **extra: Any) -> TemplateSpec:
    return TemplateSpec(key="probe", version=1, kind="notice", journey_key="j", stage_key="s",
                        default_locale="en_GB", bodies={channel: body},
                        data_schema={"type": "object"}, **extra)


def plan(renderer: Renderer, body: str, **extra: Any) -> MarkupPlan:
    return renderer.markup_plan(spec(body, **extra), Channel.HTML)


@pytest.mark.parametrize("channel", [Channel.HTML, Channel.EMAIL])
def test_stock_bill_markup_is_checked_once(session: Session, renderer: Renderer,
                                           channel: Channel) -> None:
    template, _ = resolve_specs(session, "utility-bill")
    assert renderer.markup_plan(template, channel).static


@pytest.mark.parametrize("channel", ["html", "email"])
def test_checked_once_gives_what_the_full_sanitiser_gives(
    session: Session, channel: str
) -> None:
    template, brand = resolve_specs(session, "utility-bill")
    data = bill_data(SAMPLE_CUSTOMERS[2])
    fast, full = Renderer(), Renderer()
    full._plans[(template.fingerprint, Channel(channel))] = MarkupPlan(static=False)
    one = fast.render(template, brand, data, "de_DE", channel)
    other = full.render(template, brand, data, "de_DE", channel)
    assert one.warnings == other.warnings == ()
    assert one.text == other.text
    assert b'src="data:image/svg+xml;base64,' in one.content or b'src="cid:' in one.content


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('<p><img src="http://tracker.example/p.png"></p>', "sanitiser"),
        ('<p onclick="steal()">x</p>', "sanitiser"),
        ('<a href="javascript:alert(1)">x</a>', "sanitiser"),
        ("<script>alert(1)</script>", "sanitiser"),
        ("<!-- [if mso]> <![endif] -->", "comment"),
        ("<p>{{ text|safe }}</p>", "safe"),
        ("<p>{{ text|urlize }}</p>", "urlize"),
        ("<p {{ attributes }}>x</p>", "inside a tag"),
        ("<p class={{ name }}>x</p>", "unquoted"),
        ('<p class="{% if x %}a{% endif %}">x</p>', "inside a tag"),
        ("<style>p { color: {{ colour }} }</style>", "raw text"),
        ('<p onclick="{{ handler }}">x</p>', "never kept"),
        ('<form action="{{ url }}"></form>', "never kept"),
        ("{% autoescape false %}{{ x }}{% endautoescape %}", "autoescape"),
        ("{% set x %}<b>{% endset %}{{ x }}", "captures markup"),
        ("{% macro m() %}<b>{% endmacro %}{{ m() }}", "calls"),
        ("{% filter upper %}<b>{% endfilter %}", "filter"),
        ("<p>{{ cycler('a').next() }}</p>", "calls"),
        ("<title>{% block t %}</title><img src=\"{{ x }}\">{% endblock %}", "raw text"),
    ],
)
def test_template_with_bad_or_unprovable_markup_is_refused_at_spec_build(
    renderer: Renderer, body: str, why: str
) -> None:
    result = plan(renderer, body)
    assert not result.static
    assert result.reason is not None and why in result.reason


def test_translation_holding_markup_is_refused_at_spec_build(renderer: Renderer) -> None:
    body = "<p>{% trans %}Hello{% endtrans %}</p>"
    assert plan(renderer, body).static
    assert not plan(renderer, body, translations={"en": {"Hello": "<b>Hi</b>"}}).static
    assert not plan(renderer, '<p title="{% trans %}Say "hi"{% endtrans %}">x</p>').static


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("javascript:alert(document.cookie)", True),
        ("  JaVaScRiPt:alert(1)", True),
        ("http://tracker.example/pixel.png", True),
        ("//tracker.example/pixel.png", True),
        ("file:///etc/passwd", True),
        ("data:text/html;base64,PHNjcmlwdD4=", True),
        ("data:image/png;base64,iVBORw0KGgo=", False),
    ],
)
def test_data_urls_in_resource_attributes_are_neutralised(
    renderer: Renderer, brand: BrandSpec, url: str, refused: bool
) -> None:
    body = ('<!DOCTYPE html><html><head><title>t</title></head><body>'
            '<img src="{{ picture }}" alt="p"><div style="background: url({{ picture }})">x'
            '</div><svg><use href="{{ picture }}"></use></svg></body></html>')
    assert plan(renderer, body).static
    document = renderer.render(spec(body), brand, {"picture": url}, None, "html")
    content = document.content.decode()
    if refused:
        assert url.strip().encode() not in document.content
        assert "url(" not in content.split("<body>", 1)[1]
        assert sum(url.strip() in w for w in document.warnings) >= 1
    else:
        assert f'src="{url}"' in content


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://northwind.example/account", True),
        ("mailto:billing@northwind.example", True),
        ("javascript:alert(1)", False),
        ("vbscript:msgbox(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
    ],
)
def test_data_urls_in_links_keep_only_web_and_mail(
    renderer: Renderer, brand: BrandSpec, url: str, kept: bool
) -> None:
    body = '<p><a href="{{ link }}">account</a></p>'
    assert plan(renderer, body).static
    document = renderer.render(spec(body), brand, {"link": url}, None, "html")
    assert (b"href=" in document.content) is kept
    assert (b"alert" in document.content) is False


def test_data_cannot_break_out_of_an_attribute_or_make_tags(
    renderer: Renderer, brand: BrandSpec
) -> None:
    body = '<p title="{{ text }}" class="{{ text }}">{{ text }}</p>'
    assert plan(renderer, body).static
    attack = '"><img src=x onerror=alert(1)><p x=\'" onclick="alert(2)'
    document = renderer.render(spec(body), brand, {"text": attack}, None, "html")
    content = document.content.decode()
    assert "<img" not in content and ' onclick="' not in content
    assert "&#34;&gt;&lt;img" in content


def test_registry_asset_named_by_data_is_inlined(renderer: Renderer, brand: BrandSpec) -> None:
    body = '<p><img src="{{ brand.logo_url }}" alt="logo"></p>'
    document = renderer.render(spec(body), brand, {}, None, "html")
    assert b'src="data:image/svg+xml;base64,' in document.content
    assert document.warnings == ()
