"""Post-processing of rendered HTML for the web and email channels.

Browsers and mail clients fetch what a page names, so outside resource URLs are removed
here (the PDF channel refuses them in its fetcher instead); registry assets become
``data:`` URLs for a standalone page or ``cid:`` parts for email.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable

from ccm.brand.stylesheet import ASSET_SCHEME
from ccm.rendering.spec import AssetData

# Resource attributes, matched on a lowercased copy of the page (offsets carry over when
# lowering keeps the length, as it does for nearly all text): a case-sensitive pattern
# starting with a small set of letters lets the regex engine skip ahead quickly.
_RESOURCE_ATTR = re.compile(
    r"""(?:srcset|src|poster|background|data)\s*=\s*(?P<q>["'])(?P<url>.*?)(?P=q)""", re.DOTALL
)
# A page gets its stylesheet from the brand; linked or imported ones would be fetched.
_LINK_OR_IMPORT = re.compile(r"<link\b[^>]*>|@import\s+[^;]*;?", re.IGNORECASE)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CSS_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>[^"')]*)(?P=q)\s*\)""", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SAFE_DATA = ("data:image/png", "data:image/jpeg", "data:image/gif")

AssetRewriter = Callable[[AssetData], str]


def data_url(asset: AssetData) -> str:
    encoded = base64.b64encode(asset.content).decode("ascii")
    return f"data:{asset.media_type};base64,{encoded}"


def rewrite_resources(
    markup: str,
    assets: dict[str, AssetData],
    rewrite_asset: AssetRewriter,
    warnings: list[str],
) -> str:
    """Registry asset URLs -> ``rewrite_asset(asset)``; any other resource URL removed."""

    def resolve(url: str) -> str:
        plain = html.unescape(url).strip()
        if plain.startswith(ASSET_SCHEME):
            asset = assets.get(plain[len(ASSET_SCHEME):])
            if asset is not None:
                return rewrite_asset(asset)
        elif plain.startswith("cid:") or plain.lower().startswith(_SAFE_DATA):
            return url
        warnings.append(f"refused outside resource {plain[:200]!r}: only registry assets load")
        return ""

    def css(match: re.Match[str]) -> str:
        return f"url({match['q']}{resolve(match['url'])}{match['q']})"

    if "url(" in markup:
        markup = _CSS_URL.sub(css, markup)
    lowered = markup.lower()
    if len(lowered) != len(markup):  # a character whose lowercase is longer (e.g. "İ")
        lowered = markup.translate(_ASCII_LOWER)
    if "<link" in lowered or "@import" in lowered:
        markup = _LINK_OR_IMPORT.sub(lambda m: _refuse(m.group(0), warnings), markup)
        lowered = markup.translate(_ASCII_LOWER)
    pieces: list[str] = []
    done = 0
    for match in _RESOURCE_ATTR.finditer(lowered):
        before = lowered[match.start() - 1] if match.start() else " "
        if before.isalnum() or before in "-_:":
            continue  # part of a longer name: data-src=, metadata=
        url_start, url_end = match.span("url")
        pieces.append(markup[done:url_start])
        pieces.append(resolve(markup[url_start:url_end]))
        done = url_end
    pieces.append(markup[done:])
    return "".join(pieces)


def _refuse(found: str, warnings: list[str]) -> str:
    warnings.append(f"refused outside resource {found[:200]!r}: only registry assets load")
    return ""


def document_title(markup: str) -> str | None:
    match = _TITLE.search(markup)
    if not match:
        return None
    return " ".join(html.unescape(match.group(1)).split()) or None


def insert_head(markup: str, head: str) -> str:
    """Put ``head`` (a style element) just before ``</head>``, or at the start."""
    index = markup.lower().find("</head>")
    if index < 0:
        return head + markup
    return markup[:index] + head + markup[index:]
