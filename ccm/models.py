"""Imports every table so that the metadata (and Alembic) sees the whole schema."""

from ccm.assets.models import Asset
from ccm.audit.models import Communication
from ccm.auth.models import ApiKey
from ccm.batches.models import Batch, BatchItem
from ccm.brand.models import Brand, BrandVersion
from ccm.db.revision import RegistryRevision
from ccm.idempotency.models import IdempotencyRecord
from ccm.templates.models import (
    Block,
    BlockVersion,
    KindProfile,
    Template,
    TemplateVersion,
)

__all__ = [
    "ApiKey", "Asset", "Batch", "BatchItem", "Block", "BlockVersion", "Brand", "BrandVersion",
    "Communication", "IdempotencyRecord", "KindProfile", "RegistryRevision", "Template",
    "TemplateVersion",
]
