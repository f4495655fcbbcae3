"""Reading a template source: where CSS, colour attributes, URLs and Jinja literals stand.

The Jinja tags (`{{ }}`, `{% %}`, `{# #}`) are found with the string literals inside
them, then blanked out so the HTML around them can be read; the regions of that HTML
that hold CSS, a colour, font families or a resource URL are found by offset. Every
offset is one in the original source (blanking keeps lines and columns), so what the
lint finds there gets its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

# Jinja: where tags open, the string literal its lexer reads, and what can end a tag
# (brackets are counted, as the lexer does, so `{{ {'a': 1} }}` ends at the last `}}`).
_JINJA_OPEN = re.compile(r"\{\{|\{%|\{#")
_JINJA_STRING = re.compile(r"'([^'\\]*(?:\\.[^'\\]*)*)'|\"([^\"\\]*(?:\\.[^\"\\]*)*)\"", re.S)
_JINJA_TOKEN = re.compile(r"['\"]|\}\}|%\}|[(\[{)\]}]")
_RAW = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_ENDRAW = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")

# HTML: elements, their attributes, and `<style>` elements (their content is CSS).
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)(?:</style\s*>|\Z)", re.I | re.S)
_ELEMENT = re.compile(r"<([a-zA-Z][^\s/<>]*+)((?:[^<>\"']|\"[^\"]*\"|'[^']*')*+)>")
_ATTRIBUTE = re.compile(
    r"(?<![^\s\"'=<>/])([^\s\"'=<>/]++)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+))")
_COLOUR_ATTRIBUTES = frozenset({"color", "bgcolor", "fill", "stroke", "stop-color",
                                "flood-color"})
_URL_ATTRIBUTES = frozenset({"src", "background", "poster", "lowsrc"})
_SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset"})
#: Elements whose `href` loads what it names (elsewhere an `href` is a link).
_LOADING_HREF_ELEMENTS = frozenset({"link", "image", "use", "feimage"})

# CSS: the property a declaration sets.
_PROPERTY = re.compile(r"\s*(-{0,2}[a-zA-Z][\w-]*)\s*:")


class Context(Enum):
    """What an HTML region holds, so what its text (and any literal in it) is read as."""

    DECLARATIONS = "css declarations"  # a style attribute or a <style> element
    COLOUR = "a colour"  # color=, bgcolor=, fill=, stroke=
    FONT = "font families"  # <font face=>
    URL = "a resource URL"  # src=, background=, <link href=>
    SRCSET = "image candidates"  # srcset=


@dataclass(frozen=True)
class Literal:
    """A string literal inside a Jinja tag."""

    offset: int  # of its first character, inside the quotes
    text: str


@dataclass(frozen=True)
class JinjaTag:
    """A Jinja tag's span in the source, and the string literals inside it."""

    start: int
    end: int
    literals: tuple[Literal, ...]


@dataclass(frozen=True)
class Region:
    """A span of the source whose text is read as ``context``."""

    context: Context
    start: int
    end: int


def _tag_end(source: str, position: int, closing: str) -> tuple[int, tuple[Literal, ...]]:
    literals: list[Literal] = []
    depth = 0
    while (token := _JINJA_TOKEN.search(source, position)) is not None:
        text = token.group()
        if text == closing and depth == 0:
            return token.end(), tuple(literals)
        if text in ("'", '"'):
            string = _JINJA_STRING.match(source, token.start())
            if string is None:  # unterminated: the rest is the tag
                break
            literals.append(Literal(token.start() + 1, string.group()[1:-1]))
            position = string.end()
            continue
        if text[0] in "([{":
            depth += 1
        elif text[0] in ")]}":
            depth = max(0, depth - 1)
        position = token.start() + 1
    return len(source), tuple(literals)


def jinja_tags(source: str) -> list[JinjaTag]:
    """Every Jinja tag (`{{ }}`, `{% %}`, `{# #}`) with the string literals inside it;
    the text of a `{% raw %}` section is template text, not a tag."""
    tags: list[JinjaTag] = []
    position = 0
    while (opening := _JINJA_OPEN.search(source, position)) is not None:
        start = opening.start()
        if opening.group() == "{#":
            close = source.find("#}", opening.end())
            end = len(source) if close < 0 else close + 2
            tags.append(JinjaTag(start, end, ()))
        elif (raw := _RAW.match(source, start)) is not None:
            tags.append(JinjaTag(start, raw.end(), ()))
            endraw = _ENDRAW.search(source, raw.end())
            if endraw is None:
                break
            tags.append(JinjaTag(endraw.start(), endraw.end(), ()))
            end = endraw.end()
        else:
            end, literals = _tag_end(source, opening.end(),
                                     "}}" if opening.group() == "{{" else "%}")
            tags.append(JinjaTag(start, end, literals))
        position = end
    return tags


def _blank(text: str) -> str:
    return re.sub(r"[^\r\n]", " ", text)


def spaces(match: re.Match[str]) -> str:
    """The matched text as spaces (line breaks kept): a ``re.sub`` replacement."""
    return _blank(match.group())


def blanked(source: str, tags: Iterable[JinjaTag]) -> str:
    """The source with its Jinja tags blanked out (same lines, same columns)."""
    pieces: list[str] = []
    position = 0
    for tag in tags:
        pieces += [source[position:tag.start], _blank(source[tag.start:tag.end])]
        position = tag.end
    return "".join([*pieces, source[position:]])


def _attribute_context(element: str, name: str) -> Context | None:
    if name == "style":
        return Context.DECLARATIONS
    if name in _COLOUR_ATTRIBUTES:
        return Context.COLOUR
    if name == "face" and element in ("font", "basefont"):
        return Context.FONT
    if name in _URL_ATTRIBUTES or (name in ("href", "xlink:href")
                                   and element in _LOADING_HREF_ELEMENTS):
        return Context.URL
    if name in _SRCSET_ATTRIBUTES:
        return Context.SRCSET
    return None


def regions(untagged: str) -> list[Region]:
    """The parts of an HTML source (tags blanked) that are CSS, colours, fonts or URLs."""
    styles = [Region(Context.DECLARATIONS, m.start(1), m.end(1))
              for m in _STYLE_ELEMENT.finditer(untagged)]
    found = list(styles)
    for element in _ELEMENT.finditer(untagged):
        if any(style.start <= element.start() < style.end for style in styles):
            continue
        for attribute in _ATTRIBUTE.finditer(untagged, element.start(2), element.end(2)):
            context = _attribute_context(element.group(1).lower(), attribute.group(1).lower())
            if context is not None:
                group = next(g for g in (2, 3, 4) if attribute.group(g) is not None)
                found.append(Region(context, attribute.start(group), attribute.end(group)))
    return found


def property_at(untagged: str, region: Region, offset: int) -> str | None:
    """The CSS property whose value ``offset`` stands in, if it stands in one."""
    cut = max(untagged.rfind(c, region.start, offset) for c in ";{}")
    declaration = _PROPERTY.match(untagged, max(cut + 1, region.start), offset)
    return declaration.group(1).lower() if declaration else None
