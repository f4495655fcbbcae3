"""The same bill as JSON and as XML (both item forms), with its JSON Schema."""

from __future__ import annotations

from typing import Any

BILL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["customer", "items", "totals", "issued"],
    "additionalProperties": False,
    "properties": {
        "customer": {"$ref": "#/$defs/customer"},
        "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
        "totals": {
            "type": "object",
            "properties": {
                "net": {"type": "number"},
                "vat": {"type": "number"},
                "gross": {"type": "number"},
            },
        },
        "issued": {"type": "string", "format": "date"},
        "currency": {"enum": ["EUR", "USD"]},
        "note": {"type": ["string", "null"]},
        "paid": {"type": "boolean"},
        "email": {"type": "string", "format": "email"},
    },
    "$defs": {
        "customer": {
            "type": "object",
            "required": ["name", "address"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "address": {
                    "type": "object",
                    "required": ["street", "city"],
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
                },
            },
        },
        "item": {
            "type": "object",
            "required": ["description", "quantity", "amount"],
            "properties": {
                "description": {"type": "string"},
                "quantity": {"type": "integer"},
                "amount": {"type": "number"},
            },
        },
    },
}

BILL_JSON = """{
  "customer": {"id": 42, "name": "Ada Lovelace",
               "address": {"street": "12 St James's Square", "city": "London"}},
  "items": [
    {"description": "Electricity", "quantity": 1, "amount": 10.50},
    {"description": "Standing charge", "quantity": 30, "amount": 0.10},
    {"description": "Meter rental", "quantity": 3, "amount": 100}
  ],
  "totals": {"net": 110.60, "vat": 22.12, "gross": 132.72},
  "issued": "2024-01-31",
  "currency": "EUR",
  "note": null,
  "paid": false
}"""

_XML_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bill xmlns="urn:example:billing" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      currency="EUR">
  <!-- comments are dropped -->
  <customer id="42">
    <name>Ada Lovelace</name>
    <address><street>12 St James's Square</street><city>London</city></address>
  </customer>
"""

_XML_TAIL = """
  <totals><net>110.60</net><vat>22.12</vat><gross>132.72</gross></totals>
  <issued>2024-01-31</issued>
  <note xsi:nil="true"/>
  <paid>false</paid>
</bill>
"""

ITEMS_WRAPPED = """
  <items>
    <item><description>Electricity</description><quantity>1</quantity><amount>10.50</amount></item>
    <item><description>Standing charge</description><quantity>30</quantity>
          <amount>0.10</amount></item>
    <item><description>Meter rental</description><quantity>3</quantity><amount>100</amount></item>
  </items>"""

ITEMS_REPEATED = """
  <items><description>Electricity</description><quantity>1</quantity><amount>10.50</amount></items>
  <items><description>Standing charge</description><quantity>30</quantity>
         <amount>0.10</amount></items>
  <items><description>Meter rental</description><quantity>3</quantity>
         <amount>100</amount></items>"""


def bill_xml(items: str = ITEMS_WRAPPED) -> str:
    return _XML_HEAD + items + _XML_TAIL
