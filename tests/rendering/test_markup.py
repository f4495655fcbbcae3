"""Web pages and emails must make a browser or mail client fetch nothing from outside:
only registry assets load (inlined as data: URLs, or as cid: parts of the email)."""

from __future__ import annotations

import pytest
from lxml import etree

from ccm.rendering import sanitise
from ccm.rendering.markup import (
    content_security_policy,
    data_url,
    rewrite_resources,
    rewrite_stylesheet,
)
from ccm.rendering.spec import AssetData

LOGO = AssetData(sha256="ab" * 32, media_type="image/png", content=b"\x89PNG\r\n\x1a\n")
ASSETS = {LOGO.sha256: LOGO}
ASSET_URL = f"ccm-asset:{LOGO.sha256}"
CID = f"cid:{LOGO.sha256[:16]}@ccm"
PNG = "data:image/png;base64,iVBORw0KGgo="


def to_cid(asset: AssetData) -> str:
    return f"cid:{asset.sha256[:16]}@ccm"


REWRITERS = {"web": data_url, "email": to_cid}


def rewrite(page: str, channel: str = "web") -> tuple[str, list[str]]:
    warnings: list[str] = []
    return rewrite_resources(page, ASSETS, REWRITERS[channel], warnings), warnings


# (markup, the outside URL it would make a client fetch)
LEAKS = {
    "unquoted src": ("<img src=http://evil.test/u.png alt=x>", "http://evil.test/u.png"),
    "svg image href": (
        '<svg><image href="http://evil.test/svg.png"/></svg>', "http://evil.test/svg.png"
    ),
    "svg image xlink:href": (
        '<svg xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<image xlink:href="http://evil.test/xl.png"/></svg>',
        "http://evil.test/xl.png",
    ),
    "svg use href": (
        '<svg><use href="http://evil.test/sprite.svg#a"/></svg>', "http://evil.test/sprite.svg"
    ),
    "svg feImage href": (
        '<svg><filter id="f"><feImage href="http://evil.test/fe.png"/></filter></svg>',
        "http://evil.test/fe.png",
    ),
    "svg fill url": (
        '<svg><rect fill="url(http://evil.test/paint.svg#g)"/></svg>', "http://evil.test/paint.svg"
    ),
    "svg animated href": (
        '<svg><image href="#a"><set attributeName="href" to="http://evil.test/anim.png"/>'
        "</image></svg>",
        "http://evil.test/anim.png",
    ),
    "srcset after data": (
        f'<img src="{PNG}" srcset="{PNG} 1x, http://evil.test/ss.png 2x">',
        "http://evil.test/ss.png",
    ),
    "srcset after cid": (
        '<img srcset="cid:logo 1x, http://evil.test/ss2.png 2x">', "http://evil.test/ss2.png"
    ),
    "picture source srcset": (
        '<picture><source srcset="http://evil.test/pic.png 480w"><img src="cid:x"></picture>',
        "http://evil.test/pic.png",
    ),
    "css image-set": (
        "<div style='background-image:image-set(\"http://evil.test/is.png\" 1x)'>x</div>",
        "http://evil.test/is.png",
    ),
    "css -webkit-image-set": (
        "<div style='background:-webkit-image-set(url(http://evil.test/wis.png) 1x)'>x</div>",
        "http://evil.test/wis.png",
    ),
    "css escaped url in style element": (
        "<style>div{background:u\\72l(http://evil.test/esc.png)}</style><div>x</div>",
        "http://evil.test/esc.png",
    ),
    "css escaped url in style attribute": (
        '<div style="background:u\\72l(http://evil.test/esc2.png)">x</div>',
        "http://evil.test/esc2.png",
    ),
    "css entity url": (
        '<div style="background:&#117;rl(http://evil.test/ent.png)">x</div>',
        "http://evil.test/ent.png",
    ),
    "css url with paren in string": (
        '<style>div{background:url("http://evil.test/p)q.png")}</style><div>x</div>',
        "http://evil.test/p)q.png",
    ),
    "css url in media rule": (
        "<style>@media screen{div{background:url(http://evil.test/media.png)}}</style>",
        "http://evil.test/media.png",
    ),
    "css font-face src": (
        "<style>@font-face{font-family:x;src:url(http://evil.test/f.woff2)}</style>",
        "http://evil.test/f.woff2",
    ),
    "css @import": ('<style>@import "http://evil.test/imp.css";</style>', "http://evil.test/imp.css"),
    "css @import url": (
        "<style>@import url(http://evil.test/imp2.css) screen;</style>", "http://evil.test/imp2.css"
    ),
    "css escaped @import": (
        '<style>@\\69mport "http://evil.test/imp3.css";</style>', "http://evil.test/imp3.css"
    ),
    "link stylesheet": (
        '<link rel="stylesheet" href="http://evil.test/l.css">', "http://evil.test/l.css"
    ),
    "link preload": (
        '<link rel=preload as=image href="http://evil.test/pre.png">', "http://evil.test/pre.png"
    ),
    "link icon": ('<link rel="icon" href="http://evil.test/fav.ico">', "http://evil.test/fav.ico"),
    "script src": ('<script src="http://evil.test/s.js"></script>', "http://evil.test/s.js"),
    "inline script": ("<script>fetch('http://evil.test/js')</script>", "http://evil.test/js"),
    "iframe": ('<iframe src="http://evil.test/frame"></iframe>', "http://evil.test/frame"),
    "frame": ('<frame src="http://evil.test/fr">', "http://evil.test/fr"),
    "object data": ('<object data="http://evil.test/ob.swf"></object>', "http://evil.test/ob.swf"),
    "embed": ('<embed src="http://evil.test/em.swf">', "http://evil.test/em.swf"),
    "base": ('<base href="http://evil.test/"><img src="cid:x">', "http://evil.test/"),
    "meta refresh": (
        '<meta http-equiv="refresh" content="0;url=http://evil.test/refresh">',
        "http://evil.test/refresh",
    ),
    "ping": (
        '<a href="https://example.com/" ping="http://evil.test/ping">x</a>',
        "http://evil.test/ping",
    ),
    "event handler": (
        "<img src=\"cid:x\" onerror=\"fetch('http://evil.test/onerror')\">",
        "http://evil.test/onerror",
    ),
    "form action": (
        '<form action="http://evil.test/form"><input name="q"></form>', "http://evil.test/form"
    ),
    "formaction": (
        '<form><button formaction="http://evil.test/fa">go</button></form>', "http://evil.test/fa"
    ),
    "video src": ('<video src="http://evil.test/v.mp4"></video>', "http://evil.test/v.mp4"),
    "video poster": (
        '<video poster="http://evil.test/poster.png"></video>', "http://evil.test/poster.png"
    ),
    "audio src": ('<audio src="http://evil.test/a.mp3"></audio>', "http://evil.test/a.mp3"),
    "source src": (
        '<video><source src="http://evil.test/s.mp4" type="video/mp4"></video>',
        "http://evil.test/s.mp4",
    ),
    "track src": ('<video><track src="http://evil.test/t.vtt"></video>', "http://evil.test/t.vtt"),
    "background attribute": (
        '<table background="http://evil.test/bg.png"><tr><td>x</td></tr></table>',
        "http://evil.test/bg.png",
    ),
    "attributionsrc": (
        '<img src="cid:x" attributionsrc="http://evil.test/attr">', "http://evil.test/attr"
    ),
    "conditional comment": (
        '<!--[if mso]><v:image src="http://evil.test/mso.png"/><![endif]--><p>x</p>',
        "http://evil.test/mso.png",
    ),
    "markup in svg style": (
        "<svg><style><img src=http://evil.test/svgstyle.png></style></svg>",
        "http://evil.test/svgstyle.png",
    ),
    "protocol-relative src": ('<img src="//evil.test/pr.png">', "//evil.test/pr.png"),
    "file src": ('<img src="file:///etc/passwd">', "file:///etc/passwd"),
}


