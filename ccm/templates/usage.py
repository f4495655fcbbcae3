"""Where a shared block or layout is used: every template version and block that includes
it, directly or through other blocks, so a change to a block shows all it touches.

Includes are read from the templates' syntax trees (``{% include %}``, ``{% extends %}``,
``{% import %}``), never by searching their text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, TemplateSyntaxError, meta
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.templates.models import Block, BlockKind, Template, TemplateVersion
from ccm.templates.service import published_blocks

_PARSER = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.loopcontrols"])


@lru_cache(maxsize=1024)
def referenced_names(source: str) -> frozenset[str]:
    """The block and layout names a template source includes or extends."""
    try:
        tree = _PARSER.parse(source)
    except TemplateSyntaxError:
        return frozenset()
    return frozenset(name for name in meta.find_referenced_templates(tree) if name)


def reached_blocks(names: Iterable[str], blocks: dict[str, str]) -> dict[str, str | None]:
    """Every block reached from ``names`` -> the first name it was reached through (None:
    included directly)."""
    reached: dict[str, str | None] = {}
    frontier: list[tuple[str, str | None]] = [(name, None) for name in names]
    while frontier:
        name, via = frontier.pop()
        if name in reached:
            continue
        reached[name] = via
        frontier += [(inner, via or name) for inner in referenced_names(blocks.get(name, ""))]
    return reached


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
    """Who includes the block called ``name`` (``block/x`` or ``layout/y``), as the live
    blocks resolve; every template version, drafts and retired ones too."""
    blocks = {key: source for key, (_, source) in published_blocks(session).items()}
    including = tuple(sorted(other for other, source in blocks.items()
                             if other != name and name in reached_blocks(
                                 referenced_names(source), blocks)))
    uses = []
    rows = session.execute(select(Template.key, TemplateVersion)
                           .join(TemplateVersion, TemplateVersion.template_id == Template.id)
                           .order_by(Template.key, TemplateVersion.version))
    for key, row in rows:
        channels, via = [], None
        for channel, body in sorted(row.bodies.items()):
            reached = reached_blocks(referenced_names(body), blocks)
            if name in reached:
                channels.append(channel)
                via = via or reached[name]
        if channels:
            uses.append(TemplateUse(key, row.version, row.status.value, tuple(channels), via))
    return BlockUsage(name, including, tuple(uses))


def block_include_name(session: Session, key: str) -> str:
    """``block/<key>`` or ``layout/<key>`` for a stored block's key."""
    from ccm.errors import NotFoundError

    row = session.scalar(select(Block).where(Block.key == key))
    if row is None:
        raise NotFoundError(f"no block or layout {key!r}")
    return f"{BlockKind(row.kind).value}/{row.key}"
