"""Where a shared block or layout is used: every template version and block that includes
it, directly or through other blocks, so a change to a block shows all it touches.

Includes are read from the templates' syntax trees (``{% include %}``, ``{% extends %}``,
``{% import %}``), never by searching their text.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.templates.includes import reached_blocks, referenced_names
from ccm.templates.models import Block, BlockKind, Template, TemplateVersion
from ccm.templates.service import pinned_blocks, published_blocks


@dataclass(frozen=True)
class TemplateUse:
    template: str
    version: int
    status: str
    channels: tuple[str, ...]  # the bodies that use the block
    via: str | None  # the block it is included through, if not directly


@dataclass(frozen=True)
class BlockUsage:
    block: str  # "block/letterhead"
    blocks: tuple[str, ...]  # blocks and layouts that include it
    templates: tuple[TemplateUse, ...]


def where_used(session: Session, name: str) -> BlockUsage:
    """Who includes the block called ``name`` (``block/x`` or ``layout/y``); every template
    version, drafts and retired ones too. A version approved with pinned blocks is read
    through those block versions (what it is sent with), the others through the live
    blocks."""
    blocks = {key: source for key, (_, source) in published_blocks(session).items()}
    pinned_sources: dict[tuple[tuple[str, int], ...], dict[str, str]] = {}

    def sources_of(row: TemplateVersion) -> dict[str, str]:
        if row.block_pins is None:
            return blocks
        pins = tuple(sorted(row.block_pins.items()))
        if pins not in pinned_sources:
            pinned_sources[pins] = {key: source for key, (_, source)
                                    in pinned_blocks(session, dict(pins)).items()}
        return pinned_sources[pins]

    including = tuple(sorted(other for other, source in blocks.items()
                             if other != name and name in reached_blocks(
                                 referenced_names(source), blocks)))
    uses = []
    rows = session.execute(select(Template.key, TemplateVersion)
                           .join(TemplateVersion, TemplateVersion.template_id == Template.id)
                           .order_by(Template.key, TemplateVersion.version))
    for key, row in rows:
        channels, via = [], None
        sources = sources_of(row)
        for channel, body in sorted(row.bodies.items()):
            reached = reached_blocks(referenced_names(body), sources)
            if name in reached:
                channels.append(channel)
                via = via or reached[name]
        if channels:
            uses.append(TemplateUse(key, row.version, row.status.value, tuple(channels), via))
    return BlockUsage(name, including, tuple(uses))


def block_include_name(session: Session, key: str) -> str:
    """``block/<key>`` or ``layout/<key>`` for a stored block's key."""
    from ccm.errors import NotFoundError

    row = session.scalar(select(Block).where(Block.key == key, Block.deleted_at.is_(None)))
    if row is None:
        raise NotFoundError(f"no block or layout {key!r}")
    return f"{BlockKind(row.kind).value}/{row.key}"
