"""Shared blocks and layouts as marketing manages them: their versions, which templates a
change leaves behind (pinned to an older version until re-approved), and deleting one no
template needs any more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.db.base import utcnow
from ccm.errors import BlockInUseError, NotFoundError
from ccm.templates.models import Block, BlockVersion, Template, TemplateVersion
from ccm.templates.service import block_name, published_blocks
from ccm.templates.usage import where_used
from ccm.versioning import VersionStatus


def get_block(session: Session, key: str) -> Block:
    """A block or layout that has not been deleted."""
    block = session.scalar(select(Block).where(Block.key == key, Block.deleted_at.is_(None)))
    if block is None:
        raise NotFoundError(f"no block or layout {key!r}")
    return block


def list_blocks(session: Session) -> Sequence[Block]:
    return session.scalars(select(Block).where(Block.deleted_at.is_(None))
                           .order_by(Block.kind, Block.key)).all()


def block_versions(session: Session, block: Block) -> Sequence[BlockVersion]:
    return session.scalars(select(BlockVersion).where(BlockVersion.block_id == block.id)
                           .order_by(BlockVersion.version)).all()


@dataclass(frozen=True)
class StalePin:
    """A template version sent (or about to be) with an older version of a block."""

    template: str
    version: int
    status: str
    pinned: int
    live: int


def needs_reapproval(session: Session, name: str) -> list[StalePin]:
    """Templates whose live published version (or one in review or approved, waiting to
    be published) is pinned to an older version of block ``name`` than the live one: each
    takes the change up only through a new version that is approved again."""
    live = published_blocks(session).get(name)
    if live is None:
        return []
    rows = session.execute(
        select(Template.key, TemplateVersion)
        .join(TemplateVersion, TemplateVersion.template_id == Template.id)
        .where(TemplateVersion.status.in_([VersionStatus.PUBLISHED, VersionStatus.APPROVED,
                                            VersionStatus.IN_REVIEW]))
        .order_by(Template.key, TemplateVersion.version.desc())
    )
    stale, seen_published = [], set()
    for key, row in rows:
        if row.status is VersionStatus.PUBLISHED:
            if key in seen_published:  # only the live (latest) published version counts
                continue
            seen_published.add(key)
        pinned = (row.block_pins or {}).get(name)
        if pinned is not None and pinned < live[0]:
            stale.append(StalePin(key, row.version, row.status.value, pinned, live[0]))
    return stale


def delete_block(session: Session, block: Block) -> None:
    """Take a block out of the registry: refused while a template version that is not
    retired, or another live block, includes it. Its versions stay, so documents sent with
    them can still be explained."""
    name = block_name(block)
    usage = where_used(session, name)
    users = [f"{use.template} v{use.version} ({use.status})" for use in usage.templates
             if use.status != VersionStatus.RETIRED.value]
    users += list(usage.blocks)
    if users:
        raise BlockInUseError(f"{name} is included by {', '.join(users)}; change those first "
                              "(retire or replace the versions) and delete it then")
    block.deleted_at = utcnow()
    session.flush()
