"""Which blocks and layouts a template source includes, read from its syntax tree
(``{% include %}``, ``{% extends %}``, ``{% import %}``), never by searching its text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from jinja2 import Environment, TemplateSyntaxError, meta

_PARSER = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.loopcontrols"])


@lru_cache(maxsize=1024)
def referenced_names(source: str) -> frozenset[str]:
    """The block and layout names a template source includes or extends."""
    try:
        tree = _PARSER.parse(source)
    except TemplateSyntaxError:
        return frozenset()
    return frozenset(name for name in meta.find_referenced_templates(tree) if name)


def reached_blocks(names: Iterable[str], blocks: Mapping[str, str]) -> dict[str, str | None]:
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
