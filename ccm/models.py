"""Imports every table so that the metadata (and Alembic) sees the whole schema."""

from ccm.assets.models import Asset
from ccm.brand.models import Brand, BrandVersion
from ccm.templates.models import (
    Block,
    BlockVersion,
    KindProfile,
    Template,
    TemplateVersion,
)

__all__ = [
    "Asset", "Block", "BlockVersion", "Brand", "BrandVersion", "KindProfile", "Template",
    "TemplateVersion",
]
