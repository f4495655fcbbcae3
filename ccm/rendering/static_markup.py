"""Checking a template's own markup once, so that a render only checks what data put in.

Published template and block versions never change, so their markup can be checked
when the renderer first sees them rather than in every document. A template qualifies
(:func:`plan_markup`) when everything a render can add to its markup is escaped text:

- every ``{{ ... }}`` stands in element text, in ``<title>``/``<textarea>`` text or
  inside a *quoted* attribute value, where autoescaping turns ``< > & " '`` into
  entities: data cannot open a tag, end an attribute or add one;
- a statement (``{% if %}``, ``{% for %}``, ``{% include %}``...) stands in element
  text, so every branch starts and ends there; only ``{% trans %}`` may stand in an
  attribute value;
- nothing makes markup that escaping would pass unread: no ``|safe``, ``|urlize``,
  ``|xmlattr`` or ``|tojson``, no ``{% autoescape %}``, ``{% filter %}``, block
  ``{% set %}``, ``{% macro %}`` or ``{% call %}``, no call but the translation
  functions, ``loop.changed``/``loop.cycle`` and ``range``; translations and string
  literals hold no ``<``, ``>`` or ``"``;
- the markup with every expression replaced by plain text passes the full sanitiser
  (:mod:`ccm.rendering.sanitise`) without a change or a refusal, and has no comment,
  ``<style>``, SVG animation or processing instruction.

A qualifying template's output then has exactly the elements and attributes its source
has; what data can reach is attribute *values*. The render looks only at the attributes
that name a resource or a link (``href``, ``src``, ``style``...), with the same rules as
the full sanitiser (:func:`rewrite_attributes`), instead of parsing, walking and
serialising the whole page. Any other template takes the full sanitiser on every render.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

from ccm.brand.stylesheet import ASSET_SCHEME
from ccm.rendering.sanitise import (
    _NEVER_ATTRS,
    _SVG_ANIMATIONS,
    _WATCHED_ATTRS,
    Rewriter,
    html_parser,
)
from ccm.rendering.spec import AssetData

_TEXT, _TAG_NAME, _TAG, _ATTR_NAME, _AFTER_NAME, _BEFORE_VALUE = range(6)
_VALUE_DQ, _VALUE_SQ, _VALUE_UNQ, _RAW, _END_TAG = range(6, 11)
_SPACE = " \t\n\r\f"
#: Elements whose text is not markup; the first two show data as text (escaped).
_ESCAPABLE_RAW = frozenset({"title", "textarea"})
_RAW_ELEMENTS = _ESCAPABLE_RAW | {"style", "script", "xmp", "iframe", "noembed",
                                  "noframes", "noscript", "plaintext"}
_MARKUP_FILTERS = frozenset({"safe", "urlize", "xmlattr", "tojson"})
_STATEMENTS_IN_TEXT = frozenset({
    "if", "elif", "else", "endif", "for", "endfor", "block", "endblock", "include",
    "extends", "trans", "endtrans", "pluralize", "set", "with", "endwith", "import", "from",
})
_STATEMENTS_IN_VALUE = frozenset({"trans", "endtrans", "pluralize"})
_CALLABLE = frozenset({"_", "gettext", "ngettext", "range", "loop.changed", "loop.cycle"})
_UNSAFE_TEXT = ("<", ">", '"')
#: Stands for an expression inside an attribute value in the skeleton: checked per render.
_DYNAMIC = "\ue000"


class _NotStatic(Exception):
    """The template does not qualify; the message says why."""


@dataclass(frozen=True, slots=True)
class MarkupPlan:
    """How a template's HTML output is made safe on each render."""

    static: bool  # its own markup checked once: only attribute values are checked per render
    reason: str | None = None  # why not, for the record
    watched: frozenset[str] = frozenset()  # attribute names that need a look per render


class _AnyAsset(dict[str, AssetData]):
    """At check time any registry asset is fine: which exist depends on the brand."""

    def get(self, key: str, default: Any = None) -> AssetData:
        return AssetData(sha256=key, media_type="image/png", content=b"")