@pytest.mark.parametrize("channel", ["web", "email"])
@pytest.mark.parametrize(("page", "url"), LEAKS.values(), ids=LEAKS.keys())
def test_outside_resource_is_removed_and_reported(page: str, url: str, channel: str) -> None:
    result, warnings = rewrite(page, channel)
    assert url not in result
    assert any(url in w for w in warnings), warnings
    assert all(w.startswith("refused outside resource ") for w in warnings)


def test_substituted_values_in_image_functions_are_refused() -> None:
    page = (
        "<div style=\"--u:'http://evil.test/var.png'\">"
        '<span style="background:image-set(var(--u) 1x);color:red">x</span></div>'
    )
    result, warnings = rewrite(page)
    assert "image-set" not in result and 'style="color:red"' in result
    assert any("var(--u)" in w for w in warnings)


def test_only_the_refused_declaration_or_rule_goes() -> None:
    result, _ = rewrite(
        '<div style="color:red;background:url(http://evil.test/x.png);margin:0">x</div>'
        "<style>p{color:blue;background:url(http://evil.test/y.png)}"
        "@media print{h1{font-size:2em}}</style>"
    )
    assert 'style="color:red;margin:0"' in result
    assert "p{color:blue}@media print{h1{font-size:2em}}" in result
    assert "evil.test" not in result


