"""``ccm i18n extract`` and ``ccm i18n compile`` over registry folders: what the catalogs
hold, that they are the same bytes every run, how they follow the templates, and that a
broken translation stops the compile with its file and line."""

from __future__ import annotations

import gettext
import shutil
from pathlib import Path

import pytest
import typer
from babel.messages.catalog import Message
from babel.messages.pofile import read_po
from i18n_support import GERMAN, NOTICE_HTML, snapshot, write_registry
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccm.documents.service import preview_document
from ccm.i18n.cli import i18n_app
from ccm.i18n.report import version_report
from ccm.registry import load_registry
from ccm.registry.loader import _read_catalogs
from ccm.stock import STOCK_DIR

runner = CliRunner()
app = typer.Typer()
app.add_typer(i18n_app, name="i18n")


def i18n(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["i18n", *args])
    return result.exit_code, result.output


def po(path: Path) -> dict[str, Message]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    found: dict[str, Message] = {}
    for message in catalog:
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            found[key] = message
    return found


# -- extract -------------------------------------------------------------------------


def test_extract_writes_a_pot_with_every_message_and_where_it_is(tmp_path: Path) -> None:
    folder = write_registry(tmp_path)
    code, output = i18n("extract", str(tmp_path))
    assert code == 0, output
    pot = po(folder / "locales" / "messages.pot")
    assert set(pot) == {"Your meter reading is due", "%(count)s day left", "Dear %(name)s,",
                        "Hi %(name)s, send us your reading", "Reading due"}
    plural = pot["%(count)s day left"]
    assert plural.id == ("%(count)s day left", "%(count)s days left")
    assert plural.locations == [("notice.html", 3)]
    assert "python-format" in plural.flags
    # A shared block's messages are the template's to translate (it renders them).
    assert pot["Dear %(name)s,"].locations == [
        ("../../blocks/greeting.html", 1)]
    assert pot["Reading due"].locations == [("template.yaml", 5)]
    assert "python-format" not in pot["Reading due"].flags
    text = (folder / "locales" / "messages.pot").read_text()
    assert "POT-Creation-Date" not in text and "Generated-By" not in text
    assert "messages.pot" in output and "de.po" in output


def test_extract_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    write_registry(tmp_path)
    assert i18n("extract", str(tmp_path), "--locale", "de_AT")[0] == 0
    first = snapshot(tmp_path)
    code, output = i18n("extract", str(tmp_path), "--locale", "de_AT")
    assert code == 0 and "created" not in output and "updated" not in output
    assert snapshot(tmp_path) == first


def test_extract_keeps_translations_and_adds_new_messages_untranslated(tmp_path: Path) -> None:
    folder = write_registry(tmp_path)
    i18n("extract", str(tmp_path))
    german = po(folder / "locales" / "de.po")
    assert german["Your meter reading is due"].string == (
        "Ihr Zählerstand ist fällig")
    assert german["Reading due"].string == ""
    assert german["%(count)s day left"].string == ("", "")
    text = (folder / "locales" / "de.po").read_text()
    assert text.startswith("# German translations of the notice.\n")  # its comment is kept
    assert '"Language: de\\n"' in text and "nplurals=2" in text


def test_vanished_messages_go_obsolete_and_come_back_translated(tmp_path: Path) -> None:
    folder = write_registry(tmp_path)
    i18n("extract", str(tmp_path))
    (folder / "notice.html").write_text(
        NOTICE_HTML.replace("Your meter reading is due", "Please read your meter"))
    i18n("extract", str(tmp_path))
    text = (folder / "locales" / "de.po").read_text()
    assert '#~ msgid "Your meter reading is due"\n#~ msgstr "Ihr Zählerstand ist fällig"' in text
    german = po(folder / "locales" / "de.po")
    assert "Your meter reading is due" not in german  # obsolete: the loader does not see it
    assert german["Please read your meter"].string == ""
    assert "fuzzy" not in text  # no guessed translations
    (folder / "notice.html").write_text(NOTICE_HTML)
    i18n("extract", str(tmp_path))
    german = po(folder / "locales" / "de.po")
    assert german["Your meter reading is due"].string == (
        "Ihr Zählerstand ist fällig")
    assert "#~" not in (folder / "locales" / "de.po").read_text()  # untranslated ones go


