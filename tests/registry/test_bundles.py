"""Bundles: the registry exported as a folder of plain files, imported into another
database and exported again, byte for byte the same."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ccm.assets.service import put_asset
from ccm.brand.service import (
    add_brand_version,
    create_brand,
    get_brand,
    latest_brand_version,
    published_brand_version,
)
from ccm.db import make_engine, make_session_factory, unit_of_work, upgrade
from ccm.db.base import utcnow
from ccm.errors import RegistryError
from ccm.i18n.catalogs import default_header_comment, header_comment_of
from ccm.i18n.folder import extract_registry
from ccm.registry import export as export_module
from ccm.registry import load_registry
from ccm.registry.export import export_registry
from ccm.stock import STOCK_DIR
from ccm.templates.models import BlockKind, TemplateKind
from ccm.templates.service import (
    TemplateContent,
    add_block_version,
    add_template_version,
    ensure_block,
    ensure_template,
    get_template_version,
)

NORTHWIND = STOCK_DIR / "brands" / "northwind"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")

MakeDatabase = Callable[[str], Engine]


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[MakeDatabase]:
    """Fresh, migrated databases: SQLite files, or (``"postgresql"``, when
    CCM_TEST_DATABASE_URL names a server) a schema of their own on it."""
    engines: list[Engine] = []
    schemas: list[str] = []
    server = os.environ.get("CCM_TEST_DATABASE_URL")

    def make(backend: str) -> Engine:
        if backend == "postgresql":
            assert server is not None
            schema = f"bundle_{uuid.uuid4().hex[:12]}"
            with make_engine(server).begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
            schemas.append(schema)
            joiner = "&" if "?" in server else "?"
            engine = make_engine(f"{server}{joiner}options=-csearch_path%3D{schema}")
        else:
            engine = make_engine(f"sqlite:///{tmp_path / f'bundle-{len(engines)}.db'}")
        upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if schemas and server is not None:
        admin = make_engine(server)
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def targets() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get("CCM_TEST_DATABASE_URL") else [])


def add_more_than_the_stock(session: Session) -> None:
    """A sub-brand (own logo and font) and a sub-sub-brand, a template with Windows line
    endings and plural forms, and entries an export leaves out."""
    tokens = published_brand_version(session, "northwind").tokens
    solar = create_brand(session, "northwind-solar", "Northwind Solar", parent_key="northwind")
    svg = (NORTHWIND / "logo.svg").read_bytes().replace(b"</svg>", b"<!-- solar --></svg>")
    font = FONT.read_bytes() if FONT.is_file() else b"\x00\x01\x00\x00 not really a font"
    add_brand_version(session, solar, {
        "company_name": "Northwind Solar GmbH",
        "palette": {"primary": "#2E7D32"},  # as given: stored, exported, compared as given
        "logo": {"svg": put_asset(session, svg, "image/svg+xml").sha256,
                 "png": tokens["logo"]["png"], "width_mm": 40},
        "fonts": {"body": "Solar Mono", "faces": [
            {"family": "Solar Mono", "asset": put_asset(session, font, "font/ttf").sha256}]},
        "legal_footer": {"en": "Northwind Solar GmbH · Amtsgericht Hamburg HRB 654321"},
    }, published=True)
    roof = create_brand(session, "northwind-solar-roof", "Roof", parent_key="northwind-solar")
    add_brand_version(session, roof, {}, published=True)
    create_brand(session, "bundle-unpublished", "Drafts only")
    add_brand_version(session, get_brand(session, "bundle-unpublished"), dict(tokens))

    template = ensure_template(session, "bundle-notice", TemplateKind.NOTICE, "northwind",
                               "A notice written on Windows")
    sms = "Hello {{ name }},\r\n{% trans %}your meter reading is due{% endtrans %}\r\n"
    days = "{{ name }}: {{ ngettext('%(num)s day', '%(num)s days', 3) }}"
    add_template_version(session, template, TemplateContent(
        journey_key="utility-customer", stage_key="payment-reminder",
        bodies={"sms": sms, "html": "<p>{{ name }}</p>\r\n", "pdf": "<p>{{ name }}</p>\r\n",
                "email": "<p>{{ name }}</p>", "email_text": days},
        default_locale="en_GB", subject="",
        data_schema={"type": "object", "required": ["name"],
                     "properties": {"name": {"type": "string", "maxLength": 40}}},
        sample_data={"name": "Zoë"},
        # Messages the bodies no longer use, and one stored in the other shape, go out too.
        translations={"de": {"your meter reading is due": "Ihr Zählerstand ist fällig",
                             "%(num)s day": ["%(num)s Tag", "%(num)s Tage"],
                             "Goodbye": "Auf Wiedersehen"},
                      "pl": {"%(num)s day": ["%(num)s dzień", "%(num)s dni", "%(num)s dni"],
                             "%(num)s hour": ["%(num)s godzina", "%(num)s godziny",
                                              "%(num)s godzin"],
                             "your meter reading is due": ["odczyt", "odczyty", "odczytów"]}},
    ), published=True)
    draft_only = ensure_template(session, "bundle-draft", TemplateKind.NOTICE, "northwind")
    add_template_version(session, draft_only, TemplateContent(
        journey_key="utility-customer", stage_key="overdue", bodies={"sms": "Hi"},
        data_schema={"type": "object"}))
    add_block_version(session, ensure_block(session, "bundle-draft-block", BlockKind.BLOCK),
                      "<p>draft</p>")
    gone = ensure_block(session, "bundle-gone", BlockKind.BLOCK)
    add_block_version(session, gone, "<p>gone</p>", published=True)
    gone.deleted_at = utcnow()
    hours = ensure_block(session, "service-hours", BlockKind.BLOCK,
                         "Opening hours of the service desk")
    add_block_version(session, hours, "<p>Mon–Fri 8–18</p>", published=True)
    session.flush()


@pytest.mark.parametrize("target", targets())
def test_export_import_export_gives_the_same_files(
        make_database: MakeDatabase, tmp_path: Path, target: str) -> None:
    source = make_database("sqlite")
    with unit_of_work(make_session_factory(source)) as session:
        load_registry(session, STOCK_DIR)
        add_more_than_the_stock(session)
        first = export_registry(session, tmp_path / "a")
    assert first.warnings == []
    assert sorted(first.skipped) == [
        ("block", "bundle-draft-block", "no published version"),
        ("block", "bundle-gone", "deleted"),
        ("brand", "bundle-unpublished", "no published version"),
        ("template", "bundle-draft", "no published version"),
    ]
    assert ("brand", "northwind-solar-roof", 1) in first.written

    with unit_of_work(make_session_factory(make_database(target))) as session:
        loaded = load_registry(session, tmp_path / "a")
        assert loaded.unchanged == []
        assert len(loaded.created) == len(first.written)
        second = export_registry(session, tmp_path / "b")
        solar = published_brand_version(session, "northwind-solar")
        roof = published_brand_version(session, "northwind-solar-roof")
        notice = get_template_version(session, "bundle-notice")
    assert second.written == first.written
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert list(a) == list(b)
    assert [name for name in a if a[name] != b[name]] == []

    with unit_of_work(make_session_factory(source)) as session:
        assert solar.tokens == published_brand_version(session, "northwind-solar").tokens
        assert roof.tokens == solar.tokens
        assert notice.bodies == get_template_version(session, "bundle-notice").bodies
        assert notice.bodies["sms"].count("\r\n") == 2
        assert notice.translations["pl"]["%(num)s day"][2] == "%(num)s dni"
        again = load_registry(session, tmp_path / "a")  # into the database it came from
    assert again.created == []


def test_the_stock_export_loads_back_with_no_new_versions(
        make_database: MakeDatabase, tmp_path: Path) -> None:
    factory = make_session_factory(make_database("sqlite"))
    with unit_of_work(factory) as session:
        load_registry(session, STOCK_DIR)
        report = export_registry(session, tmp_path / "bundle")
    assert report.skipped == [] and report.warnings == []
    with unit_of_work(factory) as session:
        again = load_registry(session, tmp_path / "bundle")
    assert again.created == []
    assert sorted(again.unchanged) == sorted(report.written)


def test_the_catalogs_are_as_extract_writes_them(make_database: MakeDatabase,
                                                tmp_path: Path) -> None:
    """An exported catalog is what ``ccm i18n extract`` writes for the exported folder, and
    a stock one differs from its stock file only in what the stock files say by hand: the
    header comment, and the line of a subject the stock template.yaml lays out otherwise."""
    with unit_of_work(make_session_factory(make_database("sqlite"))) as session:
        load_registry(session, STOCK_DIR)
        export_registry(session, tmp_path / "bundle")
    root = tmp_path / "bundle"
    before = files(root)
    extracted = extract_registry(root)
    assert {(f.path.name, f.action) for f in extracted} == {("messages.pot", "created"),
                                                           ("de.po", "unchanged")}
    assert {name: content for name, content in files(root).items() if name in before} == before

    differs: list[str] = []
    for path in sorted(STOCK_DIR.glob("templates/*/locales/*.po")):
        name = path.relative_to(STOCK_DIR).as_posix()
        key, locale = path.parent.parent.name, path.stem
        spec = (root / "templates" / key / "template.yaml").read_text().splitlines()
        line = next(n for n, text in enumerate(spec, 1) if text.startswith("subject:"))
        stock = path.read_text(encoding="utf-8")
        if f"#: template.yaml:{line}\n" not in stock:
            differs.append(key)
        expected = re.sub(r"#: template\.yaml:\d+", f"#: template.yaml:{line}", stock.replace(
            header_comment_of(stock), default_header_comment(key, locale)))
        assert before[name].decode("utf-8") == expected, name
    assert differs == ["overdue-notice", "payment-reminder"]  # multi-line descriptions


def test_the_files_are_the_stock_layout(make_database: MakeDatabase, tmp_path: Path) -> None:
    with unit_of_work(make_session_factory(make_database("sqlite"))) as session:
        load_registry(session, STOCK_DIR)
        add_more_than_the_stock(session)
        export_registry(session, tmp_path / "bundle")
    root = tmp_path / "bundle"
    stock = {p.relative_to(STOCK_DIR).as_posix() for p in STOCK_DIR.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts}
    assert stock <= set(files(root))

    bill = yaml.safe_load((root / "templates" / "utility-bill" / "template.yaml").read_text())
    assert bill["bodies"] == {"pdf": "document.html", "html": "document.html",
                              "email": "email.html", "sms": "sms.txt"}
    notice = root / "templates" / "bundle-notice"
    assert sorted(p.name for p in notice.iterdir()) == [
        "document.html", "email.html", "email.txt", "locales", "sample.json", "schema.json",
        "sms.txt", "template.yaml"]
    assert (notice / "sms.txt").read_bytes().count(b"\r\n") == 2
    assert (notice / "schema.json").read_text().endswith("}\n")
    with (notice / "locales" / "pl.po").open("rb") as handle:
        catalog = read_po(handle, locale="pl")
    assert catalog.num_plurals == 3
    po = (notice / "locales" / "de.po").read_text()
    assert "POT-Creation-Date" not in po and "Generated-By" not in po
    assert po.startswith("# German translations of template bundle-notice.\n")
    assert ('#: email.txt:1\n#, python-format\nmsgid "%(num)s day"\n'
            'msgid_plural "%(num)s days"\n') in po
    assert '#: sms.txt:2\nmsgid "your meter reading is due"\n' in po
    assert '\n\nmsgid "Goodbye"\nmsgstr "Auf Wiedersehen"\n' in po  # no location, not #~
    assert catalog["%(num)s hour"].id == ("%(num)s hour", "%(num)s hour")
    assert catalog["%(num)s hour"].locations == []
    assert catalog["your meter reading is due"].locations == [("sms.txt", 2)]
    assert catalog["your meter reading is due"].id[1] == "your meter reading is due"
    bill = (root / "templates" / "utility-bill" / "locales" / "de.po").read_text()
    assert '#: ../../blocks/payment-slip.html:4\nmsgid "Payee"\n' in bill
    assert '#: template.yaml:7\n#, python-format\nmsgid "Your Northwind Energy bill' in bill

    solar = root / "brands" / "northwind-solar"
    spec: dict[str, Any] = yaml.safe_load((solar / "brand.yaml").read_text())
    assert spec["parent"] == "northwind"
    assert spec["tokens"]["logo"] == {"svg": "logo.svg", "png": "logo.png", "width_mm": 40}
    assert spec["tokens"]["fonts"]["faces"] == [{"family": "Solar Mono",
                                                 "file": "solar-mono-400-normal.ttf"}]
    assert sorted(p.name for p in solar.iterdir()) == [
        "brand.yaml", "logo.png", "logo.svg", "solar-mono-400-normal.ttf"]
    roof = yaml.safe_load((root / "brands" / "northwind-solar-roof" / "brand.yaml").read_text())
    assert roof == {"name": "Roof", "parent": "northwind-solar", "tokens": {}}
    assert not (root / "blocks" / "bundle-gone.html").exists()


def test_a_sub_brand_behind_its_parent_comes_back_rebased(
        make_database: MakeDatabase, tmp_path: Path) -> None:
    with unit_of_work(make_session_factory(make_database("sqlite"))) as session:
        load_registry(session, STOCK_DIR)
        solar = create_brand(session, "solar", "Solar", parent_key="northwind")
        add_brand_version(session, solar, {"company_name": "Solar GmbH"}, published=True)
        tokens = published_brand_version(session, "northwind").tokens
        add_brand_version(session, get_brand(session, "northwind"),
                          {**tokens, "currency": "GBP"}, published=True)
        export_registry(session, tmp_path / "bundle")
    with unit_of_work(make_session_factory(make_database("sqlite"))) as session:
        load_registry(session, tmp_path / "bundle")
        row = published_brand_version(session, "solar")
    assert row.tokens["currency"] == "GBP" and row.tokens["company_name"] == "Solar GmbH"


def test_a_folder_with_files_is_replaced_only_when_forced(session: Session,
                                                          tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "brands" / "ghost").mkdir(parents=True)
    (root / "brands" / "ghost" / "brand.yaml").write_text("name: Ghost\n")
    (root / "README.md").write_text("Our registry\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    with pytest.raises(RegistryError, match=r"is not empty \(README.md, brands\).*--force"):
        export_registry(session, root)
    assert (root / "brands" / "ghost" / "brand.yaml").is_file()

    report = export_registry(session, root, force=True)
    assert not (root / "brands" / "ghost").exists()
    assert (root / "brands" / "northwind" / "brand.yaml").is_file()
    assert (root / "README.md").read_text() == "Our registry\n"
    assert (root / ".git" / "HEAD").is_file()
    assert report.kept == [".git", "README.md"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # nothing left beside it


def test_an_empty_or_hidden_only_folder_needs_no_force(session: Session, tmp_path: Path
                                                       ) -> None:
    (tmp_path / "empty").mkdir()
    export_registry(session, tmp_path / "empty")
    assert (tmp_path / "empty" / "registry.yaml").is_file()
    (tmp_path / "clone" / ".git").mkdir(parents=True)
    export_registry(session, tmp_path / "clone")
    assert (tmp_path / "clone" / ".git").is_dir() and (tmp_path / "clone" / "brands").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(RegistryError, match="not a folder"):
        export_registry(session, tmp_path / "file", force=True)


def test_a_failed_export_leaves_nothing_half_written(
        session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "bundle"
    export_registry(session, root)
    before = files(root)

    def broken(*_args: Any) -> None:
        raise RegistryError("the journeys could not be read")

    monkeypatch.setattr(export_module, "_write_journeys", broken)
    with pytest.raises(RegistryError, match="journeys could not be read"):
        export_registry(session, root, force=True)
    with pytest.raises(RegistryError):
        export_registry(session, tmp_path / "new")
    assert files(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_only_published_versions_are_exported(session: Session, tmp_path: Path) -> None:
    tokens = published_brand_version(session, "northwind").tokens
    add_brand_version(session, get_brand(session, "northwind"),
                      {**tokens, "company_name": "Draft GmbH"})
    assert latest_brand_version(session, "northwind", published_only=False) is not None
    export_registry(session, tmp_path / "bundle")
    spec = yaml.safe_load((tmp_path / "bundle" / "brands" / "northwind" / "brand.yaml")
                          .read_text())
    assert spec["tokens"]["company_name"] == "Northwind Energy GmbH"


def test_a_template_sent_with_an_older_block_is_named_before_an_import_changes_it(
        make_database: MakeDatabase, tmp_path: Path) -> None:
    with unit_of_work(make_session_factory(make_database("sqlite"))) as session:
        load_registry(session, STOCK_DIR)
        footer = ensure_block(session, "legal-footer", BlockKind.BLOCK)
        add_block_version(session, footer, '<footer class="legal-footer">{{ '
                          'brand.legal_footer }} (2027)</footer>', published=True)
        report = export_registry(session, tmp_path / "bundle")
    stale = [w for w in report.warnings if "block/legal-footer" in w]
    assert stale and all("sent with block/legal-footer v1, but the bundle holds "
                         "block/legal-footer v2" in w for w in stale)
    assert {w.split()[1] for w in stale} == {"utility-bill", "welcome-letter", "loyalty-offer",
                                             "payment-reminder", "overdue-notice"}


def test_block_descriptions_travel_and_an_import_publishes_over_an_equal_draft(
        make_database: MakeDatabase, tmp_path: Path) -> None:
    factory = make_session_factory(make_database("sqlite"))
    with unit_of_work(factory) as session:
        load_registry(session, STOCK_DIR)
        add_more_than_the_stock(session)
        export_registry(session, tmp_path / "bundle")
    settings = yaml.safe_load((tmp_path / "bundle" / "registry.yaml").read_text())
    assert settings["blocks"] == {"service-hours": "Opening hours of the service desk"}
    fresh = make_session_factory(make_database("sqlite"))
    with unit_of_work(fresh) as session:
        load_registry(session, tmp_path / "bundle")
        assert ensure_block(session, "service-hours", BlockKind.BLOCK).description == \
            "Opening hours of the service desk"
    # A draft with the content the bundle brings does not keep the bundle from going live.
    changed = tmp_path / "bundle" / "templates" / "welcome-letter" / "sms.txt"
    changed.write_text(changed.read_text() + " (new)")
    with unit_of_work(fresh) as session:
        load_registry(session, tmp_path / "bundle", publish=False)  # now an equal draft
        report = load_registry(session, tmp_path / "bundle")
        live = get_template_version(session, "welcome-letter")
        assert live.bodies["sms"].endswith(" (new)")
        assert ("template", "welcome-letter", live.version) in report.created
