"""Signed tracking links: the open pixel, click redirects and unsubscribe links of an email.

Before an email is sent its HTML is *instrumented* (:func:`instrument_email`): every
http(s) link becomes a click link on ccm's own public URL, ``{base}/t/c/{token}``, an open
pixel ``{base}/t/o/{token}.gif`` is added as the last child of ``<body>``, and the same
URLs in the plain-text part become the same click links. The unsubscribe page is
``{base}/u/{token}``.

No open redirect
    A click token holds only the send id and the link's *index*, never a URL. The URLs
    are the ones the rendered template contained (:attr:`InstrumentedEmail.links`); the
    caller stores them with the send, and the click handler redirects to
    ``links[index]`` of that send. A token, forged or not, can therefore only ever lead
    to a URL the template itself linked to: there is nothing in it to point elsewhere.

Deterministic
    Tokens carry no timestamp, nonce or expiry, and instrumenting walks the document in
    order: the same send id, rendered email and secret always give the same bytes. The
    stored email's SHA-256 is that of the instrumented email, and re-instrumenting the
    stored rendering must reproduce it exactly, so nothing here may vary between runs.

Token layout
    ``<payload>.<signature>``, both base64url without padding (``A-Z a-z 0-9 - _``)::

        payload   = base64url(UTF-8 of the parts joined by U+001F)
        signature = base64url(HMAC-SHA256(secret, purpose + "\\x00" + payload)[:16])

    The purpose ("open", "click" or "unsubscribe") is signed but not written: a token
    made for one purpose fails the signature check for any other. The signature covers
    the payload *text*, and the payload must be the canonical encoding of what it
    decodes to, so no two strings are the same token. Each purpose has a fixed number
    of parts (click: send id and index; open and unsubscribe: send id). A token longer
    than :data:`MAX_TOKEN_LENGTH`, with any character outside that alphabet, a wrong
    signature, a bad encoding or the wrong number of parts raises
    :class:`~ccm.errors.TrackingLinkInvalidError`.

The document is rewritten in place, not re-serialised: an HTML tokenizer (the tokenizer
of the HTML standard, reduced to what finding ``<a href>`` and ``</body>`` needs) finds
where each link's ``href`` value and the closing ``</body>`` are, and only those spans
change; the doctype, entities such as ``&nbsp;``, attribute quoting and every other
byte stay as the renderer wrote them (lxml's serialiser would, among other things,
percent-encode non-ASCII ``href`` and ``src`` values). The result is then parsed with
lxml together with the original, and the two trees must be identical once the pixel is
taken out and each rewritten link is put back: if they are not, the email is not sent
(:class:`~ccm.errors.DeliveryError`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape, unescape
from html.entities import html5 as _ENTITIES
from typing import Any, Final
from urllib.parse import SplitResult, urlsplit

from lxml import etree
from lxml import html as lxml_html

from ccm.errors import DeliveryError, TrackingLinkInvalidError

__all__ = [
    "MAX_TOKEN_LENGTH",
    "PURPOSES",
    "InstrumentedEmail",
    "click_url",
    "instrument_email",
    "open_pixel_url",
    "read_click",
    "read_open",
    "read_unsubscribe",
    "sign_token",
    "unsubscribe_url",
    "verify_token",
]

#: Each purpose a token can be made for, and how many parts its payload has.
PURPOSES: Final[Mapping[str, int]] = {"open": 1, "click": 2, "unsubscribe": 1}
#: The longest token :func:`verify_token` reads (a send id of 36 characters makes ~75).
MAX_TOKEN_LENGTH: Final = 512
#: The shortest secret accepted: an HMAC key should not be guessable.
MIN_SECRET_BYTES: Final = 16

_SIGNATURE_BYTES = 16
_SEPARATOR = "\x1f"
_B64 = "[A-Za-z0-9_-]"
_SIGNATURE_CHARS = (_SIGNATURE_BYTES * 4 + 2) // 3  # base64 without padding: 22
_TOKEN = re.compile(rf"({_B64}+)\.({_B64}{{{_SIGNATURE_CHARS}}})")
_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")
_GIF = ".gif"


# -- tokens -------------------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, purpose: str, payload: str) -> str:
    message = purpose.encode("ascii") + b"\x00" + payload.encode("ascii")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return _b64encode(digest[:_SIGNATURE_BYTES])


def _check_key(secret: bytes, purpose: str) -> int:
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the tracking secret must be at least {MIN_SECRET_BYTES} bytes")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return PURPOSES[purpose]


def sign_token(secret: bytes, purpose: str, *parts: str) -> str:
    """A token for ``purpose`` carrying ``parts`` (non-empty, without U+001F)."""
    arity = _check_key(secret, purpose)
    if len(parts) != arity:
        raise ValueError(f"a {purpose} token has {arity} part(s), not {len(parts)}")
    for part in parts:
        if not isinstance(part, str) or not part or _SEPARATOR in part:
            raise ValueError(f"a token part must be a non-empty string without U+001F: {part!r}")
    try:
        payload = _b64encode(_SEPARATOR.join(parts).encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError("a token part must be encodable as UTF-8") from exc
    token = f"{payload}.{_mac(secret, purpose, payload)}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(f"the token would be longer than {MAX_TOKEN_LENGTH} characters")
    return token


def verify_token(secret: bytes, purpose: str, token: str) -> tuple[str, ...]:
    """The parts of ``token`` if ``secret`` signed it for ``purpose``; otherwise raises
    :class:`TrackingLinkInvalidError`."""
    arity = _check_key(secret, purpose)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise TrackingLinkInvalidError("the tracking link is malformed")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise TrackingLinkInvalidError("the tracking link is malformed")
    payload, signature = match.groups()
    expected = _mac(secret, purpose, payload)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        raise TrackingLinkInvalidError("the tracking link's signature does not match")
    # Signed by us: what follows only fails if the secret signed something odd.
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise TrackingLinkInvalidError("the tracking link's payload is not readable") from exc
    if _b64encode(raw) != payload:
        raise TrackingLinkInvalidError("the tracking link's payload is not canonical")
    parts = tuple(text.split(_SEPARATOR))
    if len(parts) != arity or not all(parts):
        raise TrackingLinkInvalidError("the tracking link has the wrong number of parts")
    return parts


# -- URLs ---------------------------------------------------------------------------------


def _base(base_url: str) -> str:
    """``base_url`` without a trailing slash; it must be an absolute http(s) URL."""
    base = base_url.rstrip("/")
    try:
        parts = urlsplit(base)
    except ValueError as exc:
        raise ValueError(f"the tracking base URL is not a URL: {base_url!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or (
        parts.query or parts.fragment or "?" in base or "#" in base
    ):
        raise ValueError(f"the tracking base URL must be http(s) without query: {base_url!r}")
    return base


def _click_token(secret: bytes, send_id: str, index: int) -> str:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 10**9:
        raise ValueError(f"a link index is an int from 0 to 10**9 - 1, not {index!r}")
    return sign_token(secret, "click", send_id, str(index))


def click_url(base_url: str, secret: bytes, send_id: str, index: int) -> str:
    """Where link number ``index`` (of the send's stored links) of the email points."""
    return f"{_base(base_url)}/t/c/{_click_token(secret, send_id, index)}"


def open_pixel_url(base_url: str, secret: bytes, send_id: str) -> str:
    return f"{_base(base_url)}/t/o/{sign_token(secret, 'open', send_id)}{_GIF}"


def unsubscribe_url(base_url: str, secret: bytes, send_id: str) -> str:
    return f"{_base(base_url)}/u/{sign_token(secret, 'unsubscribe', send_id)}"


def read_click(secret: bytes, token: str) -> tuple[str, int]:
    """``(send id, link index)`` of a click token; redirect to that send's link."""
    send_id, index = verify_token(secret, "click", token)
    if _INDEX.fullmatch(index) is None:
        raise TrackingLinkInvalidError("the tracking link's index is not a number")
    return send_id, int(index)


def read_open(secret: bytes, token: str) -> str:
    """The send id of an open-pixel token, given with or without its ``.gif``."""
    # A token never ends in ".gif" itself: its signature has no '.'.
    return verify_token(secret, "open", token.removesuffix(_GIF))[0]


def read_unsubscribe(secret: bytes, token: str) -> str:
    return verify_token(secret, "unsubscribe", token)[0]


# -- instrumenting ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstrumentedEmail:
    """The email as sent, and the URLs its click links stand for, in index order."""

    html: str
    text: str | None
    links: tuple[str, ...]


_PIXEL_STYLE = "display:block;border:0;width:1px;height:1px"
_SPACE = " \t\n\r\f"
#: Elements whose content is text to the tokenizer (so an ``<a`` in it is no tag).
_RAW_TEXT = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes",
                       "title", "textarea"})
