"""Tracking links: signed tokens that nobody can forge or alter, click links that can only
lead to a URL the email itself contained, and instrumented emails that differ from what
the renderer made only in their links and the open pixel."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy.orm import Session

from ccm.delivery import tracking
from ccm.delivery.tracking import (
    MAX_TOKEN_LENGTH,
    InstrumentedEmail,
    click_url,
    instrument_email,
    open_pixel_url,
    read_click,
    read_open,
    read_unsubscribe,
    sign_token,
    unsubscribe_url,
    verify_token,
)
from ccm.errors import DeliveryError, TrackingLinkInvalidError

SECRET = b"tracking-secret-for-tests-0123456789"
OTHER_SECRET = b"another-secret-entirely-9876543210"
SEND_ID = "8c0f2b1e-5d4a-4c3b-9a2e-1f0e9d8c7b6a"
BASE = "https://ccm.example.com"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(secret: bytes, purpose: str, payload: str) -> str:
    """A token signed as the module docstring lays it out, around any payload text."""
    mac = hmac.new(secret, purpose.encode() + b"\x00" + payload.encode(), hashlib.sha256)
    return f"{payload}.{b64(mac.digest()[:16])}"


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


# -- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "parts"), [
    ("open", (SEND_ID,)),
    ("click", (SEND_ID, "0")),
    ("click", (SEND_ID, "41")),
    ("unsubscribe", (SEND_ID,)),
    ("unsubscribe", ("kunde-Jürgen-€",)),
])
def test_a_token_round_trips(purpose: str, parts: tuple[str, ...]) -> None:
    token = sign_token(SECRET, purpose, *parts)
    assert verify_token(SECRET, purpose, token) == parts
    assert token.isascii() and "=" not in token and len(token) <= MAX_TOKEN_LENGTH
    assert set(token) <= set(ALPHABET + ".")


def test_the_token_layout_is_the_documented_one() -> None:
    payload = b64(f"{SEND_ID}\x1f3".encode())
    assert sign_token(SECRET, "click", SEND_ID, "3") == forge(SECRET, "click", payload)


def test_tokens_are_deterministic() -> None:
    assert sign_token(SECRET, "open", SEND_ID) == sign_token(SECRET, "open", SEND_ID)
    assert click_url(BASE, SECRET, SEND_ID, 2) == click_url(BASE, SECRET, SEND_ID, 2)
    assert sign_token(SECRET, "open", SEND_ID) != sign_token(OTHER_SECRET, "open", SEND_ID)
    assert sign_token(SECRET, "open", SEND_ID) != sign_token(SECRET, "unsubscribe", SEND_ID)


@pytest.mark.parametrize("purpose", ["open", "click", "unsubscribe"])
def test_changing_any_one_character_is_refused(purpose: str) -> None:
    parts = (SEND_ID, "7") if purpose == "click" else (SEND_ID,)
    token = sign_token(SECRET, purpose, *parts)
    for position, character in enumerate(token):
        if character == ".":
            continue
        for replacement in ("A", "_", "z"):
            if replacement == character:
                continue
            altered = token[:position] + replacement + token[position + 1:]
            with pytest.raises(TrackingLinkInvalidError):
                verify_token(SECRET, purpose, altered)


def test_swapping_the_index_is_refused() -> None:
    token = token_of(click_url(BASE, SECRET, SEND_ID, 0))
    signature = token.split(".")[1]
    swapped = b64(f"{SEND_ID}\x1f1".encode()) + "." + signature
    with pytest.raises(TrackingLinkInvalidError, match="signature"):
        read_click(SECRET, swapped)
    assert read_click(SECRET, token) == (SEND_ID, 0)


def test_another_send_id_with_the_old_signature_is_refused() -> None:
    token = sign_token(SECRET, "unsubscribe", SEND_ID)
    other = b64(b"00000000-0000-0000-0000-000000000000") + "." + token.split(".")[1]
    with pytest.raises(TrackingLinkInvalidError):
        read_unsubscribe(SECRET, other)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    for purpose, read in (("open", read_open), ("unsubscribe", read_unsubscribe)):
        with pytest.raises(TrackingLinkInvalidError):
            read(SECRET, sign_token(OTHER_SECRET, purpose, SEND_ID))
    with pytest.raises(TrackingLinkInvalidError):
        read_click(SECRET, sign_token(OTHER_SECRET, "click", SEND_ID, "0"))


def test_a_token_only_works_for_its_own_purpose() -> None:
    click = token_of(click_url(BASE, SECRET, SEND_ID, 0))
    opened = token_of(open_pixel_url(BASE, SECRET, SEND_ID))
    unsubscribe = token_of(unsubscribe_url(BASE, SECRET, SEND_ID))
    with pytest.raises(TrackingLinkInvalidError):
        read_unsubscribe(SECRET, click)
    with pytest.raises(TrackingLinkInvalidError):
        read_unsubscribe(SECRET, opened)
    with pytest.raises(TrackingLinkInvalidError):
        read_open(SECRET, unsubscribe)
    with pytest.raises(TrackingLinkInvalidError):
        read_click(SECRET, unsubscribe)
    # Same arity, other purpose: only the signature tells them apart.
    forged = forge(SECRET, "open", unsubscribe.split(".")[0])
    assert read_open(SECRET, forged) == SEND_ID
    assert forged != unsubscribe


def test_truncated_or_extended_tokens_are_refused() -> None:
    token = sign_token(SECRET, "click", SEND_ID, "3")
    for length in range(len(token)):
        with pytest.raises(TrackingLinkInvalidError):
            verify_token(SECRET, "click", token[:length])
    for extra in ("=", "==", "A", ".", "\n", " ", "%00", ".gif"):
        with pytest.raises(TrackingLinkInvalidError):
            verify_token(SECRET, "click", token + extra)
        with pytest.raises(TrackingLinkInvalidError):
            verify_token(SECRET, "click", extra + token)


@pytest.mark.parametrize("token", [
    "",
    ".",
    "abc",
    "abc.def",
    "a+b/c.AAAAAAAAAAAAAAAAAAAAAA",
    "äbc.AAAAAAAAAAAAAAAAAAAAAA",
    "abc.AAAAAAAAAAAAAAAAAAAAA\u00e9",
    "A" * 600 + ".AAAAAAAAAAAAAAAAAAAAAA",
])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(TrackingLinkInvalidError):
        verify_token(SECRET, "open", token)


def test_padding_and_non_canonical_base64_are_refused() -> None:
    good = b64(b"kunde-7")  # 7 bytes: 10 characters, the last with 2 unused bits
    assert read_open(SECRET, forge(SECRET, "open", good)) == "kunde-7"
    # Changing unused bits decodes to the same bytes, but it is not the text we signed.
    siblings = [c for c in ALPHABET if c != good[-1]
                and base64.urlsafe_b64decode(good[:-1] + c + "==") == b"kunde-7"]
    assert siblings
    for sibling in siblings:
        with pytest.raises(TrackingLinkInvalidError, match="canonical"):
            read_open(SECRET, forge(SECRET, "open", good[:-1] + sibling))
    with pytest.raises(TrackingLinkInvalidError):
        read_open(SECRET, forge(SECRET, "open", good + "=="))
    with pytest.raises(TrackingLinkInvalidError, match="readable"):
        read_open(SECRET, forge(SECRET, "open", "A"))  # a length no base64 has


def test_signed_but_wrong_payloads_are_refused() -> None:
    """Even with a valid signature the payload must have the purpose's shape."""
    cases: list[tuple[str, bytes]] = [
        ("click", SEND_ID.encode()),  # no index
        ("click", f"{SEND_ID}\x1f1\x1f2".encode()),  # one part too many
        ("open", f"{SEND_ID}\x1f1".encode()),
        ("unsubscribe", b"\x1f"),  # empty parts
        ("open", b"\xff\xfe"),  # not UTF-8
    ]
    for purpose, payload in cases:
        with pytest.raises(TrackingLinkInvalidError):
            verify_token(SECRET, purpose, forge(SECRET, purpose, b64(payload)))
    for index in ("01", "-1", "x", "1.0", " 1", "12345678901"):
        token = forge(SECRET, "click", b64(f"{SEND_ID}\x1f{index}".encode()))
        assert verify_token(SECRET, "click", token) == (SEND_ID, index)
        with pytest.raises(TrackingLinkInvalidError, match="index"):
            read_click(SECRET, token)