@pytest.mark.parametrize(("channel", "expected"), [("web", data_url(LOGO)), ("email", CID)])
def test_registry_assets_are_rewritten(channel: str, expected: str) -> None:
    page = (
        f'<img src="{ASSET_URL}" alt="logo">'
        f'<img srcset="{ASSET_URL} 1x, {ASSET_URL} 2x">'
        f'<div style="background:url({ASSET_URL}) no-repeat">x</div>'
        f'<style>.hero{{background-image:url("{ASSET_URL}")}}</style>'
        f'<svg><image href="{ASSET_URL}" width="10" height="10"/></svg>'
    )
    result, warnings = rewrite(page, channel)
    assert warnings == []
    assert "ccm-asset:" not in result
    assert f'src="{expected}"' in result
    assert f'srcset="{expected} 1x, {expected} 2x"' in result
    assert f"background:url({expected}) no-repeat" in result
    assert f'.hero{{background-image:url("{expected}")}}' in result
    assert f'<image href="{expected}"' in result


def test_unknown_registry_asset_is_refused() -> None:
    missing = "ccm-asset:" + "0" * 64
    result, warnings = rewrite(f'<img src="{missing}">')
    assert missing not in result
    assert any(missing in w for w in warnings)


def test_safe_urls_and_links_stay_untouched() -> None:
    page = (
        '<p><a href="https://example.com/bill?id=1&amp;x=2">bill</a> '
        '<a href="http://example.com/">web</a> <a href="mailto:help@example.com">mail</a> '
        '<a href="tel:+494012345">call</a> <a href="#top">top</a></p>'
        '<map name="m"><area href="https://example.com/area" alt="a"></map>'
        f'<img src="{PNG}" alt="png"><img src="data:image/jpeg;base64,/9j/" alt="jpeg">'
        '<img src="data:image/gif;base64,R0lGOD" alt="gif"><img src="cid:part1@ccm" alt="cid">'
        '<svg><defs><linearGradient id="g"></linearGradient></defs>'
        '<rect fill="url(#g)" width="1" height="1"></rect><use href="#g"></use></svg>'
        f'<div style="color:#123;background:url({PNG})">styled</div>'
    )
    result, warnings = rewrite(page)
    assert warnings == []
    for kept in (
        'href="https://example.com/bill?id=1&amp;x=2"', 'href="http://example.com/"',
        'href="mailto:help@example.com"', 'href="tel:+494012345"', 'href="#top"',
        'href="https://example.com/area"', f'src="{PNG}"', 'src="data:image/jpeg;base64,/9j/"',
        'src="data:image/gif;base64,R0lGOD"', 'src="cid:part1@ccm"', 'fill="url(#g)"',
        'href="#g"', f'style="color:#123;background:url({PNG})"',
    ):
        assert kept in result