_URL_STRIP = "".join(chr(c) for c in range(0x21))  # what a browser strips off a URL
_URL_TABS = re.compile(r"[\t\n\r]")  # and removes from inside it
_CHAR_REF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")


@dataclass(frozen=True, slots=True)
class _Href:
    start: int  # the span of the value in the markup, quotes included
    end: int
    value: str  # decoded


@dataclass(slots=True)
class _Scan:
    hrefs: list[_Href]
    body_end: int | None = None  # where the last </body> starts
    html_end: int | None = None  # where the last </html> starts


def instrument_email(
    html: str, text: str | None, *, send_id: str, base_url: str, secret: bytes
) -> InstrumentedEmail:
    """``html`` (a document) and ``text`` with tracked links and an open pixel.

    Each ``<a href>`` with an http or https URL not under ``base_url`` gets the click link
    of the URL's index in :attr:`InstrumentedEmail.links` (first-seen order, one index
    per distinct URL); ``mailto:``, ``tel:``, ``cid:``, fragment, relative and ccm's own
    links are left as they are. The same URLs in ``text`` are replaced by their click
    links. Raises :class:`DeliveryError` if the rewritten document would not parse to
    the original tree (see the module docstring).
    """
    base = _base(base_url)
    own = urlsplit(base)
    pixel = open_pixel_url(base, secret, send_id)
    scan = _scan(html)

    links: list[str] = []
    index_of: dict[str, int] = {}
    edits: list[tuple[int, int, str]] = []
    for href in scan.hrefs:
        url = _trackable(href.value, own)
        if url is None:
            continue
        if url not in index_of:
            index_of[url] = len(links)
            links.append(url)
        target = click_url(base, secret, send_id, index_of[url])
        edits.append((href.start, href.end, f'"{escape(target)}"'))

    image = (f'<img src="{escape(pixel)}" width="1" height="1" alt="" '
             f'style="{_PIXEL_STYLE}">')
    at = next((p for p in (scan.body_end, scan.html_end) if p is not None), len(html))
    edits.append((at, at, image))

    pieces: list[str] = []
    last = 0
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0]):
        pieces.append(html[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(html[last:])
    result = "".join(pieces)

    def expected_href(value: str) -> str:
        url = _trackable(value, own)
        if url is None:
            return value
        if url not in index_of:
            return "\x00"  # the two parsers disagree on this link: never equal
        return click_url(base, secret, send_id, index_of[url])

    _check_faithful(html, result, expected_href, pixel)
    clicks = {url: click_url(base, secret, send_id, i) for i, url in enumerate(links)}
    return InstrumentedEmail(
        html=result,
        text=None if text is None else _rewrite_text(text, clicks),
        links=tuple(links),
    )


def _trackable(href: str, own: SplitResult) -> str | None:
    """The URL a browser follows for ``href`` if it is http(s) and not ccm's own."""
    url = _URL_TABS.sub("", href.strip(_URL_STRIP))
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 host: no browser goes there either
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if parts.scheme.lower() == own.scheme.lower() and parts.netloc.lower() == own.netloc.lower():
        prefix = own.path.rstrip("/")
        if not prefix or parts.path == prefix or parts.path.startswith(prefix + "/"):
            return None
    return url


# What a URL in plain text is made of, and what may end a sentence right after one.
_URL_CHARS = r"A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%\u0080-\U0010ffff"
_TRAILING = r".,:;!?)\]'*"


def _rewrite_text(text: str, clicks: Mapping[str, str]) -> str:
    """Each URL of ``clicks`` in ``text`` -> its click link, longest first.

    A URL counts only where it stands on its own: not inside a longer URL (a query
    parameter, a longer path) and not followed by more URL characters other than a
    sentence's closing punctuation, so that ``https://x.example/a`` in
    ``https://x.example/ab`` is not turned into a click link followed by ``b``.
    """
    if not clicks:
        return text
    urls = sorted(clicks, key=lambda url: (-len(url), url))
    pattern = re.compile(
        r"(?<![\w/=?&%.+\-@])(?:" + "|".join(re.escape(url) for url in urls) + ")"
        rf"(?=[{_TRAILING}]*(?:[^{_URL_CHARS}]|\Z))"
    )
    return pattern.sub(lambda match: clicks[match.group(0)], text)


# -- the tokenizer ------------------------------------------------------------------------


def _scan(markup: str) -> _Scan:
    """Where the ``href`` of each ``<a>`` start tag is, and the last ``</body>``.

    The HTML standard's tokenizer, reduced to what that needs: comments, doctypes,
    processing instructions and the text of raw-text elements (``<style>``, ``<title>``,
    ...) are skipped, attributes are read with their quoting, and the first ``href`` of
    a tag is the one that counts. lxml (libxml2 2.14 and later) tokenizes the same way;
    :func:`_check_faithful` makes sure of it for every email.
    """
    scan = _Scan(hrefs=[])
    n = len(markup)
    i = 0
    while True:
        i = markup.find("<", i)
        if i < 0 or i + 1 >= n:
            return scan
        following = markup[i + 1]
        if markup.startswith("<!--", i):
            i = _comment_end(markup, i)
        elif following in "!?":
            close = markup.find(">", i + 2)
            i = n if close < 0 else close + 1
        elif following == "/":
            if i + 2 < n and markup[i + 2].isascii() and markup[i + 2].isalpha():
                name, end, _ = _tag(markup, i + 2)
                if end < 0:
                    return scan
                if name == "body":
                    scan.body_end = i
                elif name == "html":
                    scan.html_end = i
                i = end
            elif markup.startswith(">", i + 2):
                i += 3
            else:  # a bogus comment up to the next '>'
                close = markup.find(">", i + 2)
                i = n if close < 0 else close + 1
        elif following.isascii() and following.isalpha():
            name, end, attributes = _tag(markup, i + 1)
            if end < 0:
                return scan
            if name == "a":
                href = next((a for a in attributes if a[0] == "href"), None)
                if href is not None:
                    _, start, stop, raw = href
                    scan.hrefs.append(_Href(start, stop, _unescape_attribute(raw)))
            if name == "plaintext":
                return scan
            i = _raw_text_end(markup, name, end) if name in _RAW_TEXT else end
        else:
            i += 1


def _comment_end(markup: str, i: int) -> int:
    """Just past the comment opening at ``i`` (``<!-->`` and ``--!>`` as browsers read them)."""
    if markup.startswith(">", i + 4):
        return i + 5
    if markup.startswith("->", i + 4):
        return i + 6
    ends = [p for p in (markup.find("-->", i + 4), markup.find("--!>", i + 4)) if p >= 0]
    if not ends:
        return len(markup)
    first = min(ends)
    return first + (3 if markup.startswith("-->", first) else 4)


def _raw_text_end(markup: str, name: str, i: int) -> int:
    """Where the end tag of raw-text element ``name`` starts (its text is skipped)."""
    end = re.compile(rf"</{name}[{_SPACE}/>]", re.IGNORECASE).search(markup, i)
    return len(markup) if end is None else end.start()


def _tag(markup: str, i: int) -> tuple[str, int, list[tuple[str, int, int, str]]]:
    """The tag whose name starts at ``i``: its lower-case name, the index just past its
    ``>`` (-1 if the markup ends first) and its attributes as (name, value start, value
    end, raw value), the value span including its quotes."""
    n = len(markup)
    start = i
    while i < n and markup[i] not in _SPACE and markup[i] not in "/>":
        i += 1
    name = markup[start:i].lower()
    attributes: list[tuple[str, int, int, str]] = []
    while True:
        while i < n and (markup[i] in _SPACE or markup[i] == "/"):
            i += 1
        if i >= n:
            return name, -1, attributes
        if markup[i] == ">":
            return name, i + 1, attributes
        attribute_start = i
        i += 1  # a first '=' belongs to the name
        while i < n and markup[i] not in _SPACE and markup[i] not in "/>=":
            i += 1
        attribute = markup[attribute_start:i].lower()
        while i < n and markup[i] in _SPACE:
            i += 1
        if i >= n or markup[i] != "=":
            attributes.append((attribute, i, i, ""))
            continue
        i += 1
        while i < n and markup[i] in _SPACE:
            i += 1
        if i >= n:
            return name, -1, attributes
        quote = markup[i]
        if quote in "\"'":
            close = markup.find(quote, i + 1)
            if close < 0:
                return name, -1, attributes
            attributes.append((attribute, i, close + 1, markup[i + 1:close]))
            i = close + 1
        else:  # unquoted (empty if '>' follows)
            value_start = i
            while i < n and markup[i] not in _SPACE and markup[i] != ">":
                i += 1
            attributes.append((attribute, value_start, i, markup[value_start:i]))


def _unescape_attribute(raw: str) -> str:
    """Character references in an attribute value, decoded as the HTML standard says:
    a named one without ``;`` stays as written before ``=`` or a letter or digit."""

    def decode(match: re.Match[str]) -> str:
        reference = match.group(1)
        if reference.startswith("#"):
            return unescape(match.group(0))
        if reference.endswith(";"):
            return _ENTITIES.get(reference, match.group(0))
        following = raw[match.end():match.end() + 1]
        if reference in _ENTITIES and following != "=":
            return _ENTITIES[reference]
        return match.group(0)

    return _CHAR_REF.sub(decode, raw)


# -- the check ----------------------------------------------------------------------------


def _parse(markup: str) -> Any:
    parser = lxml_html.HTMLParser(encoding="utf-8", default_doctype=False, no_network=True,
                                  huge_tree=True)
    return etree.fromstring(markup.encode("utf-8", "replace"), parser)


def _serialise(root: Any) -> str:
    return str(etree.tostring(root.getroottree(), method="html", encoding="unicode"))


def _check_faithful(original: str, result: str, expected_href: Callable[[str], str],
                    pixel: str) -> None:
    """Raise unless ``result`` parses to ``original``'s tree with each ``<a href>`` as
    ``expected_href`` gives it and one open pixel more."""
    before = _parse(original)
    after = _parse(result)
    if after is None:
        raise DeliveryError("the instrumented email does not parse")
    pixels = [img for img in after.iter("img") if img.get("src") == pixel]
    known = 0 if before is None else sum(1 for img in before.iter("img")
                                         if img.get("src") == pixel)
    if len(pixels) != known + 1:
        raise DeliveryError("the open pixel did not land in the instrumented email")
    if before is None:  # nothing but the pixel
        return
    pixels[-1].drop_tree()  # its tail (if any) goes back where it was
    old_links = list(before.iter("a"))
    new_links = list(after.iter("a"))
    if len(old_links) != len(new_links):
        raise DeliveryError("instrumenting the email changed its links")
    for old, new in zip(old_links, new_links, strict=True):
        href = old.get("href")
        if href is None:
            continue
        if new.get("href") != expected_href(href):
            raise DeliveryError(f"a link of the email could not be tracked: {href!r}")
        new.set("href", href)
    if _serialise(before) != _serialise(after):
        raise DeliveryError("instrumenting the email changed more than its links")
