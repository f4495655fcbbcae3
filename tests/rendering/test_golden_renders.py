"""The stock templates render to the same bytes as recorded: SHA-256 of every web page,
email (HTML, text and subject) and SMS of every stock template for every sample customer,
in the customer's locale, British English and German.

The digests in ``stock_digests.json`` were made by the renderer before its fast paths
(trusted calls, fused escaping, the page-wide attribute scan...) went in; they guard that
those change no byte. Each entry names the template and brand fingerprints and the data
digest it was made from: an entry whose inputs have since changed (a stock template was
edited) is skipped, and ``python tests/rendering/test_golden_renders.py`` records them
anew, with the renderer as it is then.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from ccm.demo import DEMO_TEMPLATES
from ccm.inputs import normalise_numbers
from ccm.rendering import sandbox
from ccm.rendering.engine import Renderer, data_digest
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import Channel, RenderedDocument
from ccm.stock.customers import SAMPLE_CUSTOMERS

DIGESTS = Path(__file__).with_name("stock_digests.json")
CHANNELS = (Channel.HTML, Channel.EMAIL, Channel.SMS)


def document_digest(document: RenderedDocument) -> str:
    digest = hashlib.sha256()
    for part in (document.content, document.text or "", document.subject or "",
                 document.title or "", "\n".join(document.warnings),
                 repr(document.inline_images), repr(document.sms_segments)):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cases(session: Session) -> list[tuple[str, dict[str, Any], str, Channel]]:
    found = []
    for key, build in sorted(DEMO_TEMPLATES.items()):
        template, _ = resolve_specs(session, key)
        for customer in SAMPLE_CUSTOMERS:
            data = normalise_numbers(build(customer))
            for locale in dict.fromkeys((customer.locale, "en_GB", "de_DE")):
                for channel in CHANNELS:
                    if channel.value in template.bodies:
                        found.append((key, data, locale, channel))
    return found


def case_id(key: str, data: dict[str, Any], locale: str, channel: Channel) -> str:
    return f"{key}/{data_digest(data)[:16]}/{locale}/{channel.value}"


def record(session: Session, renderer: Renderer) -> dict[str, dict[str, str]]:
    recorded = {}
    for key, data, locale, channel in cases(session):
        template, brand = resolve_specs(session, key)
        document = renderer.render(template, brand, data, locale, channel)
        recorded[case_id(key, data, locale, channel)] = {
            "template": template.fingerprint, "brand": brand.fingerprint,
            "sha256": document_digest(document),
        }
    return recorded


def test_stock_renders_are_byte_identical_to_the_recorded_ones(session: Session) -> None:
    recorded = json.loads(DIGESTS.read_text())
    renderer = Renderer()
    checked = 0
    for key, data, locale, channel in cases(session):
        entry = recorded.get(case_id(key, data, locale, channel))
        template, brand = resolve_specs(session, key)
        if entry is None or (entry["template"], entry["brand"]) != (template.fingerprint,
                                                                    brand.fingerprint):
            continue  # inputs changed since the digests were recorded
        for _ in range(2):  # the first render fills the caches, the second uses them
            document = renderer.render(template, brand, data, locale, channel)
            assert document_digest(document) == entry["sha256"], (key, locale, channel)
        checked += 1
    if not checked:
        pytest.skip("every stock template changed since the digests were recorded")


def test_fast_paths_change_no_byte(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the stock templates are now: with the sandbox's fast paths turned off
    (every call, attribute and printed value takes Jinja's generic path), the same bytes."""
    fast = record(session, Renderer())
    monkeypatch.setattr(sandbox.BudgetedSandbox, "trust", lambda self, *functions: None)
    monkeypatch.setattr(sandbox, "_LOOP_ATTRIBUTES", frozenset())
    monkeypatch.setattr(sandbox, "_LOOP_CHANGED", None)
    monkeypatch.setattr(sandbox, "_LOOP_CYCLE", None)
    monkeypatch.setattr(sandbox._BudgetCodeGenerator, "_fused", lambda *args: False)
    generic = Renderer()
    generic.env._engine_functions.clear()  # range, trusted when the sandbox was made
    slow = record(session, generic)
    assert fast == slow
    source = generic.env.compile("<p>{{ x }}</p>", raw=True)
    assert "ccm_print_escaped" not in source and "escape(environment.finalize(" in source


def main() -> None:
    """Record the digests anew (optionally from another registry folder: ``--stock DIR``)."""
    import tempfile

    from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
    from ccm.registry import load_registry
    from ccm.stock import STOCK_DIR

    stock = Path(sys.argv[sys.argv.index("--stock") + 1]) if "--stock" in sys.argv \
        else STOCK_DIR
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/digests.db")
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        load_registry(session, stock)
        recorded = record(session, Renderer())
    DIGESTS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(recorded)} digests in {DIGESTS}")


if __name__ == "__main__":
    main()
