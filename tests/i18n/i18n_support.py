"""Helpers for the translation tests: a small registry folder of plain files."""

from __future__ import annotations

from pathlib import Path

import yaml

NOTICE_HTML = """{% include "block/greeting" %}
<p>{% trans %}Your meter reading is due{% endtrans %}</p>
<p>{% trans count=days %}{{ count }} day left{% pluralize %}{{ count }} days left{% endtrans %}</p>
"""
NOTICE_SMS = "{% trans name=name %}Hi {{ name }}, send us your reading{% endtrans %}"
GREETING = "<h1>{% trans name=name %}Dear {{ name }},{% endtrans %}</h1>\n"
GERMAN = """# German translations of the notice.
msgid ""
msgstr ""
"Language: de\\n"

msgid "Your meter reading is due"
msgstr "Ihr Zählerstand ist fällig"

msgid "Dear %(name)s,"
msgstr "Guten Tag %(name)s,"
"""


def write_registry(root: Path, *, html: str = NOTICE_HTML, german: str | None = GERMAN) -> Path:
    """A registry folder with one template (``notice``: html, sms and a subject) and one
    block; ``german`` is its ``de.po`` (None: no catalog)."""
    folder = root / "templates" / "notice"
    (folder / "locales").mkdir(parents=True, exist_ok=True)
    (root / "blocks").mkdir(exist_ok=True)
    (root / "blocks" / "greeting.html").write_text(GREETING, encoding="utf-8")
    spec = {"kind": "notice", "brand": "northwind", "journey": "j", "stage": "s",
            "subject": "{% trans %}Reading due{% endtrans %}",
            "bodies": {"html": "notice.html", "sms": "sms.txt"}}
    (folder / "template.yaml").write_text(yaml.safe_dump(spec, sort_keys=False),
                                          encoding="utf-8")
    (folder / "notice.html").write_text(html, encoding="utf-8")
    (folder / "sms.txt").write_text(NOTICE_SMS, encoding="utf-8")
    if german is not None:
        (folder / "locales" / "de.po").write_text(german, encoding="utf-8")
    return folder


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
