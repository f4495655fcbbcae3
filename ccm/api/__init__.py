"""The HTTP API (FastAPI): parses, authorises, calls a service, shapes the reply."""

from ccm.api.app import create_app

__all__ = ["create_app"]
