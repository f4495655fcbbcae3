"""The HTML and CSS rewriter behind :mod:`ccm.rendering.markup`.

One walk over the lxml tree: elements that load, run or frame something go, resource
attributes keep only registry assets, ``cid:`` and plain data images, and CSS is read
with tinycss2 so that escapes, ``image-set()`` and ``@import`` are seen as a browser sees
them.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import tinycss2  # type: ignore[import-untyped]
from lxml import etree
from tinycss2.ast import StringToken, URLToken  # type: ignore[import-untyped]
from tinycss2.serializer import (  # type: ignore[import-untyped]
    serialize_identifier,
    serialize_string_value,
    serialize_url,
)

from ccm.brand.stylesheet import ASSET_SCHEME
from ccm.rendering.spec import AssetData

AssetRewriter = Callable[[AssetData], str]

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SPACE = " \t\n\r\f"
_SPACE_OR_COMMA = _SPACE + ","
_SAFE_DATA = ("data:image/png", "data:image/jpeg", "data:image/gif")
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:")
_ONLY_REGISTRY = "only registry assets load"

# Elements that load, run or frame something whatever their attributes say.
_DROPPED_ELEMENTS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "param", "base",
    "link", "portal", "fencedframe",
})
_ELEMENT_URL_ATTRS = ("href", "src", "data", "code", "content", "action")
# Attributes whose value is one resource URL, and those never kept (form targets and
# pings are requests; xml:base would move where fragment references point).
_RESOURCE_ATTRS = frozenset({
    "src", "lowsrc", "dynsrc", "poster", "background", "icon", "manifest", "codebase",
    "archive", "classid", "profile", "longdesc", "data",
})
_NEVER_ATTRS = frozenset({"action", "formaction", "ping", "attributionsrc", "xml:base"})
_SRCSET_ATTRS = frozenset({"srcset", "imagesrcset"})
# SVG presentation attributes are CSS values: fill="url(...)" references a resource.
_CSS_VALUE_ATTRS = frozenset({
    "fill", "stroke", "filter", "mask", "clip-path", "marker", "marker-start",
    "marker-mid", "marker-end", "cursor",
})
_SVG_ANIMATIONS = frozenset({
    "animate", "set", "animatemotion", "animatetransform", "animatecolor",
})
_ANIMATED_URL_ATTRS = _RESOURCE_ATTRS | _CSS_VALUE_ATTRS | {"href", "style"}
_ANIMATION_VALUES = ("from", "to", "by", "values")
_WATCHED_ATTRS = (
    _RESOURCE_ATTRS | _NEVER_ATTRS | _SRCSET_ATTRS | _CSS_VALUE_ATTRS | {"href", "style"}
)
_SPECIAL_ELEMENTS = tuple(sorted(_DROPPED_ELEMENTS | _SVG_ANIMATIONS | {"style", "meta"}))
# Attributes that never name a resource: an element with only these needs no look.
# (Only a shortcut: any other attribute gets the full check.)
_PLAIN_ATTRS = frozenset({
    "class", "id", "lang", "dir", "title", "alt", "role", "translate", "hidden", "tabindex",
    "width", "height", "align", "valign", "bgcolor", "color", "border", "cellpadding",
    "cellspacing", "colspan", "rowspan", "scope", "headers", "abbr", "span", "summary",
    "nowrap", "start", "reversed", "datetime", "name", "type", "value", "for", "charset",
    "content", "rel", "target", "hreflang", "media", "sizes", "loading", "decoding",
    "aria-hidden", "aria-label", "aria-labelledby", "aria-describedby", "face", "size",
    "xmlns", "viewbox", "version", "focusable", "preserveaspectratio", "d", "x", "y",
    "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "points", "transform",
    "fill-rule", "stroke-width", "opacity", "fill-opacity", "stroke-opacity",
    "stroke-linecap", "stroke-linejoin", "text-anchor", "font-size", "font-family",
    "font-weight", "offset", "stop-color", "stop-opacity",
})
_META_EQUIV_ALLOWED = frozenset({
    "content-type", "content-language", "x-ua-compatible", "content-security-policy",
    "default-style", "x-dns-prefetch-control",
})
_SRCSET_DESCRIPTOR = re.compile(r"\d+[wh]|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?x")

# CSS that mentions none of these cannot name a resource; it is kept without parsing.
_CSS_HINTS = ("url", "image", "\\", "import", "src(", "expression", "progid", "attr(")
# Functions whose string arguments are URLs, and those that substitute unseen values.
_URL_FUNCTIONS = frozenset({"url", "src"})
_IMAGE_FUNCTIONS = frozenset({
    "image-set", "-webkit-image-set", "image", "-webkit-image", "cross-fade",
    "-webkit-cross-fade",
})
_SUBSTITUTIONS = frozenset({"var", "env", "attr"})
_MAX_CSS_DEPTH = 32  # blocks and functions within one another; deeper CSS is dropped
# At-rules whose block holds rules rather than declarations.
_RULE_BLOCKS = frozenset({
    "media", "supports", "layer", "container", "document", "-moz-document", "scope",
    "starting-style", "keyframes", "-webkit-keyframes",
})

_parsers = threading.local()


# -- parsing and serializing -----------------------------------------------------------------


def html_parser() -> Any:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        # huge_tree: without it libxml2 silently drops text nodes over 10 MB.
        parser = _parsers.parser = etree.HTMLParser(
            encoding="utf-8", huge_tree=True, no_network=True, default_doctype=False,
        )
    return parser


_DOCUMENT_TAG = re.compile(r"<(?:html|head|body)[\s/>]", re.IGNORECASE)


def is_document(markup: str) -> bool:
    return _DOCUMENT_TAG.search(markup) is not None


def inner_html(element: Any) -> str:
    if element.tag not in ("head", "body"):
        return str(etree.tostring(element, method="html", encoding="unicode"))
    parts = [html.escape(element.text, quote=False)] if element.text else []
    parts.extend(
        etree.tostring(child, method="html", encoding="unicode") for child in element
    )
    return "".join(parts)


def _remove(node: Any) -> None:
    """Take ``node`` out of the tree, keeping the text that follows it."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _css_hint(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in _CSS_HINTS)


