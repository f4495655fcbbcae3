"""The only way a PDF render reaches a resource: registry assets, nothing else.

Every URL WeasyPrint asks for (images, stylesheets, fonts, SVG references) comes through
:class:`RegistryFetcher`. Registry assets (``ccm-asset:<sha256>``) and inline ``data:``
images are served from memory; ``file:``, ``http(s):`` and any other URL is refused
without being opened, and recorded so the render can report it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from weasyprint.urls import URLFetcher, URLFetcherResponse

from ccm.brand.stylesheet import ASSET_SCHEME
from ccm.rendering.spec import AssetData

_DATA_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
MAX_DATA_URL_BYTES = 2 * 1024 * 1024


class BlockedURLError(ValueError):
    pass


def decode_data_url(url: str) -> tuple[str, bytes] | None:
    """``data:image/png;base64,...`` -> (media type, bytes); None if not an image or too big."""
    header, _, payload = url[5:].partition(",")
    media_type, *params = header.split(";")
    if media_type.lower() not in _DATA_IMAGE_TYPES or len(payload) > MAX_DATA_URL_BYTES:
        return None
    try:
        content = base64.b64decode(payload) if "base64" in params else unquote_to_bytes(payload)
    except ValueError:
        return None
    return media_type.lower(), content


class RegistryFetcher(URLFetcher):  # type: ignore[misc]
    """Serves registry assets and inline images; refuses and records everything else."""

    def __init__(self, assets: Mapping[str, AssetData], blocked: list[str]) -> None:
        super().__init__(allowed_protocols=set(), allow_redirects=False, timeout=0)
        self._assets = assets
        self._blocked = blocked

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith(ASSET_SCHEME):
            asset = self._assets.get(url[len(ASSET_SCHEME):])
            if asset is not None:
                return URLFetcherResponse(
                    url, asset.content, {"Content-Type": asset.media_type}
                )
        elif url.startswith("data:"):
            decoded = decode_data_url(url)
            if decoded is not None:
                return URLFetcherResponse(url, decoded[1], {"Content-Type": decoded[0]})
        self._blocked.append(url)
        raise BlockedURLError(f"only registry assets are loaded; refused {url[:200]!r}")


class ImageCache(dict[str, Any]):
    """WeasyPrint's image cache, shared across renders, holding only images that loaded.

    A refused URL is cached by WeasyPrint as ``None``; keeping that would hide the refusal
    from the next render's report, so failures are never stored. The size is bounded so
    inline images in customer data cannot grow it without end.
    """

    def __init__(self, max_entries: int = 512) -> None:
        super().__init__()
        self._max_entries = max_entries

    def __setitem__(self, key: str, value: Any) -> None:
        if value is None:
            return
        if len(self) >= self._max_entries:
            self.clear()
        super().__setitem__(key, value)
