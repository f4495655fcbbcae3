"""`ccm demo`: the stock brand and templates rendered for sample customers on every channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ccm.db.session import json_dumps
from ccm.registry import LoadReport, load_registry
from ccm.rendering.engine import default_renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import RenderedDocument
from ccm.stock import STOCK_DIR
from ccm.stock.customers import (
    SAMPLE_CUSTOMERS,
    SampleCustomer,
    bill_data,
    promotion_data,
    welcome_data,
)

#: Template key -> how the sample billing system builds its data for a customer.
DEMO_TEMPLATES: dict[str, Callable[[SampleCustomer], dict[str, Any]]] = {
    "utility-bill": bill_data,
    "welcome-letter": welcome_data,
    "loyalty-offer": promotion_data,
}


@dataclass(frozen=True)
class WrittenFile:
    customer_id: str
    locale: str
    template_key: str
    template_version: int
    channel: str
    path: Path
    document: RenderedDocument


def run_demo(session: Session, output_dir: Path) -> tuple[LoadReport, list[WrittenFile]]:
    """Load the stock registry and render every demo document into ``output_dir``."""
    report = load_registry(session, STOCK_DIR)
    renderer = default_renderer()
    written: list[WrittenFile] = []
    for key, build in DEMO_TEMPLATES.items():
        template, brand = resolve_specs(session, key)
        for customer in SAMPLE_CUSTOMERS:
            folder = output_dir / customer.customer_id
            folder.mkdir(parents=True, exist_ok=True)
            for channel in template.channels:
                document = renderer.render(template, brand, build(customer), customer.locale,
                                           channel)
                path = folder / f"{key}.{document.file_extension}"
                _write(path, document.content)
                if document.text is not None:
                    _write(path.with_suffix(".txt"), document.text.encode())
                written.append(WrittenFile(customer.customer_id, customer.locale, key,
                                           template.version, channel.value, path, document))
    _write_requests(session, output_dir)
    return report, written


def _write_requests(session: Session, output_dir: Path) -> None:
    """The JSON a billing system would POST to /v1/documents for each demo document (as
    PDF), and all the bills as one batch: ready-made bodies for the API tour."""
    bills: list[dict[str, Any]] = []
    for key, build in DEMO_TEMPLATES.items():
        template, _ = resolve_specs(session, key)
        channel = "pdf" if "pdf" in template.bodies else template.channels[0].value
        for customer in SAMPLE_CUSTOMERS:
            request = {"template": key, "customer_id": customer.customer_id,
                       "channel": channel, "locale": customer.locale,
                       "data": build(customer)}
            _write(output_dir / customer.customer_id / f"{key}.request.json",
                   _json(request))
            if key == "utility-bill":
                bills.append(request)
    _write(output_dir / "batch.request.json", _json({"items": bills}))


def _json(value: Any) -> bytes:
    return (json_dumps(value) + "\n").encode()


def _write(path: Path, content: bytes) -> None:
    # Write then rename, so an interrupted demo never leaves a half-written document.
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)
