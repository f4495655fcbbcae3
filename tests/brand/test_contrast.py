"""WCAG 2.1 contrast of brand colours: the formula, the stock brand, and a brand that
fails, over HTTP too."""

from __future__ import annotations

import pytest

from ccm.brand.contrast import check_palette, contrast_ratio, relative_luminance
from ccm.brand.tokens import Palette

STOCK = {"primary": "#0b5d4b", "secondary": "#1f7a66", "accent": "#c77c02",
         "text": "#1f2933", "muted": "#52606d", "background": "#ffffff",
         "surface": "#eef4f2", "on_primary": "#ffffff"}


def test_the_formula_gives_wcags_figures() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # fails AA
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # passes
    assert relative_luminance("#fff") == pytest.approx(1.0)
    assert contrast_ratio("#0b5d4b", "#fff") == contrast_ratio("#fff", "#0b5d4b")


def test_the_stock_palette_meets_aa() -> None:
    checks = check_palette(Palette(**STOCK))
    assert all(c.passes for c in checks)
    body = next(c for c in checks if (c.foreground, c.background) == ("text", "background"))
    assert body.ratio == 14.75 and body.required == 4.5


def test_a_pale_palette_fails_where_it_is_pale() -> None:
    checks = check_palette(Palette(**(STOCK | {"muted": "#999999", "accent": "#ffe08a"})))
    failing = {(c.foreground, c.background) for c in checks if not c.passes}
    assert failing == {("muted", "background"), ("accent", "background")}
    muted = next(c for c in checks if c.foreground == "muted")
    assert muted.ratio == 2.84 and not muted.passes
