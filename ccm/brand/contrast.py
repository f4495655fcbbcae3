"""WCAG 2.1 contrast of a brand's colour pairs, as its stylesheet uses them.

Each pair is a foreground the brand stylesheet draws on a background (`stylesheet.py`):
text needs 4.5:1 for AA (success criterion 1.4.3; small print is normal-size text),
borders that carry meaning 3:1 (1.4.11, non-text contrast).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccm.brand.tokens import Palette

#: (foreground, background, what it is, AA minimum): the pairs the stylesheet draws.
PAIRS: tuple[tuple[str, str, str, float], ...] = (
    ("text", "background", "body text", 4.5),
    ("muted", "background", "small print, labels, the legal footer", 4.5),
    ("primary", "background", "headings, links, amounts", 4.5),
    ("text", "surface", "text in call-outs", 4.5),
    ("primary", "surface", "section rows, the amount in a call-out", 4.5),
    ("on_primary", "primary", "table headers, buttons, the offer banner", 4.5),
    ("accent", "background", "call-out and heading rules (non-text)", 3.0),
)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG's relative luminance of ``#rrggbb`` (or ``#rgb``)."""
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(d * 2 for d in hex_digits)
    red, green, blue = (int(hex_digits[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted((relative_luminance(foreground),
                              relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class ContrastCheck:
    foreground: str  # palette token
    background: str
    use: str
    ratio: float  # rounded to two places
    required: float

    @property
    def passes(self) -> bool:
        return self.ratio >= self.required


def check_palette(palette: Palette) -> list[ContrastCheck]:
    """Every pair the stylesheet draws, with its ratio and whether it meets AA."""
    checks = []
    for foreground, background, use, required in PAIRS:
        ratio = contrast_ratio(getattr(palette, foreground), getattr(palette, background))
        # Rounded down: 4.499 must not pass as 4.5.
        checks.append(ContrastCheck(foreground, background, use, int(ratio * 100) / 100,
                                    required))
    return checks
