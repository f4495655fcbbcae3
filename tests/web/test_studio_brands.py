"""The brand pages with sub-brands, without a browser: a sub-brand's page names its parent
and the parent version it inherits, marks its own tokens against inherited ones, says when
it is behind its parent and offers the rebase; a parent lists its sub-brands; and the
brands list shows who descends from whom."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from studio_support import (
    NEW_ACCENT,
    SOLAR_GREEN,
    BrandFamily,
    StudioDatabase,
    csrf_of,
    make_brand_family,
    signed_in,
)

from ccm.web.session import CSRF_HEADER
from ccm.web.views import override_paths


@pytest.fixture(scope="module")
def family(database: StudioDatabase) -> BrandFamily:
    return make_brand_family(database)


@pytest.fixture
def ana(client: TestClient, database: StudioDatabase) -> Iterator[TestClient]:
    signed_in(client, database.keys["ana"])
    yield client


def swatch_origins(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-swatch="([a-z_]+)" data-origin="(own|inherited)"', html))


def test_a_sub_brand_page_names_its_parent_and_what_it_sets_itself(
        ana: TestClient, family: BrandFamily) -> None:
    reply = ana.get(f"/studio/brands/{family.solar}")
    assert reply.status_code == 200, reply.text
    html = reply.text
    parent_link = f'<a href="/studio/brands/{family.parent}">Northwind Group</a>'
    assert re.search(rf'id="parent-brand">{re.escape(parent_link)}', html)
    assert (f'id="inherited-version"><a href="/studio/brands/{family.parent}?version=1">'
            f"{family.parent} v1</a>") in html
    own = re.search(r'id="own-tokens">(.*?)</p>', html, re.S)
    assert own is not None
    assert re.findall(r"<code>([^<]+)</code>", own.group(1)) == [
        "company_name", "logo.png", "logo.svg", "palette.primary"]
    origins = swatch_origins(html)
    assert origins.pop("primary") == "own"
    assert len(origins) == 7 and set(origins.values()) == {"inherited"}
    assert SOLAR_GREEN in html and "Northwind Solar GmbH" in html
    for caption in ("SVG · ", "PNG, for email clients"):
        assert re.search(rf"{re.escape(caption)}[^<]*"
                         r'<span class="origin origin-own">own</span></figcaption>', html)
    fonts = re.search(r'<dl class="pairs" id="fonts">(.*?)</dl>', html, re.S)
    assert fonts is not None
    assert "origin-own" not in fonts.group(1)
    assert fonts.group(1).count("origin-inherited") == 7  # body, headings, fallback, senders…


def test_a_sub_brand_behind_its_parent_says_so_and_offers_the_rebase(
        ana: TestClient, family: BrandFamily) -> None:
    html = ana.get(f"/studio/brands/{family.solar}").text
    notice = re.search(r'<div class="notice warn behind" id="behind">(.*?)</div>\s*</div>',
                       html, re.S)
    assert notice is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", notice.group(1)).split())
    assert (f"The latest version of {family.solar}, v1, inherits {family.parent} v1; "
            f"{family.parent}'s latest published version is v2.") in text
    assert f'data-brand="{family.solar}"' in notice.group(1)
    assert f"Rebase on {family.parent} v2</button>" in notice.group(1)
    assert '<script src="/studio/static/brand.js"></script>' in html
    assert '<script src="/studio/static/studio.js"></script>' in html


def test_a_parent_lists_its_sub_brands_and_marks_nothing(ana: TestClient,
                                                         family: BrandFamily) -> None:
    html = ana.get(f"/studio/brands/{family.parent}").text
    sub_brands = re.search(r'<ul class="inline-list" id="sub-brands">(.*?)</ul>', html)
    assert sub_brands is not None
    assert re.findall(r'href="/studio/brands/([^"]+)"', sub_brands.group(1)) == [
        family.solar, family.twin]
    assert 'id="parent-brand"' not in html and 'id="behind"' not in html
    assert "origin-own" not in html and "origin-inherited" not in html
    assert "brand.js" not in html
    stock = ana.get("/studio/brands/northwind").text
    assert 'id="family"' not in stock  # a brand with neither parent nor sub-brands


def test_a_sub_brand_of_nothing_of_its_own(ana: TestClient, family: BrandFamily) -> None:
    html = ana.get(f"/studio/brands/{family.twin}").text
    assert "This version sets no tokens of its own" in html
    assert set(swatch_origins(html).values()) == {"inherited"}
    assert "origin-own" not in html


def test_the_brands_list_shows_parents_sub_brands_and_who_is_behind(
        ana: TestClient, family: BrandFamily) -> None:
    html = ana.get("/studio/brands").text

    def row(key: str) -> str:
        found = re.search(rf'<tr data-brand="{key}">(.*?)</tr>', html, re.S)
        assert found is not None, key
        return found.group(1)

    parent = row(family.parent)
    assert '<td class="parent"><span class="muted">none</span>' in parent
    assert (f'<a href="/studio/brands/{family.solar}">{family.solar}</a>, '
            f'<a href="/studio/brands/{family.twin}">{family.twin}</a>') in parent
    assert "behind" not in parent
    solar = row(family.solar)
    assert (f'<td class="parent"><a href="/studio/brands/{family.parent}">{family.parent}'
            "</a></td>") in solar
    assert f"behind {family.parent} v2</span>" in solar
    assert "behind" not in row("northwind")


def test_rebasing_through_the_session_takes_up_the_parent(
        ana: TestClient, database: StudioDatabase) -> None:
    family = make_brand_family(database, prefix="rebase-")
    path = f"/v1/brands/{family.solar}/rebase"
    assert ana.post(path, json={"publish": True}).status_code == 403  # no CSRF token
    reply = ana.post(path, json={"publish": True}, headers={CSRF_HEADER: csrf_of(ana)})
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert (made["version"], made["status"], made["parent_version"]) == (2, "published", 2)
    assert made["tokens"]["palette"]["accent"] == NEW_ACCENT

    html = ana.get(f"/studio/brands/{family.solar}").text
    assert 'id="behind"' not in html
    assert f"{family.parent} v2</a></dd>" in html
    assert swatch_origins(html)["primary"] == "own"
    older = ana.get(f"/studio/brands/{family.solar}?version=1").text
    assert f'?version=1">{family.parent} v1</a>' in older
    assert 'id="behind"' not in older  # behind is about the latest version, not this one


def test_override_paths_follow_how_overrides_merge() -> None:
    overrides = {"company_name": "X", "palette": {"primary": "#000000", "accent": "#111111"},
                 "logo": {"width_mm": 30}, "legal_footer": {"en": "X Ltd"},
                 "fonts": {"faces": []}, "email_sender": {}}
    assert override_paths(overrides) == {"company_name", "palette.primary", "palette.accent",
                                         "logo.width_mm", "legal_footer", "fonts.faces"}