def test_extract_creates_a_catalog_for_a_new_locale(tmp_path: Path) -> None:
    folder = write_registry(tmp_path)
    code, output = i18n("extract", str(tmp_path), "--locale", "de-AT")
    assert code == 0, output
    text = (folder / "locales" / "de_AT.po").read_text()
    assert text.startswith("# German (Austria) translations of template notice.\n")
    assert '"Language: de_AT\\n"' in text
    assert {k: m.string for k, m in po(folder / "locales" / "de_AT.po").items()
            if isinstance(m.string, str)} == {
        "Your meter reading is due": "", "Dear %(name)s,": "",
        "Hi %(name)s, send us your reading": "", "Reading due": ""}
    assert i18n("extract", str(tmp_path), "--locale", "xx_QQ")[0] == 2


def test_a_template_syntax_error_names_the_part_and_line(tmp_path: Path) -> None:
    write_registry(tmp_path, html="<p>ok</p>\n{% trans %}Open{% endif %}\n")
    code, output = i18n("extract", str(tmp_path))
    assert code == 2
    assert "html, line 2" in output


def test_the_stock_catalogs_are_as_extract_writes_them(tmp_path: Path) -> None:
    """The stock .po files are in the deterministic format already, hold every message
    their templates use, and a messages.pot beside them changes nothing the loader reads."""
    root = stock_copy(tmp_path)
    before = snapshot(root)
    code, output = i18n("extract", str(root))
    assert code == 0, output
    after = snapshot(root)
    pots = {name for name in set(after) - set(before)}
    assert pots == {f"templates/{key}/locales/messages.pot"
                    for key in ("loyalty-offer", "overdue-notice", "payment-reminder",
                                "utility-bill", "welcome-letter")}
    assert {name: after[name] for name in before} == before
    for folder in sorted((root / "templates").iterdir()):
        german = po(folder / "locales" / "de.po")
        assert all(m.string for m in german.values()), folder.name
        assert set(german) == set(po(folder / "locales" / "messages.pot")), folder.name
        assert _read_catalogs(folder) == _read_catalogs(STOCK_DIR / "templates" / folder.name)


# -- compile -------------------------------------------------------------------------


def test_compile_writes_mo_files_gettext_reads(tmp_path: Path) -> None:
    folder = write_registry(tmp_path, german=GERMAN + """
msgid "%(count)s day left"
msgid_plural "%(count)s days left"
msgstr[0] "Noch ein Tag"
msgstr[1] "Noch %(count)s Tage"
""")
    code, output = i18n("compile", str(tmp_path))
    assert code == 0, output
    with (folder / "locales" / "de.mo").open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    assert translations.gettext("Your meter reading is due") == "Ihr Zählerstand ist fällig"
    assert translations.gettext("Dear %(name)s,") % {"name": "Ada"} == "Guten Tag Ada,"
    assert translations.ngettext("%(count)s day left", "%(count)s days left", 1) == (
        "Noch ein Tag")
    assert translations.ngettext("%(count)s day left", "%(count)s days left", 4) % {
        "count": 4} == "Noch 4 Tage"
    assert translations.gettext("Reading due") == "Reading due"  # untranslated
    assert "de.mo" in output


BROKEN = '''msgid ""
msgstr ""
"Language: de\\n"

msgid "Dear %(name)s,"
msgstr "Guten Tag,"

msgid "Your meter reading is due"
msgstr "Zu 100% fällig"
'''