def test_an_overlong_token_is_refused_even_when_signed() -> None:
    token = forge(SECRET, "open", b64(b"x" * 400))
    assert len(token) > MAX_TOKEN_LENGTH
    with pytest.raises(TrackingLinkInvalidError):
        read_open(SECRET, token)
    with pytest.raises(ValueError, match="longer"):
        sign_token(SECRET, "open", "x" * 400)


def test_bad_signing_requests_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="purpose"):
        sign_token(SECRET, "redirect", SEND_ID)
    with pytest.raises(ValueError, match="purpose"):
        verify_token(SECRET, "redirect", sign_token(SECRET, "open", SEND_ID))
    with pytest.raises(ValueError, match="part"):
        sign_token(SECRET, "click", SEND_ID)
    with pytest.raises(ValueError, match="part"):
        sign_token(SECRET, "open", "")
    with pytest.raises(ValueError, match="part"):
        sign_token(SECRET, "open", "a\x1fb")
    with pytest.raises(ValueError, match="secret"):
        sign_token(b"short", "open", SEND_ID)
    with pytest.raises(ValueError, match="index"):
        click_url(BASE, SECRET, SEND_ID, -1)
    with pytest.raises(ValueError, match="index"):
        click_url(BASE, SECRET, SEND_ID, True)
    with pytest.raises(ValueError, match="base URL"):
        click_url("ccm.example.com", SECRET, SEND_ID, 0)


