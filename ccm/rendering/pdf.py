"""HTML to PDF through WeasyPrint, with everything reusable kept across documents.

Per process: one font configuration, the parsed brand stylesheets (by brand fingerprint),
an image cache, a leaner copy of WeasyPrint's user-agent stylesheet (see
:func:`lean_ua_css`) and the line breaks of text already laid out
(:mod:`ccm.rendering.line_breaks`). Per document: only the HTML is parsed (in C, to the
tree WeasyPrint's own parser builds) and laid out. Output is
byte-identical for identical inputs: the PDF identifier is derived from the inputs and
font subsets carry a fixed timestamp instead of the clock.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from ccm.rendering.fetcher import ImageCache, RegistryFetcher
from ccm.rendering.html_tree import parse_html
from ccm.rendering.line_breaks import FontsWatched, LineBreakMemo, remembering
from ccm.rendering.pdf_writer import serialise_once
from ccm.rendering.spec import AssetData

# fontTools stamps subset fonts with the current time unless SOURCE_DATE_EPOCH is set;
# a fixed stamp is what makes two renders of the same bill byte-identical.
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")

import cssselect2
from weasyprint import CSS, HTML, _find_base_url
from weasyprint import html as weasyprint_html
from weasyprint.css.counters import CounterStyle
from weasyprint.logger import LOGGER as WEASYPRINT_LOGGER

# Notices about this machine's libraries, not about the document being rendered.
_MACHINE_NOTICES = ("Using fontTools instead of HarfBuzz",)

_render_log: ContextVar[list[str] | None] = ContextVar("ccm_pdf_log", default=None)


class _CollectWarnings(logging.Handler):
    """Turns WeasyPrint's warnings during a render into the render's own warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        log = _render_log.get()
        message = record.getMessage()
        if log is not None and not message.startswith(_MACHINE_NOTICES):
            log.append(message)


WEASYPRINT_LOGGER.addHandler(_CollectWarnings(level=logging.WARNING))


# -- a leaner user-agent stylesheet -----------------------------------------------------------
#
# WeasyPrint matches its user-agent stylesheet against every element of every document.
# cssselect2 files a selector under its subject's tag, id or class and tries only those
# that can apply; a selector with none of them (``:is(ol, ul) ul``, ``:link``, ``::marker``)
# is tried on every element. WeasyPrint's sheet has two dozen such selectors, and six are
# pseudo-elements of ``*`` (``::marker``, ``::footnote-call``, ``::note-call``...), each of
# which gives *every* element one more computed style: for a bill, about half the time of
# WeasyPrint's style cascade. The lean copy below is WeasyPrint's own sheet (read from the
# installed package, so it follows upgrades) with those selectors written so that a tag
# files them and the same elements match with the same specificity:
#
# - ``:is(a, b)`` as the subject -> one selector per tag; ``:link`` -> ``a:link, area:link``;
#   ``:is(input, input[...])`` -> ``input:is(*, [...])``;
# - ``::marker`` -> ``li::marker`` (an element made a list item by author CSS gets the
#   marker style of its parent, as WeasyPrint does for a missing marker style);
# - the footnote and note pseudo-elements are left out. WeasyPrint needs their styles when
#   a document uses ``float: footnote`` or ``position: note()``, so a document whose HTML or
#   stylesheet says "note" (or has a CSS escape that could spell it) gets WeasyPrint's own
#   sheet instead (:func:`needs_full_ua`).
#
# Each rewrite is a plain text replacement that does nothing if a later WeasyPrint words
# the rule differently (the sheet is then only less lean);
# tests/rendering/test_pdf_profiles.py checks how many unfiled selectors are left. The
# hook is ``HTML._ua_stylesheets(forms)``, present with this signature in WeasyPrint 66–70.

_UA_REWRITES: tuple[tuple[str, str], ...] = (
    (":link, :visited,", "a:link, area:link, a:visited, area:visited,"),
    (":link { color: blue }", "a:link, area:link { color: blue }"),
    ("::marker {", "li::marker {"),
    (':is(input, input[value=""], input[type=checkbox i], input[type=radio i])',
     'input:is(*, [value=""], [type=checkbox i], [type=radio i])'),
)
_NOTE_PSEUDOS = ("::footnote-call", "::footnote-marker", "::note-call", "::note-marker",
                 "::note-callback")
_RULE_LINE = re.compile(r"^([^@{}\s][^{}]*?)\s*(\{[^{}]*\})\s*$")
_TAG_LIST = re.compile(r":is\(([a-z0-9]+(?:, [a-z0-9]+)*)\)")