def plan_markup(env: jinja2.Environment, sources: Iterable[tuple[str, str]],
                translations: Mapping[str, Mapping[str, Any]]) -> MarkupPlan:
    """Whether the HTML ``sources`` (a body and every block it can use) qualify."""
    try:
        for strings in translations.values():
            for key, value in strings.items():
                for text in (key, *(value if isinstance(value, list | tuple) else [value])):
                    if isinstance(text, str) and any(c in text for c in _UNSAFE_TEXT):
                        raise _NotStatic(f"translation {key!r} holds markup or quotes")
        watched: set[str] = set()
        for name, source in sources:
            skeleton = _Scanner(env, name, source).run()
            watched |= _check_skeleton(name, skeleton)
    except _NotStatic as exc:
        return MarkupPlan(static=False, reason=str(exc))
    except jinja2.TemplateSyntaxError as exc:
        return MarkupPlan(static=False, reason=f"syntax: {exc.message}")
    return MarkupPlan(static=True, watched=frozenset(watched))


class _Scanner:
    """Walks a template's tokens with a small HTML tokenizer: where each expression and
    statement lands, and the markup with expressions replaced by text (the skeleton)."""

    def __init__(self, env: jinja2.Environment, name: str, source: str) -> None:
        self.env, self.name, self.source = env, name, source
        self.state = _TEXT
        self.tag = self.attr = self.raw_end = ""
        self.in_trans = False
        self.raw_serial = 0  # counts raw-text elements opened, to pair blocks inside one
        self.blocks: list[tuple[int, int]] = []
        self.skeleton: list[str] = []

    def fail(self, why: str) -> None:
        raise _NotStatic(f"{self.name.split('@', 1)[0]}: {why}")

    def run(self) -> str:
        tokens = list(self.env._tokenize(self.source, self.name))
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token.type == "data":
                if self.in_trans:
                    self.check_text(token.value)
                else:
                    self.data(token.value)
                index += 1
            elif token.type in ("variable_begin", "block_begin"):
                end = "variable_end" if token.type == "variable_begin" else "block_end"
                close = index + 1
                while tokens[close].type != end:
                    close += 1
                inner = tokens[index + 1:close]
                if token.type == "variable_begin":
                    self.expression(inner)
                else:
                    self.statement(inner)
                index = close + 1
            else:
                index += 1
        if self.state != _TEXT or self.in_trans:
            self.fail("ends inside a tag or attribute")
        return "".join(self.skeleton)

    # -- expressions and statements -----------------------------------------------------

    def check_text(self, text: str) -> None:
        if any(c in text for c in _UNSAFE_TEXT):
            self.fail(f"translatable text {text[:40]!r} holds markup or quotes")

    def check_tokens(self, tokens: list[Any]) -> None:
        for position, token in enumerate(tokens):
            before = tokens[position - 1] if position else None
            if token.type == "string":
                self.check_text(token.value)
            elif token.type == "name" and before is not None and before.type == "pipe":
                if token.value in _MARKUP_FILTERS:
                    self.fail(f"filter {token.value!r} makes unescaped markup")
            elif token.type == "lparen" and before is not None:
                if before.type in ("rparen", "rbracket", "string"):
                    self.fail("calls a computed value")
                if before.type != "name":
                    continue
                start = position - 1
                while start >= 2 and tokens[start - 1].type == "dot" \
                        and tokens[start - 2].type == "name":
                    start -= 2
                prefix = tokens[start - 1] if start else None
                if prefix is not None and (prefix.type == "pipe" or (
                        prefix.type == "name" and prefix.value in ("is", "not"))):
                    continue  # a filter's or test's arguments
                callee = ".".join(t.value for t in tokens[start:position] if t.type == "name")
                if callee not in _CALLABLE:
                    self.fail(f"calls {callee!r}")

    def expression(self, tokens: list[Any]) -> None:
        self.check_tokens(tokens)
        if self.in_trans:
            return  # a placeholder of the translated text: escaped into it
        if self.state in (_VALUE_DQ, _VALUE_SQ):
            self.skeleton.append(_DYNAMIC)
            return
        if self.state == _TEXT or (self.state == _RAW and self.tag in _ESCAPABLE_RAW):
            self.skeleton.append("x")
            return
        self.fail("an expression stands inside a tag, an unquoted value or raw text")

    def statement(self, tokens: list[Any]) -> None:
        keyword = tokens[0].value if tokens and tokens[0].type == "name" else ""
        self.check_tokens(tokens[1:])
        if keyword == "set" and not any(t.type == "assign" for t in tokens):
            self.fail("a block {% set %} captures markup")
        in_value = self.state in (_VALUE_DQ, _VALUE_SQ)
        if keyword in _STATEMENTS_IN_VALUE and (in_value or self.state == _TEXT or (
                self.state == _RAW and self.tag in _ESCAPABLE_RAW)):
            if keyword == "trans":
                if self.state == _VALUE_SQ:
                    self.fail("{% trans %} in a single-quoted attribute")
                self.in_trans = True
                self.skeleton.append("x")
            elif keyword == "endtrans":
                self.in_trans = False
            return
        if keyword not in _STATEMENTS_IN_TEXT:
            self.fail(f"uses {{% {keyword} %}}")
        escapable_raw = self.state == _RAW and self.tag in _ESCAPABLE_RAW
        if keyword == "block" and escapable_raw and not self.in_trans:
            # <title>{% block title %}...{% endblock %}</title>: the block must hold only
            # the element's text; what overrides it is checked as markup (stricter).
            self.blocks.append((_RAW, self.raw_serial))
            return
        if keyword == "endblock" and self.blocks and self.blocks[-1][0] == _RAW:
            if (self.state, self.raw_serial) != self.blocks.pop() or self.in_trans:
                self.fail("a {% block %} in raw text holds markup")
            return
        if self.state != _TEXT or self.in_trans:
            self.fail(f"{{% {keyword} %}} stands inside a tag, an attribute or raw text")
        if keyword == "block":
            self.blocks.append((_TEXT, 0))
        elif keyword == "endblock" and self.blocks:
            self.blocks.pop()

    # -- the HTML tokenizer ---------------------------------------------------------------

    def data(self, text: str) -> None:
        out = self.skeleton
        position, end = 0, len(text)
        while position < end:
            char = text[position]
            state = self.state
            if state == _TEXT:
                stop = text.find("<", position)
                if stop < 0:
                    out.append(text[position:])
                    return
                out.append(text[position:stop])
                position = stop
                rest = text[position:position + 9]
                if rest[1:2].isalpha():
                    self.state, self.tag = _TAG_NAME, ""
                    out.append("<")
                    position += 1
                elif rest[1:2] == "/" and rest[2:3].isalpha():
                    self.state = _END_TAG
                elif rest.upper() == "<!DOCTYPE":
                    close = text.find(">", position)
                    if close < 0:
                        self.fail("a doctype split by a template tag")
                    out.append(text[position:close + 1])
                    position = close + 1
                else:
                    self.fail(f"markup {rest!r} (a comment, a processing instruction or "
                              "a stray '<')")
                continue
            if state == _TAG_NAME:
                if char in _SPACE or char in "/>":
                    self.tag = self.tag.lower()
                    self.state = _TAG
                    continue
                self.tag += char
            elif state in (_TAG, _AFTER_NAME):
                if char == ">":
                    self.close_tag()
                elif char == "=" and state == _AFTER_NAME:
                    self.state = _BEFORE_VALUE
                elif char in _SPACE or char == "/":
                    pass
                elif char in "\"'<=":
                    self.fail(f"a stray {char!r} in <{self.tag}>")
                else:
                    self.state, self.attr = _ATTR_NAME, char
            elif state == _ATTR_NAME:
                if char == "=":
                    self.state = _BEFORE_VALUE
                elif char in _SPACE or char == "/":
                    self.state = _AFTER_NAME
                elif char == ">":
                    self.close_tag()
                elif char in "\"'<":
                    self.fail(f"a stray {char!r} in <{self.tag}>")
                else:
                    self.attr += char
            elif state == _BEFORE_VALUE:
                if char == '"':
                    self.state = _VALUE_DQ
                elif char == "'":
                    self.state = _VALUE_SQ
                elif char == ">":
                    self.close_tag()
                elif char not in _SPACE:
                    self.state = _VALUE_UNQ
            elif state in (_VALUE_DQ, _VALUE_SQ):
                if char == ('"' if state == _VALUE_DQ else "'"):
                    self.state = _TAG
                elif char in "<>":
                    self.fail(f"a {char!r} in an attribute value of <{self.tag}>")
            elif state == _VALUE_UNQ:
                if char in _SPACE:
                    self.state = _TAG
                elif char == ">":
                    self.close_tag()
                elif char in "\"'<=`":
                    self.fail(f"a stray {char!r} in <{self.tag}>")
            elif state == _RAW:
                close = text.lower().find(self.raw_end, position)
                if close < 0:
                    out.append(text[position:])
                    return
                out.append(text[position:close])
                position = close
                self.state = _END_TAG
                continue
            elif state == _END_TAG and char == ">":
                self.state = _TEXT
            out.append(char)
            position += 1

    def close_tag(self) -> None:
        if self.tag in _RAW_ELEMENTS:
            self.state, self.raw_end = _RAW, f"</{self.tag}"
            self.raw_serial += 1
        else:
            self.state = _TEXT