def test_the_error_has_its_code() -> None:
    with pytest.raises(TrackingLinkInvalidError) as caught:
        read_open(SECRET, "nonsense")
    assert caught.value.code == "tracking_link_invalid"
    assert caught.value.detail


# -- URLs ---------------------------------------------------------------------------------


def test_url_shapes_and_readers() -> None:
    click = click_url(BASE + "/", SECRET, SEND_ID, 5)
    pixel = open_pixel_url(BASE, SECRET, SEND_ID)
    unsubscribe = unsubscribe_url(BASE + "/", SECRET, SEND_ID)
    assert click.startswith(f"{BASE}/t/c/") and "//t" not in click
    assert pixel.startswith(f"{BASE}/t/o/") and pixel.endswith(".gif")
    assert unsubscribe.startswith(f"{BASE}/u/")
    assert read_click(SECRET, token_of(click)) == (SEND_ID, 5)
    assert read_open(SECRET, token_of(pixel)) == SEND_ID
    assert read_open(SECRET, token_of(pixel).removesuffix(".gif")) == SEND_ID
    assert read_unsubscribe(SECRET, token_of(unsubscribe)) == SEND_ID
    assert click_url("https://ccm.example.com/base", SECRET, SEND_ID, 1).startswith(
        "https://ccm.example.com/base/t/c/")


# -- instrumenting ------------------------------------------------------------------------

UNSUBSCRIBE = unsubscribe_url(BASE, SECRET, SEND_ID)