def test_script_links_are_refused() -> None:
    result, warnings = rewrite('<a href=" javascript:alert(1)">x</a>')
    assert result == "<a>x</a>"
    assert any("javascript:alert(1)" in w for w in warnings)


def test_customer_text_is_never_read_as_css() -> None:
    text = "url(" * 20000
    page = f"<p>{text}</p><p>@import url(http://evil.test/x.css); keep me</p><p>second</p>"
    result, warnings = rewrite(page)
    assert result == page  # text is text: nothing deleted, nothing fetched
    assert warnings == []


def test_document_survives_with_its_text_escaped_as_it_was() -> None:
    page = (
        '<!DOCTYPE html>\n<html lang="de-DE">\n<head>\n<meta charset="utf-8">\n'
        "<title>Rechnung · Jürgen</title>\n</head>\n<body>\n"
        "<p>Jürgen Weiß, Mühlenstraße 7: 1.234,56\u00a0€ &lt;script&gt;alert(1)&lt;/script&gt;"
        " AT&amp;T</p>\n</body>\n</html>"
    )
    result, warnings = rewrite(page)
    assert warnings == []
    assert result.startswith("<!DOCTYPE html>\n")
    assert '<html lang="de-DE">' in result
    assert '<meta charset="utf-8">' in result
    assert "<title>Rechnung · Jürgen</title>" in result
    assert "Jürgen Weiß, Mühlenstraße 7: 1.234,56\u00a0€" in result
    assert "&lt;script&gt;alert(1)&lt;/script&gt; AT&amp;T" in result
    assert "<script" not in result


def test_fragments_stay_fragments() -> None:
    result, _ = rewrite("Hello <b>you</b> there")
    assert result == "Hello <b>you</b> there"


def test_comments_are_dropped() -> None:
    result, warnings = rewrite("<!-- before --><p>a<!-- note -->b</p><!-- after -->")
    assert result == "<p>ab</p>"
    assert warnings == []


def test_safe_style_is_kept_as_written() -> None:
    page = (
        "<style><!-- body { color: #222 } .a > .b::after { content: \"\\2014\" } --></style>"
        '<p style="font-style: italic ; margin:0 0 1em">x</p>'
    )
    result, warnings = rewrite(page)
    assert result == page
    assert warnings == []


def test_stylesheet_text_gets_its_fonts_inlined() -> None:
    # The engine passes the standalone page's stylesheet through rewrite_resources.
    css = f"@font-face{{font-family:'Brand';src:url({ASSET_URL})}}\nbody{{color:#111}}\n"
    warnings: list[str] = []
    for result in (rewrite_resources(css, ASSETS, data_url, warnings),
                   rewrite_stylesheet(css, ASSETS, data_url, warnings)):
        assert f"src:url({data_url(LOGO)})" in result
        assert "ccm-asset:" not in result and "body{color:#111}" in result
    assert warnings == []
    sneaky = "@import 'http://evil.test/i.css'; body{background:url(http://evil.test/b.png)}"
    assert "evil.test" not in rewrite_stylesheet(sneaky, ASSETS, data_url, warnings)
    assert warnings and all("evil.test" in w for w in warnings)


def test_deeply_nested_css_is_dropped_without_crashing() -> None:
    result, warnings = rewrite(
        '<div style="background:{}http://evil.test/deep.png">x</div>'.format("image(" * 5000)
    )
    assert "evil.test" not in result and result == "<div>x</div>"
    assert warnings


def test_content_security_policy_allows_only_inline_data() -> None:
    meta = etree.fromstring(content_security_policy(), etree.HTMLParser()).find(".//meta")
    assert meta.get("http-equiv") == "Content-Security-Policy"
    policy = meta.get("content")
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "font-src data:" in policy and "style-src 'unsafe-inline'" in policy


def test_plain_attribute_shortcut_never_skips_a_checked_attribute() -> None:
    plain = sanitise._PLAIN_ATTRS
    assert not plain & (sanitise._WATCHED_ATTRS | sanitise._NEVER_ATTRS)
    assert not any(name.startswith("on") or ":" in name for name in plain)
