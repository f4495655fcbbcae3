"""What changed between two versions of a template: bodies, subject, schema, sample data,
translations and settings, each as a unified diff a reviewer reads line by line."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from ccm.templates.models import TemplateVersion


@dataclass(frozen=True)
class PartChange:
    part: str  # "bodies/pdf", "data_schema", "translations/de", "settings", "block_pins"
    diff: str  # unified diff; empty lines of context trimmed to three


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value if value.endswith("\n") or not value else value + "\n"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _settings(row: TemplateVersion) -> dict[str, Any]:
    return {"journey": row.journey_key, "stage": row.stage_key,
            "default_locale": row.default_locale, "sms_max_segments": row.sms_max_segments,
            "email_attach_pdf": row.email_attach_pdf}


def _parts(row: TemplateVersion) -> dict[str, str]:
    parts = {f"bodies/{channel}": _text(body) for channel, body in row.bodies.items()}
    parts["subject"] = _text(row.subject)
    parts["data_schema"] = _text(row.data_schema)
    parts["sample_data"] = _text(row.sample_data)
    parts.update({f"translations/{locale}": _text(messages)
                  for locale, messages in row.translations.items()})
    parts["settings"] = _text(_settings(row))
    # The block versions it is sent with: a version made only to take up a changed block
    # differs here and nowhere else.
    parts["block_pins"] = (_text(row.block_pins) if row.block_pins is not None
                           else "the live blocks (pinned when approved)\n")
    return parts


def diff_versions(old: TemplateVersion, new: TemplateVersion) -> list[PartChange]:
    """Every part that differs between ``old`` and ``new`` (a part only one has counts
    as added or removed), in a stable order."""
    before, after = _parts(old), _parts(new)
    changes = []
    for part in sorted(before.keys() | after.keys()):
        a, b = before.get(part, ""), after.get(part, "")
        if a == b:
            continue
        lines = difflib.unified_diff(
            a.splitlines(keepends=True), b.splitlines(keepends=True),
            fromfile=f"v{old.version}/{part}" if part in before else "/dev/null",
            tofile=f"v{new.version}/{part}" if part in after else "/dev/null")
        changes.append(PartChange(part, "".join(lines)))
    return changes
