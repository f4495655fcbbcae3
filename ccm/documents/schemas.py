"""The document request as JSON: shared by ``POST /v1/documents`` and each batch item."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ccm.documents.service import DocumentRequest
from ccm.errors import RequestInvalidError, Violation
from ccm.stock import STOCK_DIR

#: A real request for the stock bill, as shown in the API documentation.
BILL_EXAMPLE: dict[str, Any] = {
    "template": "utility-bill",
    "customer_id": "C-100234",
    "channel": "pdf",
    "locale": "de_DE",
    "data": json.loads((STOCK_DIR / "templates" / "utility-bill" / "sample.json").read_text()),
}


class DocumentCreate(BaseModel):
    """One document for one customer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [BILL_EXAMPLE]})

    template: str = Field(min_length=1, max_length=100, description="Template key.")
    version: int | None = Field(
        default=None, ge=1, description="Template version; default: the latest published."
    )
    customer_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(description="pdf, html, email or sms.")
    locale: str | None = Field(
        default=None, description="e.g. de_DE; default: the template's default locale."
    )
    data: dict[str, Any] | None = Field(
        default=None, description="The customer's data as a JSON object (or give data_xml)."
    )
    data_xml: str | None = Field(
        default=None, description="The customer's data as an XML document (or give data)."
    )

    def to_request(self) -> DocumentRequest:
        return DocumentRequest(
            template=self.template, customer_id=self.customer_id, channel=self.channel,
            version=self.version, locale=self.locale, data=self.data, data_xml=self.data_xml,
        )


def request_invalid(exc: ValidationError) -> RequestInvalidError:
    """A pydantic error as ccm's own, one violation per field with its JSON Pointer."""
    violations = [
        Violation("".join(f"/{part}" for part in error["loc"]),
                  error["msg"].removeprefix("Value error, "))
        for error in exc.errors()
    ]
    return RequestInvalidError(violations)
