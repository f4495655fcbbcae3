"""Imports every table so that the metadata (and Alembic) sees the whole schema."""

from ccm.assets.models import Asset
from ccm.audit.models import Communication
from ccm.auth.models import ApiKey
from ccm.batches.models import Batch, BatchItem
from ccm.brand.models import Brand, BrandVersion
from ccm.customers.models import Consent, ConsentChange, Customer
from ccm.db.revision import RegistryRevision
from ccm.delivery.models import InstanceSecret, Send, SendEvent
from ccm.idempotency.models import IdempotencyRecord
from ccm.journeys.models import (
    CustomerJourney,
    Event,
    FollowUp,
    Journey,
    JourneyVersion,
    StageTransition,
)
from ccm.templates.models import (
    Block,
    BlockVersion,
    KindProfile,
    LifecycleAction,
    Template,
    TemplateVersion,
)

__all__ = [
    "ApiKey", "Asset", "Batch", "BatchItem", "Block", "BlockVersion", "Brand", "BrandVersion",
    "Communication", "Consent", "ConsentChange", "Customer", "CustomerJourney", "Event",
    "FollowUp", "IdempotencyRecord", "InstanceSecret", "Journey", "JourneyVersion",
    "KindProfile", "LifecycleAction", "RegistryRevision", "Send", "SendEvent",
    "StageTransition", "Template",
    "TemplateVersion",
]
