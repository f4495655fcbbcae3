"""Reading customer data sent as XML, safely, into the same shape JSON gives.

The XML comes from outside, so it is treated as hostile:

* anything larger than the size limit is refused before parsing;
* any DTD (``<!DOCTYPE``), entity declaration or entity reference other than the
  five predefined ones is refused with :class:`~ccm.errors.ForbiddenMarkupError`.
  That shuts out XXE (``<!ENTITY x SYSTEM "file:///etc/passwd">``), external DTDs
  and entity expansion bombs ("billion laughs"). The raw text is checked before
  parsing and the parsed tree's ``docinfo`` after it, and the parser itself is set
  up so that it would neither resolve entities nor fetch anything if both checks
  were somehow passed;
* comments and processing instructions are dropped;
* nesting deeper than 256 elements is refused by the parser (libxml2's limit without
  ``huge_tree``), and an element with more than :data:`MAX_ATTRIBUTES` attributes is
  refused before the tree is walked (lxml reads attributes back in quadratic time, so
  one element with 100,000 of them would take half a minute to map).

The element tree is then mapped to the structure :func:`~ccm.inputs.parse_json_data`
would give for the same data, guided by the template's JSON Schema where one is given:

* the root element is the top-level object (its tag name is ignored);
* child elements and attributes become properties, by local name (namespaces are
  ignored); attributes in the ``xsi`` namespace are XML plumbing and are dropped;
* an element with only text is a scalar, coerced by the schema type at its position
  (``number``/``integer`` as JSON would read the same literal: ``int`` for an integer
  literal, ``Decimal`` otherwise; ``boolean`` from ``true/false/1/0``; ``string`` kept
  as is). A value that cannot be coerced stays a string, so that
  :func:`~ccm.inputs.validate_data` reports it with its path;
* repeated sibling elements with the same tag become an array; a property whose schema
  type is ``array`` is always a list, given either as a wrapper
  (``<items><item/><item/></items>``) or repeated (``<items/><items/>``);
* ``xsi:nil="true"`` is ``None``; an empty element is ``None`` where the schema allows
  null, ``[]`` for an array, ``{}`` for an object and ``""`` otherwise;
* text beside child elements or attributes (``<amount currency="EUR">5</amount>``) is
  kept under the property ``"#text"`` rather than silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree  # type: ignore[import-untyped, unused-ignore]

from ccm.errors import ForbiddenMarkupError, InputError
from ccm.inputs.json_data import DEFAULT_MAX_BYTES, check_size

__all__ = ["MAX_ATTRIBUTES", "TEXT_KEY", "parse_xml_data"]

#: Most attributes one element may carry. No billing document comes close; the limit
#: is there because lxml's ``attrib.items()`` is quadratic in the number of attributes.
MAX_ATTRIBUTES = 256

#: Property under which text mixed with child elements or attributes is kept.
TEXT_KEY = "#text"

_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_NIL = f"{{{_XSI_NS}}}nil"

_DOCTYPE_MESSAGE = "XML with a DTD (DOCTYPE) is not accepted"
_ENTITY_DECL_MESSAGE = "XML with an entity declaration (<!ENTITY) is not accepted"
_ENTITY_REF_MESSAGE = (
    "XML entity references other than &amp; &lt; &gt; &quot; &apos; are not accepted"
)

# No legitimate billing document needs a DTD; case-insensitive and allowing blanks so
# that near-misses are refused by us rather than puzzled over by the parser.
_FORBIDDEN_MARKUP = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_FORBIDDEN_MARKUP_STR = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

# The XML declaration of a str input: lxml refuses a str that declares an encoding,
# and the declared encoding is meaningless once the text is decoded anyway.
_XML_DECLARATION = re.compile(r"\A(\s*)<\?xml\s[^>]*\?>")

# libxml2 error codes that mean "an entity was used" rather than a plain typo.
_ENTITY_ERRORS = frozenset(
    {
        etree.ErrorTypes.ERR_UNDECLARED_ENTITY,
        etree.ErrorTypes.WAR_UNDECLARED_ENTITY,
        etree.ErrorTypes.ERR_ENTITY_LOOP,
        etree.ErrorTypes.ERR_UNPARSED_ENTITY,
        etree.ErrorTypes.ERR_ENTITY_IS_EXTERNAL,
        etree.ErrorTypes.ERR_ENTITY_IS_PARAMETER,
        etree.ErrorTypes.ERR_ENTITY_PE_INTERNAL,
        etree.ErrorTypes.ERR_ENTITY_PROCESSING,
    }
)

# Numbers as JSON (leniently: a leading '+', '.5' and '5.' are unambiguous too). Kept
# strict enough that Decimal's extras - NaN, Infinity, '1_000' - stay strings.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER_LITERAL = re.compile(r"[+-]?\d+")

_TRAILING_POSITION = re.compile(r", line \d+, column \d+$")

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})

# Element is lxml's _Element; lxml ships no type information.
_Element = Any
_Schema = Mapping[str, Any]


def parse_xml_data(
    raw: bytes | str,
    schema: Mapping[str, Any] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """Parse customer data sent as XML into the structure JSON would give.

    ``schema`` (the template's JSON Schema) guides arrays and scalar types; without
    it every scalar stays a string and only repeated elements become arrays.

    Raises:
        InputTooLargeError: ``raw`` is larger than ``max_bytes``.
        ForbiddenMarkupError: the XML has a DTD, an entity declaration or an entity
            reference.
        InputError: the XML is malformed (the message names line and column), or an
            element has more than :data:`MAX_ATTRIBUTES` attributes.
    """
    check_size(raw, max_bytes, "XML data")
    data = _to_bytes(raw)
    refuse_dtd_markup(data)
    root = parse_untrusted_xml(data)
    mapper = _Mapper(schema if schema is not None else {})
    return mapper.object(root, mapper.root, "")


def _to_bytes(raw: bytes | str) -> bytes:
    if isinstance(raw, bytes):
        return raw
    text = raw.removeprefix("\ufeff")
    # Blank the declaration out rather than cut it, so error positions stay true.
    text = _XML_DECLARATION.sub(lambda m: " " * len(m.group(0)), text, count=1)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"XML data is not valid Unicode (character {exc.start})") from None


def refuse_dtd_markup(data: bytes) -> None:
    """First line of defence: refuse ``<!DOCTYPE`` or ``<!ENTITY`` anywhere in the bytes.

    NUL bytes are stripped for a second look so that the same markup in UTF-16 or
    UTF-32 is found too; other encodings are left to the check after parsing.
    """
    for candidate in (data, data.replace(b"\x00", b"") if b"\x00" in data else None):
        if candidate is None:
            continue
        match = _FORBIDDEN_MARKUP.search(candidate)
        if match:
            raise ForbiddenMarkupError(
                _DOCTYPE_MESSAGE if match.group(1).upper() == b"DOCTYPE" else _ENTITY_DECL_MESSAGE
            )


def _new_parser() -> Any:
    # A fresh parser per document: lxml parsers keep state and must not be shared
    # between threads. Every option errs on the side of doing less.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted_xml(data: bytes) -> _Element:
    """Parse ``data`` with the locked-down parser and return the root element.

    Second line of defence: whatever got past :func:`refuse_dtd_markup`, a tree
    with any DTD or entity node in it is refused here. Nothing is ever fetched.
    A tree that would be slow to walk is refused too: libxml2 refuses nesting deeper
    than 256, and :func:`refuse_attribute_floods` refuses an element with too many attributes.
    """
    try:
        root = etree.fromstring(data, _new_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        # libxml2 2.13+ counts entity amplification even when not substituting and
        # reports it as a resource limit; that is an entity bomb, not a typo.
        bomb = exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT and "entity" in str(exc.msg).lower()
        if exc.code in _ENTITY_ERRORS or bomb:
            raise ForbiddenMarkupError(
                f"{_ENTITY_REF_MESSAGE} (line {line}, column {column})"
            ) from None
        # lxml repeats the position at the end of its message; say it once.
        message = _TRAILING_POSITION.sub("", str(exc.msg))
        raise InputError(f"malformed XML at line {line}, column {column}: {message}") from None
    except etree.LxmlError as exc:
        raise InputError(f"malformed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if (
        docinfo.doctype
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
        or docinfo.system_url
        or docinfo.public_id
    ):
        raise ForbiddenMarkupError(_DOCTYPE_MESSAGE)
    for node in root.iter(etree.Entity):
        raise ForbiddenMarkupError(f"{_ENTITY_REF_MESSAGE} (line {node.sourceline})")
    refuse_attribute_floods(root)
    return root


def refuse_attribute_floods(root: _Element) -> None:
    """Refuse any element with more than :data:`MAX_ATTRIBUTES` attributes.

    Counting is linear (``len(element.attrib)`` walks libxml2's attribute list once);
    reading them back is not (``attrib.items()`` looks each value up again by name
    along that list), so this must run before the tree is mapped.
    """
    for element in root.iter():
        count = len(element.attrib)
        if count > MAX_ATTRIBUTES:
            raise InputError(
                f"XML element {_element_path(element)} (line {element.sourceline}) has "
                f"{count} attributes, more than the limit of {MAX_ATTRIBUTES}"
            )


def _element_path(element: _Element) -> str:
    # '/bill/customer' by local names: enough to find the element beside its line.
    names = [_local(element.tag)]
    names.extend(_local(ancestor.tag) for ancestor in element.iterancestors())
    return "/" + "/".join(reversed(names))


# -- element tree to JSON-like structure -------------------------------------------------


def _local(name: str) -> str:
    # '{namespace}local' -> 'local'
    return name.rpartition("}")[2]


def _children(element: _Element) -> list[_Element]:
    # Only elements: comments and PIs are removed by the parser, entities refused.
    return [child for child in element if isinstance(child.tag, str)]


def _data_attributes(element: _Element) -> list[tuple[str, str]]:
    return [
        (_local(name), str(value))
        for name, value in element.attrib.items()
        if not name.startswith(f"{{{_XSI_NS}}}")
    ]


def _is_nil(element: _Element) -> bool:
    return str(element.get(_XSI_NIL, "")).strip() in _TRUE


def _pointer_part(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape_pointer(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class _Mapper:
    """Walks an element tree beside the JSON Schema that describes it."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        # Memos keyed by id(): every element of a 50,000-item bill asks the same few
        # questions of the same few sub-schemas. Each entry keeps its schema alive so
        # that an id cannot be reused during the walk.
        self._types_memo: dict[int, tuple[_Schema, set[str]]] = {}
        self._property_memo: dict[tuple[int, str], tuple[_Schema, _Schema]] = {}
        self._items_memo: dict[int, tuple[_Schema, _Schema]] = {}
        self.root = self.resolve(schema)

    # -- reading the schema ----------------------------------------------------------

    def resolve(self, schema: Any) -> _Schema:
        """Follow local ``$ref`` (``#/$defs/...``) to the schema that applies.

        Anything unknown - a remote ``$ref``, a boolean schema - reads as "no
        information": the mapping never fetches, and validation will speak later.
        """
        seen: set[str] = set()
        current: Any = schema
        merged: dict[str, Any] = {}
        while isinstance(current, Mapping):
            # Keywords beside a $ref apply too (2020-12); the first seen wins.
            for key, value in current.items():
                if key != "$ref":
                    merged.setdefault(key, value)
            ref = current.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#") or ref in seen:
                break
            seen.add(ref)
            current = self._pointer(ref[1:])
        return merged

    def _pointer(self, pointer: str) -> Any:
        node: Any = self.schema
        for token in filter(None, pointer.split("/")):
            key = _unescape_pointer(token)
            if isinstance(node, Mapping):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def _branches(self, schema: _Schema) -> list[_Schema]:
        found: list[_Schema] = []
        for keyword in ("allOf", "anyOf", "oneOf"):
            options = schema.get(keyword)
            if isinstance(options, list):
                found.extend(self.resolve(option) for option in options)
        return found

    def types(self, schema: _Schema) -> set[str]:
        memo = self._types_memo.get(id(schema))
        if memo is None:
            memo = self._types_memo[id(schema)] = (schema, self._types(schema, 0))
        return memo[1]

    def _types(self, schema: _Schema, depth: int) -> set[str]:
        declared = schema.get("type")
        if isinstance(declared, str):
            return {declared}
        if isinstance(declared, list):
            return {t for t in declared if isinstance(t, str)}
        found: set[str] = set()
        enum = schema.get("enum")
        values = list(enum) if isinstance(enum, list) else []
        if "const" in schema:
            values.append(schema["const"])
        for value in values:
            found.add(_json_type(value))
        if depth < 8:  # guards against a schema whose branches refer to themselves
            for branch in self._branches(schema):
                found |= self._types(branch, depth + 1)
        if not found:
            if any(k in schema for k in ("properties", "additionalProperties", "required")):
                found.add("object")
            elif any(k in schema for k in ("items", "prefixItems", "minItems")):
                found.add("array")
        return found

    def property_schema(self, schema: _Schema, name: str) -> _Schema:
        key = (id(schema), name)
        memo = self._property_memo.get(key)
        if memo is None:
            memo = self._property_memo[key] = (schema, self._property_schema(schema, name))
        return memo[1]

    def _property_schema(self, schema: _Schema, name: str) -> _Schema:
        for candidate in (schema, *self._branches(schema)):
            properties = candidate.get("properties")
            if isinstance(properties, Mapping) and name in properties:
                return self.resolve(properties[name])
        for candidate in (schema, *self._branches(schema)):
            patterns = candidate.get("patternProperties")
            if isinstance(patterns, Mapping):
                for pattern, sub in patterns.items():
                    try:
                        if re.search(pattern, name):
                            return self.resolve(sub)
                    except re.error:
                        continue
            additional = candidate.get("additionalProperties")
            if isinstance(additional, Mapping):
                return self.resolve(additional)
        return {}

    def has_property(self, schema: _Schema, name: str) -> bool:
        return any(
            isinstance(candidate.get("properties"), Mapping) and name in candidate["properties"]
            for candidate in (schema, *self._branches(schema))
        )

    def items_schema(self, schema: _Schema) -> _Schema:
        memo = self._items_memo.get(id(schema))
        if memo is None:
            found: _Schema = {}
            for candidate in (schema, *self._branches(schema)):
                items = candidate.get("items")
                if isinstance(items, Mapping):
                    found = self.resolve(items)
                    break
            memo = self._items_memo[id(schema)] = (schema, found)
        return memo[1]

    # -- mapping -----------------------------------------------------------------------

    def value(self, element: _Element, schema: _Schema, path: str) -> Any:
        """The JSON value of one element, given the schema at its position."""
        if _is_nil(element):
            return None
        types = self.types(schema)
        children = _children(element)
        attributes = _data_attributes(element)
        text = element.text or ""
        if "array" in types and not attributes and (children or not text.strip()):
            # An array inside an array (or a repeated item that is itself an array):
            # the element is a wrapper whose children are the items.
            item_schema = self.items_schema(schema)
            return [
                self.value(child, item_schema, f"{path}/{index}")
                for index, child in enumerate(children)
            ]
        if children or attributes:
            return self.object(element, schema, path)
        return self.scalar(text, types)

    def scalar(self, text: str, types: set[str]) -> Any:
        """Coerce the text of an element or attribute by the schema type."""
        stripped = text.strip()
        if text == "" or (not stripped and "string" not in types):
            if "null" in types:
                return None
            if "object" in types and "string" not in types:
                return {}
            if "array" in types and "string" not in types:
                return []
            return text
        if ("integer" in types or "number" in types) and _NUMBER.fullmatch(stripped):
            try:
                # Exactly what json.loads(parse_float=Decimal) makes of the literal.
                if _INTEGER_LITERAL.fullmatch(stripped):
                    return int(stripped)
                return Decimal(stripped)
            except (ValueError, InvalidOperation):
                return text  # beyond int's digit limit: let validation report it
        if "boolean" in types:
            lowered = stripped.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        return text

    def object(self, element: _Element, schema: _Schema, path: str) -> dict[str, Any]:
        """Map an element with children and/or attributes to a dict."""
        result: dict[str, Any] = {}
        for name, raw in _data_attributes(element):
            if name in result:  # a:x and b:x both map to x
                raise InputError(f"{path}/{_pointer_part(name)}: attribute given twice")
            sub = self.property_schema(schema, name)
            result[name] = self.scalar(raw, self.types(sub))

        groups: dict[str, list[_Element]] = {}
        for child in _children(element):
            groups.setdefault(_local(child.tag), []).append(child)
        for name, elements in groups.items():
            child_path = f"{path}/{_pointer_part(name)}"
            if name in result:
                raise InputError(f"{child_path}: given both as an attribute and as an element")
            sub = self.property_schema(schema, name)
            result[name] = self._property(elements, sub, child_path)

        text = "".join([element.text or ""] + [child.tail or "" for child in element])
        if text.strip():
            if TEXT_KEY in result:
                raise InputError(f"{path}/{TEXT_KEY}: given both as text and as a property")
            sub = self.property_schema(schema, TEXT_KEY)
            result[TEXT_KEY] = self.scalar(
                text if not _children(element) else text.strip(), self.types(sub)
            )
        return result

    def _property(self, elements: list[_Element], schema: _Schema, path: str) -> Any:
        types = self.types(schema)
        if "array" in types:
            item_schema = self.items_schema(schema)
            if len(elements) == 1 and self._is_wrapper(elements[0], item_schema):
                wrapper = elements[0]
                if _is_nil(wrapper):
                    return None
                return [
                    self.value(child, item_schema, f"{path}/{index}")
                    for index, child in enumerate(_children(wrapper))
                ]
            return [
                self.value(item, item_schema, f"{path}/{index}")
                for index, item in enumerate(elements)
            ]
        if len(elements) > 1:
            # Repeated without the schema asking for an array: still an array (that is
            # what the XML says); validation reports it if the schema disagrees.
            return [
                self.value(item, schema, f"{path}/{index}") for index, item in enumerate(elements)
            ]
        return self.value(elements[0], schema, path)

    def _is_wrapper(self, element: _Element, item_schema: _Schema) -> bool:
        """Tell ``<items><item/>...</items>`` from one ``<items>...</items>`` item.

        A wrapper when the element is nil or empty, or when its children all share
        one tag that is not a property of the item schema. Anything else (text, mixed
        tags, or a tag the item schema names) is a single item in repeated form.
        """
        if _is_nil(element):
            return True
        children = _children(element)
        if not children:
            return not (element.text or "").strip() and not _data_attributes(element)
        tags = {_local(child.tag) for child in children}
        if len(tags) != 1:
            return False
        return not self.has_property(item_schema, tags.pop())


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "string"