def _check_skeleton(name: str, skeleton: str) -> set[str]:
    """The full sanitiser must find nothing to change; returns the watched attributes."""
    from lxml import etree

    where = name.split("@", 1)[0]
    if not skeleton.strip() or "<" not in skeleton:
        return set()
    root = etree.fromstring(skeleton.encode("utf-8", "replace"), html_parser())
    if root is None:
        return set()
    warnings: list[str] = []
    rewriter = Rewriter(_AnyAsset(), lambda asset: f"{ASSET_SCHEME}{asset.sha256}", warnings)
    watched: set[str] = set()
    for node in root.iter(etree.Element):
        tag = node.tag
        if tag == "style" or tag in _SVG_ANIMATIONS:
            raise _NotStatic(f"{where}: has <{tag}>, checked with each render")
        if not rewriter.element_allowed(node, tag):
            break
        for attribute, value in node.items():
            local = attribute.rpartition(":")[2]
            never = attribute in _NEVER_ATTRS or local in _NEVER_ATTRS or local.startswith("on")
            if local in _WATCHED_ATTRS or never:
                watched.add(attribute.lower())
            if _DYNAMIC in value:  # data decides the value: looked at with each render
                if never:
                    warnings.append(f"<{tag} {attribute}> is never kept")
            elif rewriter.attribute(tag, attribute, value) != value:
                warnings.append(f"<{tag} {attribute}> changes")
    if warnings:
        raise _NotStatic(f"{where}: the sanitiser would change it ({warnings[0]})")
    return watched