DOCUMENT = f"""<!DOCTYPE html><html lang="de-DE"><head>
<meta charset="utf-8">
<title>Ihre Rechnung &amp; mehr</title>
<style>a {{ color: #0b5d4b; }} /* <a href="https://style.example/"> */</style>
</head>
<body style="font-family: 'DejaVu Sans', sans-serif;margin: 0;">
<!-- <a href="https://comment.example/">not a link</a> -->
<div class="email"><img src="cid:05a04eafa30c2eca@ccm" alt="Northwind Energy GmbH">
<p>Guten Tag Jürgen Weiß,</p>
<p>Ihr Betrag: 772,82&nbsp;€ · fällig am 1. März</p>
<p><a class="btn" href="https://northwind.example/account/bills/NW-1"
 style="color: #fff;">Rechnung ansehen</a></p>
<p><a href="http://northwind.example/tarife?plan=öko&amp;ref=mail">Tarife</a>
 · <a href="mailto:service@northwind.example">service@northwind.example</a>
 · <a href="tel:+494012345">040 12345</a>
 · <a href="#top">nach oben</a>
 · <a href="/relative">relativ</a>
 · <a href="cid:05a04eafa30c2eca@ccm">Logo</a></p>
<p><a href="https://northwind.example/account">Konto</a> and again
<a href="https://northwind.example/account/bills/NW-1">Rechnung</a></p>
<footer><a href="{UNSUBSCRIBE}">Abmelden</a> · <a href="{BASE}/privacy">Datenschutz</a></footer>
</div>

</body></html>"""

TEXT = """Guten Tag Jürgen Weiß,

Rechnung ansehen (https://northwind.example/account/bills/NW-1)
Tarife (http://northwind.example/tarife?plan=öko&ref=mail)
Konto: https://northwind.example/account.
Nicht verlinkt: https://northwind.example/accounts und https://northwind.example/account/x
Abmelden: {unsubscribe}
"""

LINKS = (
    "https://northwind.example/account/bills/NW-1",
    "http://northwind.example/tarife?plan=öko&ref=mail",
    "https://northwind.example/account",
)


def instrument(markup: str = DOCUMENT, text: str | None = None, *,
               send_id: str = SEND_ID) -> InstrumentedEmail:
    return instrument_email(markup, text, send_id=send_id, base_url=BASE, secret=SECRET)


def parse(markup: str) -> Any:
    return lxml_html.document_fromstring(markup.encode(),
                                         parser=lxml_html.HTMLParser(encoding="utf-8"))


def hrefs(markup: str) -> list[str]:
    return [a.get("href") for a in parse(markup).iter("a")]


def test_every_outside_link_becomes_a_click_link_that_maps_back() -> None:
    email = instrument()
    assert email.links == LINKS
    before, after = hrefs(DOCUMENT), hrefs(email.html)
    assert len(before) == len(after) == 11
    for original, rewritten in zip(before, after, strict=True):
        if original in LINKS:
            assert rewritten.startswith(f"{BASE}/t/c/")
            send_id, index = read_click(SECRET, token_of(rewritten))
            assert send_id == SEND_ID
            assert email.links[index] == original
        else:
            assert rewritten == original  # mailto, tel, #, relative, cid and our own
    assert not [h for h in after if h.startswith("http") and not h.startswith(BASE + "/")]
    for original in LINKS:
        assert f'href="{original}"' not in email.html.replace("&amp;", "&")


def test_our_own_links_and_other_schemes_are_left_alone() -> None:
    email = instrument()
    for kept in (f'href="{UNSUBSCRIBE}"', f'href="{BASE}/privacy"',
                 'href="mailto:service@northwind.example"', 'href="tel:+494012345"',
                 'href="#top"', 'href="/relative"', 'href="cid:05a04eafa30c2eca@ccm"'):
        assert kept in email.html
    # Links hidden in a comment or a stylesheet are not links: left as they are.
    assert '<a href="https://comment.example/">' in email.html
    assert '<a href="https://style.example/">' in email.html


def test_the_same_url_gets_one_index() -> None:
    email = instrument()
    bills = [h for original, h in zip(hrefs(DOCUMENT), hrefs(email.html), strict=True)
             if original == LINKS[0]]
    assert len(bills) == 2 and bills[0] == bills[1]
    assert read_click(SECRET, token_of(bills[0])) == (SEND_ID, 0)


