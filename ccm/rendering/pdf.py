"""HTML to PDF through WeasyPrint, with everything reusable kept across documents.

Per process: one font configuration, the parsed brand stylesheets (by brand fingerprint)
and an image cache. Per document: only the HTML is parsed and laid out. Output is
byte-identical for identical inputs: the PDF identifier is derived from the inputs and
font subsets carry a fixed timestamp instead of the clock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from ccm.rendering.fetcher import ImageCache, RegistryFetcher
from ccm.rendering.spec import AssetData

# fontTools stamps subset fonts with the current time unless SOURCE_DATE_EPOCH is set;
# a fixed stamp is what makes two renders of the same bill byte-identical.
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")

from weasyprint import CSS, HTML
from weasyprint.logger import LOGGER as WEASYPRINT_LOGGER
from weasyprint.text.fonts import FontConfiguration

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


@dataclass(frozen=True, slots=True)
class PdfResult:
    content: bytes
    page_count: int


class PdfRenderer:
    """Holds what WeasyPrint can reuse between documents."""

    def __init__(self, max_stylesheets: int = 32) -> None:
        self.font_config = FontConfiguration()
        self.image_cache = ImageCache()
        self._stylesheets: OrderedDict[str, CSS] = OrderedDict()
        self._max_stylesheets = max_stylesheets
        self._lock = threading.Lock()

    def stylesheet(self, fingerprint: str, css: str, assets: Mapping[str, AssetData]) -> CSS:
        """The parsed stylesheet for ``fingerprint``, parsed once per process."""
        with self._lock:
            cached = self._stylesheets.get(fingerprint)
            if cached is not None:
                self._stylesheets.move_to_end(fingerprint)
                return cached
        parsed = CSS(string=css, font_config=self.font_config,
                     url_fetcher=RegistryFetcher(assets, []))
        with self._lock:
            self._stylesheets[fingerprint] = parsed
            while len(self._stylesheets) > self._max_stylesheets:
                self._stylesheets.popitem(last=False)
        return parsed

    def render(
        self,
        html: str,
        *,
        stylesheet: CSS,
        assets: Mapping[str, AssetData],
        variant: str,
        identifier: bytes,
        warnings: list[str],
    ) -> PdfResult:
        blocked: list[str] = []
        token = _render_log.set(warnings)
        try:
            options = {
                "stylesheets": [stylesheet],
                "pdf_variant": variant,
                "pdf_identifier": identifier,
                "pdf_tags": True,
                "cache": self.image_cache,
            }
            document = HTML(
                string=html, url_fetcher=RegistryFetcher(assets, blocked), base_url=None
            ).render(font_config=self.font_config, **options)
            content = document.write_pdf(**options)
        finally:
            _render_log.reset(token)
        # The fetcher's own refusals read better than WeasyPrint's generic log lines.
        warnings[:] = [w for w in warnings if "only registry assets" not in w]
        warnings.extend(
            f"refused outside resource {url[:200]!r}: only registry assets load"
            for url in dict.fromkeys(blocked)
        )
        return PdfResult(content=content, page_count=len(document.pages))