def test_compile_refuses_a_dropped_placeholder_naming_file_and_line(tmp_path: Path) -> None:
    folder = write_registry(tmp_path / "reg", german=BROKEN)
    # A second template with a good catalog: nothing is written for it either.
    shutil.copytree(folder, folder.with_name("other"))
    (folder.with_name("other") / "locales" / "de.po").write_text(GERMAN)
    code, output = i18n("compile", str(tmp_path / "reg"))
    assert code == 1
    path = folder / "locales" / "de.po"
    lines = output.splitlines()
    assert f"{path}:5: 'Dear %(name)s,': translation 'Guten Tag,' drops placeholder(s) " \
           "%(name)s" in lines
    assert f"{path}:8: 'Your meter reading is due': translation 'Zu 100% fällig' has a bare " \
           "% (as in '% f'): write a literal % as %%" in lines
    assert "no .mo file written" in output
    assert not list((tmp_path / "reg").rglob("*.mo"))


@pytest.mark.parametrize(("entry", "problem"), [
    ('msgid "Dear %(name)s,"\nmsgstr "Hallo %(nom)s,"\n', "unknown named placeholder 'nom'"),
    ('msgid "a"\nmsgid_plural "%(num)s b"\nmsgstr[0] "x"\nmsgstr[1] ""\n',
     "1 of 2 plural forms translated"),
    ('msgid "a"\nmsgid_plural "%(num)s b"\nmsgstr[0] "x"\nmsgstr[1] "y"\n',
     "drops placeholder(s) %(num)s"),
    ('msgid "a"\nbogus "b"\n', ":6: not a readable catalog: Unknown or misformatted keyword"),
])
def test_compile_checks(tmp_path: Path, entry: str, problem: str) -> None:
    write_registry(tmp_path, german='msgid ""\nmsgstr ""\n"Language: de\\n"\n\n' + entry)
    code, output = i18n("compile", str(tmp_path))
    assert code == 1
    assert problem in output.replace("\n", "")


# -- loading what extract wrote ------------------------------------------------------


def stock_copy(tmp_path: Path) -> Path:
    root = tmp_path / "stock"
    shutil.copytree(STOCK_DIR, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def test_the_loader_ignores_the_pot_and_says_nothing(session: Session, tmp_path: Path,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    root = stock_copy(tmp_path)
    assert i18n("extract", str(root))[0] == 0
    assert i18n("compile", str(root))[0] == 0  # .mo files beside the .po: ignored as well
    capfd.readouterr()
    report = load_registry(session, root)
    assert report.created == []  # the same translations as the stock already loaded
    assert capfd.readouterr() == ("", "")


def test_an_austrian_catalog_overrides_german_where_it_has_a_translation(
        session: Session, tmp_path: Path) -> None:
    root = stock_copy(tmp_path)
    assert i18n("extract", str(root), "--locale", "de_AT")[0] == 0
    catalog = root / "templates" / "utility-bill" / "locales" / "de_AT.po"
    text = catalog.read_text()
    assert 'msgid "Your energy bill"\nmsgstr ""' in text
    catalog.write_text(text.replace('msgid "Your energy bill"\nmsgstr ""',
                                    'msgid "Your energy bill"\nmsgstr "Ihre Energieabrechnung"'))
    report = load_registry(session, root, publish=False)
    [version] = [number for kind, key, number in report.created if key == "utility-bill"]
    key = "utility-bill"
    austrian = preview_document(session, key, version, "html", locale="de_AT").content.decode()
    assert "Ihre Energieabrechnung" in austrian  # its own catalog first
    assert "Zu zahlender Betrag" in austrian and "Amount due" not in austrian  # then German
    german = preview_document(session, key, version, "html", locale="de_DE").content.decode()
    assert "Ihre Energierechnung" in german and "Energieabrechnung" not in german
    coverage = version_report(session, key, version).locales[1]
    assert coverage.locale == "de_AT" and coverage.missing == ()
    assert coverage.answers() == {"de": coverage.translated - 1, "de_AT": 1}
