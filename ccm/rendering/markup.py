"""Post-processing of rendered HTML for the web and email channels.

Browsers and mail clients fetch what a page names, so everything that could make them
fetch from outside is removed here (the PDF channel refuses such URLs in its fetcher
instead); registry assets become ``data:`` URLs for a standalone page or ``cid:`` parts
for email.

The page is parsed with lxml and walked once: elements that load, run or frame something
(scripts, frames, objects, links, ``<base>``, refresh ``<meta>``) go, and so do comments;
resource attributes keep only registry assets, ``cid:`` and plain data images; links keep
http(s), mailto and tel. CSS, in ``style`` attributes and ``<style>`` elements, is read
with tinycss2, so escapes, ``image-set()`` and ``@import`` are seen as a browser sees
them: a declaration or rule naming any other URL is dropped. Text is never read as CSS.
Each refusal is reported in ``warnings``.
"""

from __future__ import annotations

import base64
import html
import re

from lxml import etree

from ccm.rendering.sanitise import AssetRewriter, Rewriter, html_parser, inner_html, is_document
from ccm.rendering.spec import AssetData

__all__ = ["AssetRewriter", "content_security_policy", "data_url", "document_title",
           "insert_head", "open_head", "rewrite_resources", "rewrite_stylesheet"]

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    'font-src data:">'
)



def data_url(asset: AssetData) -> str:
    encoded = base64.b64encode(asset.content).decode("ascii")
    return f"data:{asset.media_type};base64,{encoded}"


def content_security_policy() -> str:
    """A ``<meta>`` element letting a standalone page load nothing but inline data."""
    return _CSP


def rewrite_resources(
    markup: str,
    assets: dict[str, AssetData],
    rewrite_asset: AssetRewriter,
    warnings: list[str],
) -> str:
    """Registry asset URLs -> ``rewrite_asset(asset)``; anything else that fetches removed.

    ``markup`` is an HTML document or fragment. Text without any tag cannot fetch and is
    returned as it is, unless it is a stylesheet (the engine's page style), which is
    then handled as by :func:`rewrite_stylesheet`.
    """
    rewriter = Rewriter(assets, rewrite_asset, warnings)
    if "<" not in markup:
        return rewriter.bare_text(markup)
    root = etree.fromstring(markup.encode("utf-8", "replace"), html_parser())
    if root is None:  # nothing but comments or a doctype
        return ""
    rewriter.clean_tree(root)
    doctype = root.getroottree().docinfo.doctype
    if doctype or is_document(markup):
        return str(etree.tostring(
            root, method="html", encoding="unicode",
            doctype="<!DOCTYPE html>" if doctype else None,
        ))
    # A fragment: lxml put it in <html><head>/<body>; give back only what was written.
    return "".join(inner_html(part) for part in root)


def rewrite_stylesheet(
    css: str,
    assets: dict[str, AssetData],
    rewrite_asset: AssetRewriter,
    warnings: list[str],
) -> str:
    """The same rules as :func:`rewrite_resources`, for a stylesheet's text."""
    return Rewriter(assets, rewrite_asset, warnings).stylesheet(css)


def document_title(markup: str) -> str | None:
    match = _TITLE.search(markup)
    if not match:
        return None
    return " ".join(html.unescape(match.group(1)).split()) or None


_HEAD_OPEN = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)


def open_head(markup: str, element: str) -> str:
    """Put ``element`` first in ``<head>`` (a CSP only governs what comes after it)."""
    match = _HEAD_OPEN.search(markup)
    if match is None:
        return element + markup
    return markup[:match.end()] + element + markup[match.end():]


#: ``</head>`` in any letter case. (Not ``markup.lower().find``: lowering copies the page,
#: and "İ" lowers to two characters, which would shift the index.)
_HEAD_CLOSE = re.compile(r"</[hH][eE][aA][dD]>")


def insert_head(markup: str, head: str) -> str:
    """Put ``head`` (a style element) just before ``</head>``, or at the start."""
    match = _HEAD_CLOSE.search(markup)
    if match is None:
        return head + markup
    index = match.start()
    return markup[:index] + head + markup[index:]