def test_links_are_listed_in_first_seen_order() -> None:
    markup = ("<!DOCTYPE html><html><body>"
              '<a href="https://c.example/">c</a><a href="https://a.example/">a</a>'
              '<a href="https://c.example/">c again</a><a href="https://b.example/x">b</a>'
              '<a href="https://a.example/">a again</a></body></html>')
    email = instrument(markup)
    assert email.links == ("https://c.example/", "https://a.example/", "https://b.example/x")
    indexes = [read_click(SECRET, token_of(h))[1] for h in hrefs(email.html)]
    assert indexes == [0, 1, 0, 2, 1]


def test_the_open_pixel_is_the_last_child_of_body() -> None:
    email = instrument()
    body = parse(email.html).find("body")
    pixel = body[-1]
    assert pixel.tag == "img"
    assert dict(pixel.attrib) == {
        "src": open_pixel_url(BASE, SECRET, SEND_ID), "width": "1", "height": "1", "alt": "",
        "style": "display:block;border:0;width:1px;height:1px",
    }
    assert read_open(SECRET, token_of(pixel.get("src"))) == SEND_ID
    assert email.html.endswith(f'<img src="{pixel.get("src")}" width="1" height="1" alt="" '
                               'style="display:block;border:0;width:1px;height:1px">'
                               "</body></html>")


def test_nothing_else_in_the_document_changes() -> None:
    email = instrument()
    assert email.html.startswith("<!DOCTYPE html><html lang=\"de-DE\">")
    for kept in ("Jürgen Weiß", "772,82&nbsp;€ · fällig", "Ihre Rechnung &amp; mehr",
                 "tarife?plan=öko&amp;ref=mail\">Tarife"):
        assert kept in DOCUMENT
    for kept in ("Jürgen Weiß", "772,82&nbsp;€ · fällig", "Ihre Rechnung &amp; mehr"):
        assert kept in email.html
    # The parsed trees are the same once the pixel is gone and the links are put back.
    before, after = parse(DOCUMENT), parse(email.html)
    after.find("body")[-1].drop_tree()
    for a in after.iter("a"):
        href = a.get("href")
        if href.startswith(f"{BASE}/t/c/"):
            a.set("href", email.links[read_click(SECRET, token_of(href))[1]])
    assert etree.tostring(after) == etree.tostring(before)
    assert after.getroottree().docinfo.doctype == "<!DOCTYPE html>"
    # And so are the bytes: only the href values and the pixel differ.
    expected = DOCUMENT
    for index, url in enumerate(LINKS):
        written = url.replace("&", "&amp;")
        expected = expected.replace(f'href="{written}"',
                                    f'href="{click_url(BASE, SECRET, SEND_ID, index)}"')
    pixel = parse(email.html).find("body")[-1]
    expected = expected.replace("</body>", etree.tostring(pixel, encoding="unicode",
                                                          method="html") + "</body>")
    assert email.html == expected


def test_the_text_part_is_rewritten() -> None:
    text = TEXT.format(unsubscribe=UNSUBSCRIBE)
    email = instrument(text=text)
    assert email.text is not None
    clicks = [click_url(BASE, SECRET, SEND_ID, index) for index in range(3)]
    assert f"Rechnung ansehen ({clicks[0]})" in email.text
    assert f"Tarife ({clicks[1]})" in email.text
    assert f"Konto: {clicks[2]}." in email.text
    # Longer URLs that only start like a link are not links of the email.
    assert ("Nicht verlinkt: https://northwind.example/accounts und "
            "https://northwind.example/account/x") in email.text
    assert f"Abmelden: {UNSUBSCRIBE}" in email.text
    assert "Guten Tag Jürgen Weiß," in email.text
    assert instrument(text=None).text is None


def test_the_longest_url_is_replaced_first() -> None:
    markup = ('<html><body><a href="https://x.example/a">a</a>'
              '<a href="https://x.example/a/b">b</a></body></html>')
    email = instrument(markup, "short https://x.example/a long https://x.example/a/b\n")
    short, long = (click_url(BASE, SECRET, SEND_ID, index) for index in range(2))
    assert email.text == f"short {short} long {long}\n"