def _split_top(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets and quotes."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif not depth and index >= start and text.startswith(separator, index):
            parts.append(text[start:index])
            start = index + len(separator)
    parts.append(text[start:])
    return parts


def _filed(selector: str) -> list[str]:
    """``selector`` as selectors whose subject has a tag, if it starts with ``:is(tags)``."""
    *context, subject = _split_top(selector, " ")
    match = _TAG_LIST.match(subject)
    if match is None:
        return [selector]
    rest = subject[match.end():]
    return [" ".join([*context, tag + rest]) for tag in match.group(1).split(", ")]


def lean_ua_css(ua: str) -> str:
    """WeasyPrint's user-agent stylesheet ``ua`` with its unfiled selectors rewritten."""
    for old, new in _UA_REWRITES:
        ua = ua.replace(old, new)
    lines = []
    for line in ua.splitlines():
        match = _RULE_LINE.match(line)
        if match is not None:
            selectors = _split_top(match.group(1), ", ")
            if any(selector.startswith(_NOTE_PSEUDOS) for selector in selectors):
                continue
            filed = [part for selector in selectors for part in _filed(selector)]
            line = f"{', '.join(filed)} {match.group(2)}"
        lines.append(line)
    return "\n".join(lines)


def needs_full_ua(*texts: str) -> bool:
    """Whether a document may use footnotes or notes (see the lean stylesheet above)."""
    return any("note" in text.lower() or "\\" in text for text in texts)


class _ParsedHTML(HTML):  # type: ignore[misc]
    """A document whose HTML is parsed in C (:mod:`ccm.rendering.html_tree`), to the tree
    WeasyPrint's own parser would build."""

    def __init__(self, *, string: str, url_fetcher: RegistryFetcher,
                 base_url: str | None = None) -> None:
        root = parse_html(string)
        self.base_url = _find_base_url(root, base_url)
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(
            root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element


class _LeanHTML(_ParsedHTML):
    """A document matched against the lean user-agent stylesheet."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        if forms:
            return super()._ua_stylesheets(forms)  # type: ignore[no-any-return]
        return [_lean_ua_stylesheet()]


_lean_ua: list[CSS] = []
_lean_ua_lock = threading.Lock()


def _lean_ua_stylesheet() -> CSS:
    with _lean_ua_lock:
        if not _lean_ua:
            _lean_ua.append(CSS(string=lean_ua_css(weasyprint_html.UA),
                                counter_style=CounterStyle()))
        return _lean_ua[0]


@dataclass(frozen=True, slots=True)
class PdfResult:
    content: bytes
    page_count: int


@dataclass(frozen=True, slots=True)
class Stylesheet:
    """A parsed brand stylesheet, and whether it may need WeasyPrint's full UA sheet."""

    css: CSS
    full_ua: bool


class PdfRenderer:
    """Holds what WeasyPrint can reuse between documents."""

    def __init__(self, max_stylesheets: int = 32, *, remember_line_breaks: bool = True) -> None:
        self.font_config = FontsWatched()
        self.font_config.memo = LineBreakMemo() if remember_line_breaks else None
        self.image_cache = ImageCache()
        self._stylesheets: OrderedDict[str, Stylesheet] = OrderedDict()
        self._max_stylesheets = max_stylesheets
        self._lock = threading.Lock()
        # WeasyPrint is not thread-safe with what is shared here: a cached SVG keeps the
        # stream it is drawing on, and the Pango font map is one object. Renders in
        # threads take turns (they would anyway, under the GIL); processes render apart.
        self._render_lock = threading.Lock()

    def stylesheet(self, fingerprint: str, css: str,
                   assets: Mapping[str, AssetData]) -> Stylesheet:
        """The parsed stylesheet for ``fingerprint``, parsed once per process."""
        with self._lock:
            cached = self._stylesheets.get(fingerprint)
            if cached is not None:
                self._stylesheets.move_to_end(fingerprint)
                return cached
        # Parsing adds the sheet's @font-face fonts to the shared configuration (which
        # forgets the line breaks measured before): not while a document is laid out.
        with self._render_lock:
            parsed = Stylesheet(
                CSS(string=css, font_config=self.font_config,
                    url_fetcher=RegistryFetcher(assets, [])),
                full_ua=needs_full_ua(css),
            )
        with self._lock:
            self._stylesheets[fingerprint] = parsed
            while len(self._stylesheets) > self._max_stylesheets:
                self._stylesheets.popitem(last=False)
        return parsed

    @property
    def line_breaks(self) -> LineBreakMemo | None:
        """The line breaks remembered across documents (None: each measured afresh)."""
        return self.font_config.memo

    @line_breaks.setter
    def line_breaks(self, memo: LineBreakMemo | None) -> None:
        self.font_config.memo = memo

    def render(
        self,
        html: str,
        *,
        stylesheet: Stylesheet,
        assets: Mapping[str, AssetData],
        variant: str,
        identifier: bytes,
        warnings: list[str],
    ) -> PdfResult:
        blocked: list[str] = []
        token = _render_log.set(warnings)
        try:
            options = {
                "stylesheets": [stylesheet.css],
                "pdf_variant": variant,
                "pdf_identifier": identifier,
                "pdf_tags": True,
                "cache": self.image_cache,
            }
            document_class = (_ParsedHTML if stylesheet.full_ua or needs_full_ua(html)
                              else _LeanHTML)
            with self._render_lock, remembering(self.line_breaks):
                document = document_class(
                    string=html, url_fetcher=RegistryFetcher(assets, blocked), base_url=None
                ).render(font_config=self.font_config, **options)
                content = document.write_pdf(finisher=serialise_once, **options)
        finally:
            _render_log.reset(token)
        # The fetcher's own refusals read better than WeasyPrint's generic log lines.
        warnings[:] = [w for w in warnings if "only registry assets" not in w]
        warnings.extend(
            f"refused outside resource {url[:200]!r}: only registry assets load"
            for url in dict.fromkeys(blocked)
        )
        return PdfResult(content=content, page_count=len(document.pages))
