"""What a version's status means, in one place.

Brands, blocks and templates are versioned the same way: a version starts as a ``draft``
that may be edited; ``published`` freezes it for good (what was published is what is
sent); ``retired`` takes it out of use without deleting it, so records that name it stay
explainable.
"""

from __future__ import annotations

import enum

from sqlalchemy import Enum


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
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
