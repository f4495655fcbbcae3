"""What a version's status means, in one place.

Brands, blocks and templates are versioned the same way: a version starts as a ``draft``
that may be edited; ``published`` freezes it for good (what was published is what is
sent); ``retired`` takes it out of use without deleting it, so records that name it stay
explainable.

Template versions also pass through review on the way (``draft → in_review → approved →
published``): a second person approves what the author wrote, and only then can it be
published. ``in_review`` and ``approved`` are as frozen as ``published``: what was
reviewed is what is approved, and what was approved is what is sent.
"""

from __future__ import annotations

import enum

from sqlalchemy import Enum

#: Who publishes versions loaded from files (``ccm registry load``/``import``): their
#: review happened where the files are kept, in git.
REGISTRY_LOADER = "registry load"


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    RETIRED = "retired"


def status_column_type() -> Enum:
    # Stored as text, not a native enum: later issues add states without an ALTER TYPE.
    return Enum(
        VersionStatus,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