# -- the rewrite -----------------------------------------------------------------------------


class Rewriter:
    __slots__ = ("assets", "produced", "rewrite_asset", "warnings")

    def __init__(self, assets: Mapping[str, AssetData], rewrite_asset: AssetRewriter,
                 warnings: list[str]) -> None:
        self.assets = assets
        self.rewrite_asset = rewrite_asset
        self.warnings = warnings
        self.produced: set[str] = set()  # URLs this rewrite put in

    def refuse(self, what: str, reason: str = _ONLY_REGISTRY) -> None:
        self.warnings.append(f"refused outside resource {what[:200]!r}: {reason}")

    # URLs

    def resource(self, url: str, *, fragment: bool = False) -> str | None:
        """The URL to load instead of ``url``, or None (reported) if it may not load."""
        plain = url.strip(_SPACE)
        scheme = plain[:16].lower()
        if scheme.startswith(ASSET_SCHEME):
            asset = self.assets.get(plain[len(ASSET_SCHEME):])
            if asset is not None:
                rewritten = self.rewrite_asset(asset)
                self.produced.add(rewritten)
                return rewritten
        elif (
            scheme.startswith(("cid:", *_SAFE_DATA))
            or (fragment and plain.startswith("#"))
            or plain in self.produced
        ):
            return plain
        self.refuse(plain)
        return None

    def link(self, url: str) -> str | None:
        """Following a link is navigation, not a fetch: web and mail links stay."""
        plain = url.strip(_SPACE)
        if plain[:7].lower().startswith(_LINK_SCHEMES) or plain.startswith("#"):
            return url
        return self.resource(url, fragment=True)

    def srcset(self, value: str) -> str | None:
        """Every candidate checked (the WHATWG srcset split); only sound ones rebuilt."""
        kept: list[str] = []
        position, end = 0, len(value)
        while True:
            while position < end and value[position] in _SPACE_OR_COMMA:
                position += 1
            if position >= end:
                break
            start = position
            while position < end and value[position] not in _SPACE:
                position += 1
            url, descriptors = value[start:position], ""
            if url.endswith(","):
                url = url.rstrip(",")
            else:
                start, depth = position, 0
                while position < end:
                    char = value[position]
                    if char == "(":
                        depth += 1
                    elif char == ")" and depth:
                        depth -= 1
                    elif char == "," and not depth:
                        break
                    position += 1
                descriptors = value[start:position]
                position += 1
            rewritten = self.resource(url)
            if rewritten is None:
                continue
            words = [w for w in descriptors.split() if _SRCSET_DESCRIPTOR.fullmatch(w)]
            kept.append(" ".join([rewritten, *words]))
        return ", ".join(kept) or None

    # HTML

    def clean_tree(self, root: Any) -> None:
        # Comments beside <html> are not serialized with it; only reported here.
        for sibling in (*root.itersiblings(preceding=True), *root.itersiblings()):
            self.comment(sibling)
        doomed: list[Any] = []
        for node in root.iter(etree.Comment, etree.ProcessingInstruction, *_SPECIAL_ELEMENTS):
            tag = node.tag
            if tag.__class__ is not str:  # a comment or processing instruction
                self.comment(node)
                doomed.append(node)
            elif not self.element_allowed(node, tag):
                doomed.append(node)
        # The hot loop, over every element: most have no attribute or only plain ones.
        dropped = set(doomed)
        plain = _PLAIN_ATTRS.issuperset
        for node in root.iter(etree.Element):
            keys = node.keys()
            if keys and not plain(keys) and node not in dropped:
                self.clean_attributes(node, node.tag)
        for node in doomed:
            _remove(node)

    def element_allowed(self, node: Any, tag: str) -> bool:
        if tag in _DROPPED_ELEMENTS or (tag == "meta" and self.meta_fetches(node)):
            self.refuse_element(node)
            return False
        if tag == "style":
            return self.clean_style_element(node)
        if tag in _SVG_ANIMATIONS:
            return self.animation_allowed(node)
        return True

    def comment(self, node: Any) -> None:
        """Comments go (Outlook reads conditional ones); a conditional one is reported."""
        if "[if" in (node.text or ""):
            self.refuse(f"<!--{node.text}-->", "conditional comments are dropped")

    def refuse_element(self, node: Any) -> None:
        named = next((node.get(a) for a in _ELEMENT_URL_ATTRS if node.get(a)), None)
        if named is None:
            named = str(etree.tostring(node, method="html", encoding="unicode",
                                       with_tail=False))
        self.refuse(named, f"<{node.tag}> elements are not allowed")

    @staticmethod
    def meta_fetches(node: Any) -> bool:
        equiv = (node.get("http-equiv") or "").strip(_SPACE).lower()
        if equiv and equiv not in _META_EQUIV_ALLOWED:
            return True  # refresh, link, set-cookie...
        name = (node.get("name") or "").strip(_SPACE).lower()
        return name.startswith("msapplication") and any(
            c in (node.get("content") or "") for c in "/:"
        )

    def animation_allowed(self, node: Any) -> bool:
        """SVG animation can set an href or a url() later; only fragment ones stay."""
        target = (node.get("attributename") or "").strip(_SPACE).lower().rpartition(":")[2]
        if target not in _ANIMATED_URL_ATTRS:
            return True
        for name in _ANIMATION_VALUES:
            for value in (node.get(name) or "").split(";"):
                value = value.strip(_SPACE)
                if value and not value.startswith(("#", "url(#", "none")):
                    self.refuse(value, f"<{node.tag}> may not animate {target}")
                    return False
        return True

    def clean_attributes(self, node: Any, tag: str) -> None:
        for name, value in node.items():
            if "{" in name or "}" in name:
                # lxml cannot address such a name; no attribute a browser acts on has one.
                continue
            replacement = self.attribute(tag, name, value)
            if replacement is None:
                del node.attrib[name]
            elif replacement != value:
                try:
                    node.set(name, replacement)
                except ValueError:  # a control character CSS serialization let through
                    self.refuse(replacement, "a value with control characters is dropped")
                    del node.attrib[name]

    def attribute(self, tag: str, name: str, value: str) -> str | None:
        """What attribute ``name`` of a ``tag`` element may say instead of ``value``:
        the value itself, a rewritten one, or None (reported) when it must go."""
        local = name.rpartition(":")[2] if ":" in name else name
        if local.startswith("on"):
            self.refuse(f"{name}={value}", "event handlers are not allowed")
            return None
        if local not in _WATCHED_ATTRS and name not in _NEVER_ATTRS:
            return value
        if name in _NEVER_ATTRS or local in _NEVER_ATTRS:
            self.refuse(value.strip(_SPACE) or f"{name}=")
            return None
        if local == "style":
            return self.style_attribute(value)
        if local == "href":
            if tag in ("a", "area"):
                return self.link(value)
            return self.resource(value, fragment=True)
        if local in _RESOURCE_ATTRS:
            return self.resource(value)
        if local in _SRCSET_ATTRS:
            return self.srcset(value)
        return self.css_value(value)  # a presentation attribute

    def clean_style_element(self, node: Any) -> bool:
        """Check a <style> element's sheet; False if the element must go."""
        text = node.text or ""
        if "<" in text and "<" in text.replace("<!--", ""):
            # Raw text to lxml, but markup to a browser inside <svg> or <math>. (Old
            # templates hide CSS from ancient clients in <!-- -->: that much may stay.)
            self.refuse(text, "markup inside <style> is not allowed")
            return False
        if len(node):
            self.refuse(str(etree.tostring(node, method="html", encoding="unicode",
                                           with_tail=False)),
                        "markup inside <style> is not allowed")
            return False
        cleaned = self.stylesheet(text)
        if cleaned != text:
            try:
                node.text = cleaned
            except ValueError:  # a control character CSS serialization let through
                self.refuse(cleaned, "a style sheet with control characters is dropped")
                return False
        return True

    # CSS

    def bare_text(self, text: str) -> str:
        """Text without any tag: kept, unless it is a stylesheet naming resources."""
        if "{" not in text or not _css_hint(text):
            return text
        rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
        if not rules or any(rule.type == "error" for rule in rules):
            return text  # not a stylesheet: plain text, which cannot fetch
        return self.stylesheet(text, rules)

    def stylesheet(self, text: str, rules: list[Any] | None = None) -> str:
        if not _css_hint(text):
            return text
        if rules is None:
            rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
        cleaned, changed = self.css_items(rules, "")
        return self.verified(cleaned if changed else text)

    def style_attribute(self, text: str) -> str | None:
        if not _css_hint(text):
            return text
        items = tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True)
        cleaned, changed = self.css_items(items, ";")
        return self.verified(cleaned if changed else text) or None

    def css_value(self, text: str) -> str | None:
        if not _css_hint(text):
            return text
        before = len(self.warnings)
        tokens = tinycss2.parse_component_value_list(text, skip_comments=True)
        changed = self.css_tokens(tokens)
        if len(self.warnings) > before:
            return None
        return tinycss2.serialize(tokens) if changed else text

    def verified(self, css: str) -> str:
        """Fail closed: CSS whose tokens still name a resource that may not load is emptied.

        The rule-by-rule pass above works on tinycss2's reading of the structure; this
        scan of every token does not depend on it (a part tinycss2 took as an error is
        seen here too).
        """
        if not _css_hint(css):
            return css
        before = len(self.warnings)
        changed = self.css_tokens(tinycss2.parse_component_value_list(css, skip_comments=True))
        if changed or len(self.warnings) > before:
            self.refuse(css, "CSS naming an outside resource is dropped")
            return ""
        return css

    def css_items(self, items: Iterable[Any], separator: str,
                  depth: int = 0) -> tuple[str, bool]:
        """Rules or declarations, minus any naming a refused URL; registry URLs rewritten.

        Returns the serialized result and whether it differs from the input.
        """
        if depth > _MAX_CSS_DEPTH:
            self.refuse("{…}", "CSS nested too deeply")
            return "", True
        kept: list[str] = []
        changed = False
        for item in items:
            kind = item.type
            before = len(self.warnings)
            if kind == "declaration":
                changed |= self.css_tokens(item.value)
                if len(self.warnings) > before:  # a refused URL: the declaration goes
                    changed = True
                    continue
                serialized = item.serialize()
            elif kind == "qualified-rule":
                changed |= self.css_tokens(item.prelude)
                if len(self.warnings) > before:
                    changed = True
                    continue
                inner, inner_changed = self.css_items(
                    tinycss2.parse_blocks_contents(
                        item.content, skip_comments=True, skip_whitespace=True
                    ),
                    ";", depth + 1,
                )
                changed |= inner_changed
                serialized = f"{tinycss2.serialize(item.prelude)}{{{inner}}}"
            elif kind == "at-rule":
                keyword = item.lower_at_keyword
                if keyword == "import":
                    self.refuse(_import_target(item))
                    changed = True
                    continue
                changed |= self.css_tokens(item.prelude)
                if len(self.warnings) > before:
                    changed = True
                    continue
                head = f"@{serialize_identifier(item.at_keyword)}{tinycss2.serialize(item.prelude)}"
                if item.content is None:
                    serialized = f"{head};"
                else:
                    if keyword in _RULE_BLOCKS:
                        contents = tinycss2.parse_rule_list(
                            item.content, skip_comments=True, skip_whitespace=True
                        )
                        inner, inner_changed = self.css_items(contents, "", depth + 1)
                    else:
                        contents = tinycss2.parse_blocks_contents(
                            item.content, skip_comments=True, skip_whitespace=True
                        )
                        inner, inner_changed = self.css_items(contents, ";", depth + 1)
                    changed |= inner_changed
                    serialized = f"{head}{{{inner}}}"
            else:  # a parse error: browsers ignore it too, and the final scan sees it
                continue
            kept.append(serialized)
        return separator.join(kept), changed

    def css_tokens(self, tokens: list[Any], image: bool = False, depth: int = 0) -> bool:
        """Check component values, rewriting registry URLs in place; True if rewritten.

        Refusals are reported (the caller sees the warnings grow). ``image``: the direct
        arguments of an image function, where a string is a URL.
        """
        if depth > _MAX_CSS_DEPTH:
            self.refuse("(…)", "CSS nested too deeply")
            return False
        changed = False
        for index, token in enumerate(tokens):
            kind = token.type
            if kind == "url":
                rewritten = self.resource(token.value, fragment=True)
                if rewritten is not None and rewritten != token.value:
                    tokens[index] = URLToken(
                        token.source_line, token.source_column, rewritten,
                        f"url({serialize_url(rewritten)})",
                    )
                    changed = True
            elif kind == "string":
                if image:
                    changed |= self.css_string(tokens, index)
            elif kind == "function":
                name = token.lower_name
                if name in _URL_FUNCTIONS or name in _IMAGE_FUNCTIONS:
                    changed |= self.css_tokens(token.arguments, True, depth + 1)
                elif name in _SUBSTITUTIONS and image:
                    self.refuse(_describe(token), "values substituted into URLs cannot be checked")
                elif name == "expression" or (name == "attr" and "url" in
                                              _describe(token).lower()):
                    self.refuse(_describe(token), "scripted or attribute URLs are not allowed")
                else:
                    changed |= self.css_tokens(token.arguments, False, depth + 1)
            elif kind in ("() block", "[] block", "{} block"):
                changed |= self.css_tokens(token.content, False, depth + 1)
            elif kind == "at-keyword" and token.lower_value == "import":
                self.refuse(_describe(tokens[index:index + 3]).strip())
            elif kind == "ident" and token.lower_value == "progid":
                self.refuse(_describe(tokens[index:]), "IE filters are not allowed")
            elif kind == "error" and token.kind == "bad-url":
                self.refuse("url(…)", "a malformed url() is not allowed")
        return changed

    def css_string(self, tokens: list[Any], index: int) -> bool:
        token = tokens[index]
        rewritten = self.resource(token.value, fragment=True)
        if rewritten is None or rewritten == token.value:
            return False
        tokens[index] = StringToken(
            token.source_line, token.source_column, rewritten,
            f'"{serialize_string_value(rewritten)}"',
        )
        return True


def _describe(css: Any) -> str:
    """A node or nodes as CSS text, for a warning (nesting too deep for serialize cut)."""
    try:
        return str(tinycss2.serialize(css if isinstance(css, list) else [css]))[:200]
    except RecursionError:
        return "(…)"


def _import_target(rule: Any) -> str:
    for token in rule.prelude:
        if token.type in ("url", "string"):
            return str(token.value)
        if token.type == "function":
            for argument in token.arguments:
                if argument.type == "string":
                    return str(argument.value)
    return f"@import{_describe(rule.prelude)}"
