"""ccm: customer communications management.

The public API: render a template version with a brand version for one customer's data
on one channel. Everything else is reached through the CLI (``ccm``) and the services in
the feature packages.
"""

from ccm.errors import CCMError, DataValidationError, Violation
from ccm.rendering.engine import Renderer, default_renderer, render
from ccm.rendering.spec import BrandSpec, Channel, RenderedDocument, TemplateSpec

__all__ = [
    "BrandSpec",
    "CCMError",
    "Channel",
    "DataValidationError",
    "RenderedDocument",
    "Renderer",
    "TemplateSpec",
    "Violation",
    "default_renderer",
    "render",
]
__version__ = "0.1.0"