# -- per render ------------------------------------------------------------------------------

_START_TAG = re.compile(r"<([a-zA-Z][^\s/>]*)([^>]*)>")
_ATTRIBUTE = re.compile(
    r"""([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)


#: Attribute names the quick scan of :func:`rewrite_attributes` can look for: none holds
#: a character that could end a tag or an attribute (any other name: the tag-by-tag scan).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_TAG_OPEN = re.compile(r"<[a-zA-Z]")


@lru_cache(maxsize=256)
def _hints(watched: frozenset[str]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """The per-tag hint that a start tag's attributes may name a watched attribute, and
    the same hint over the whole page, *reversed* (None if the names do not allow it).

    Reversed, the hint starts with ``=``, which the regular expression engine can jump to
    (a pattern that starts with a letter or a class is tried at every character; folding
    case is per character, so a reversed name matches what the name matches). Each hit
    holds one ``=``, its first character, so the reversed scan finds every place the
    per-tag hint can match, and no other.
    """
    per_tag_names = "|".join(re.escape(name) for name in sorted(watched))
    per_tag = re.compile(rf"(?:^|[\s\"'/])(?:{per_tag_names})\s*=", re.IGNORECASE)
    if not all(_PLAIN_NAME.fullmatch(name) for name in watched):
        return per_tag, None
    names = "|".join(re.escape(name[::-1]) for name in sorted(watched))
    return per_tag, re.compile(rf"=\s*(?:{names})(?=[\s\"'/])", re.IGNORECASE)


def rewrite_attributes(markup: str, plan: MarkupPlan, rewriter: Rewriter) -> str:
    """The output of a template that qualifies, its watched attributes checked.

    Exactly what checking every start tag (``_START_TAG``, left to right) whose attributes
    match the per-tag hint gives; but the page is searched for the hint itself, and only
    the tags around a hit are looked at. The tag around a hit at ``p`` is found as the scan
    would find it: a start tag holds no ``>`` before its end, so the scan's tags never
    straddle the last ``>`` before ``p``, and the first ``<`` + letter after that ``>``
    starts the tag that holds ``p``, if any does. (A start tag's attributes begin with a
    space or ``/``, so the hint's ``^`` never matches there unless a delimiter does.)
    """
    if not plan.watched:
        return markup
    per_tag, reversed_hint = _hints(plan.watched)
    if reversed_hint is None:
        return _rewrite_tag_by_tag(markup, plan, rewriter, per_tag)
    return _rewrite_tags(markup, _tags_near_hits(markup, reversed_hint), plan, rewriter)


def _tags_near_hits(markup: str, reversed_hint: re.Pattern[str]
                    ) -> Iterator[re.Match[str]]:
    """The start tags whose attributes hold a hit of the hint, left to right."""
    end = len(markup) - 1
    hits = [end - hit.end() for hit in reversed_hint.finditer(markup[::-1])]
    done = 0
    for position in reversed(hits):  # the delimiter before each name, left to right
        if position < done:
            continue  # in the tag just looked at
        opening = _TAG_OPEN.search(markup, markup.rfind(">", 0, position) + 1, position)
        if opening is None:
            continue  # in text, not in a tag
        match = _START_TAG.match(markup, opening.start())
        if match is None:
            continue  # a "<" that no ">" closes: no tag
        if position < match.start(2):
            continue  # in the tag's name: its attributes may still hold a hit
        done = match.end()
        yield match


def _rewrite_tag_by_tag(markup: str, plan: MarkupPlan, rewriter: Rewriter,
                        hint: re.Pattern[str]) -> str:
    tags = (match for match in _START_TAG.finditer(markup)
            if match.group(2) and hint.search(match.group(2)))
    return _rewrite_tags(markup, tags, plan, rewriter)


def _rewrite_tags(markup: str, tags: Iterable[re.Match[str]], plan: MarkupPlan,
                  rewriter: Rewriter) -> str:
    """``markup`` with the attributes of ``tags`` rewritten where they need it."""
    parts: list[str] = []
    last = 0
    for match in tags:
        rebuilt = _rewrite_tag(match.group(1).lower(), match.group(2), plan.watched, rewriter)
        if rebuilt is not None:
            parts.append(markup[last:match.start(2)])
            parts.append(rebuilt)
            last = match.end(2)
    if not parts:
        return markup
    parts.append(markup[last:])
    return "".join(parts)


def _rewrite_tag(tag: str, attributes: str, watched: frozenset[str],
                 rewriter: Rewriter) -> str | None:
    changed = False
    kept: list[str] = []
    for match in _ATTRIBUTE.finditer(attributes):
        name = match.group(1)
        raw = next((g for g in match.group(2, 3, 4) if g is not None), None)
        if name.lower() not in watched or raw is None:
            kept.append(match.group(0))
            continue
        value = html.unescape(raw)
        replacement = rewriter.attribute(tag, name.lower(), value)
        if replacement == value:
            kept.append(match.group(0))
            continue
        changed = True
        if replacement is not None:
            kept.append(f'{name}="{html.escape(replacement, quote=True)}"')
    if not changed:
        return None
    return "".join(f" {part}" for part in kept)