def test_instrumenting_is_deterministic() -> None:
    text = TEXT.format(unsubscribe=UNSUBSCRIBE)
    first, second = instrument(text=text), instrument(text=text)
    assert first == second
    assert hashlib.sha256(first.html.encode()).digest() == hashlib.sha256(
        second.html.encode()).digest()
    other = instrument(text=text, send_id="another-send")
    assert other.links == first.links and other.html != first.html


def test_quoting_and_spacing_of_hrefs_as_a_browser_reads_them() -> None:
    markup = ("<!DOCTYPE html><html><body>"
              "<a href=https://a.example/x>unquoted</a>"
              "<a href='https://b.example/?q=\"1\"'>single</a>"
              '<a HREF="  https://c.example/  ">spaced</a>'
              '<a href="https://d.example/" href="https://evil.example/">first wins</a>'
              '<a href="HTTPS://E.example/">upper case</a>'
              '<a href="javascript:alert(1)">js</a>'
              '<a>no href</a>'
              '<a href="https://f.example/?a=1&not=2">legacy entity</a>'
              "</body></html>")
    email = instrument(markup)
    assert email.links == ("https://a.example/x", 'https://b.example/?q="1"',
                           "https://c.example/", "https://d.example/", "HTTPS://E.example/",
                           "https://f.example/?a=1&not=2")
    after = hrefs(email.html)
    assert [read_click(SECRET, token_of(h))[1] for h in after[:5]] == [0, 1, 2, 3, 4]
    assert after[5:7] == ["javascript:alert(1)", None]
    assert "evil.example" not in email.links


def test_a_document_without_body_end_tag_still_gets_its_pixel() -> None:
    for markup in ('<html><body><p><a href="https://a.example/">a</a></p></html>',
                   '<p><a href="https://a.example/">a</a></p>'):
        email = instrument(markup)
        body = parse(email.html).find("body")
        assert body[-1].tag == "img"
        assert email.links == ("https://a.example/",)


def test_raw_text_and_comments_are_not_searched_for_links() -> None:
    markup = ('<!DOCTYPE html><html><head><title><a href="https://t.example/"></title>'
              "</head><body><!--> <a href=\"https://after-empty-comment.example/\">x</a>"
              '<textarea><a href="https://ta.example/"></textarea>'
              '<!-- </body> --></body></html>')
    email = instrument(markup)
    assert email.links == ("https://after-empty-comment.example/",)
    assert email.html.endswith('height:1px"></body></html>')


def test_a_rewrite_the_parser_disagrees_with_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: if the tokenizer missed a link, the email is not sent."""
    real_scan = tracking._scan

    def missing_the_first_link(markup: str) -> Any:
        scan = real_scan(markup)
        del scan.hrefs[0]
        return scan

    monkeypatch.setattr(tracking, "_scan", missing_the_first_link)
    with pytest.raises(DeliveryError, match="could not be tracked"):
        instrument()


def test_every_stock_email_instruments_faithfully(session: Session) -> None:
    from ccm.demo import DEMO_TEMPLATES
    from ccm.rendering.service import render_document
    from ccm.stock.customers import SAMPLE_CUSTOMERS

    for key, make_data in DEMO_TEMPLATES.items():
        for customer in SAMPLE_CUSTOMERS:
            document = render_document(session, key, make_data(customer), "email",
                                       locale=customer.locale)
            markup = document.content.decode()
            email = instrument(markup, document.text)
            assert email.links, key
            assert email.html.startswith("<!DOCTYPE html>")
            assert customer.first_name in email.html
            for url in email.links:
                assert f'href="{url}"' not in email.html
                assert document.text is not None and url in document.text
                assert email.text is not None and url not in email.text
            assert email == instrument(markup, document.text)
