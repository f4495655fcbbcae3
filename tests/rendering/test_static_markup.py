"""Templates whose own markup is checked once: a render then checks only what data put in,
and must stay exactly as safe as the full sanitiser."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ccm.brand.stylesheet import ASSET_SCHEME
from ccm.rendering import static_markup
from ccm.rendering.engine import Renderer
from ccm.rendering.markup import insert_head
from ccm.rendering.sanitise import Rewriter
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import AssetData, BrandSpec, Channel, TemplateSpec
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


# -- the page-wide attribute scan ------------------------------------------------------------

_REFERENCE_START_TAG = re.compile(r"<([a-zA-Z][^\s/>]*)([^>]*)>")


def _reference_rewrite_attributes(markup: str, plan: MarkupPlan, rewriter: Rewriter) -> str:
    """rewrite_attributes as it was before the page-wide scan: every start tag in turn."""
    if not plan.watched:
        return markup
    names = "|".join(re.escape(name) for name in sorted(plan.watched))
    hint = re.compile(rf"(?:^|[\s\"'/])(?:{names})\s*=", re.IGNORECASE)
    parts: list[str] = []
    last = 0
    for match in _REFERENCE_START_TAG.finditer(markup):
        attributes = match.group(2)
        if not attributes or not hint.search(attributes):
            continue
        rebuilt = static_markup._rewrite_tag(match.group(1).lower(), attributes, plan.watched,
                                             rewriter)
        if rebuilt is not None:
            parts.append(markup[last:match.start(2)])
            parts.append(rebuilt)
            last = match.end(2)
    if not parts:
        return markup
    parts.append(markup[last:])
    return "".join(parts)


_PIECES = ("<", ">", '"', "'", "/", "=", " ", "\t", "\n", "\u00a0", "\x0c", "a", "img", "p",
           "src", "SRC", "sRc", "style", "Style", "href", "x", "url(", ")", "http://t.example/",
           f"{ASSET_SCHEME}{'ab' * 32}", "<img ", " src=", ' style="', "background:url(http://t/)",
           "<a ", " href=", "javascript:1", "İ", "é", ":", "xml:base", "onclick", "ſ", "K",
           "data:image/png;base64,AA==", "#top")
_WATCHED = (frozenset({"src", "style"}),
            frozenset({"href", "src", "style", "xml:base", "onclick", "background"}),
            frozenset({"src"}))


@pytest.mark.parametrize("seed", range(4))
def test_page_wide_scan_gives_what_the_tag_by_tag_scan_gives(seed: int) -> None:
    """Random markup (broken tags, quotes in names, case and Unicode tricks): the same
    output and the same refusals as looking at every start tag."""
    rng = random.Random(seed)
    asset = AssetData(sha256="ab" * 32, media_type="image/png", content=b"x")
    rewritten = 0
    for _ in range(5000):
        markup = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 50)))
        watched = rng.choice(_WATCHED)
        fast_warnings: list[str] = []
        reference_warnings: list[str] = []
        fast = static_markup.rewrite_attributes(
            markup, MarkupPlan(static=True, watched=watched),
            Rewriter({asset.sha256: asset}, lambda a: "data:image/png;base64,eA==",
                     fast_warnings))
        reference = _reference_rewrite_attributes(
            markup, MarkupPlan(static=True, watched=watched),
            Rewriter({asset.sha256: asset}, lambda a: "data:image/png;base64,eA==",
                     reference_warnings))
        assert (fast, fast_warnings) == (reference, reference_warnings), markup
        rewritten += fast != markup
    assert rewritten > 200  # the markup does exercise the rewrite


def test_unusual_watched_names_take_the_tag_by_tag_scan() -> None:
    per_tag, page_wide = static_markup._hints(frozenset({"src", "we\"ird"}))
    assert page_wide is None and per_tag.search(' src="x"')
    assert static_markup._hints(frozenset({"src"}))[1] is not None


def test_page_style_goes_just_before_the_head_end_whatever_the_title_holds() -> None:
    # "İ" lowers to two characters: a search in the lowered page would land inside </head>.
    page = "<html><head><title>İİ İstanbul</title></HEAD><body>x</body></html>"
    assert insert_head(page, "<style>s</style>") == \
        "<html><head><title>İİ İstanbul</title><style>s</style></HEAD><body>x</body></html>"
    assert insert_head("<p>x</p>", "<style>s</style>") == "<style>s</style><p>x</p>"
