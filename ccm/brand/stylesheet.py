"""Brand tokens become one stylesheet, shared by the PDF, web and email channels.

The component vocabulary (letterhead, address window, item table, totals, payment slip,
legal footer, buttons) is defined here once, so every template of a brand draws the same
parts the same way. Each channel adds only what its medium needs: page boxes for print,
a centred sheet for the web, a fixed-width column for email.
"""

from __future__ import annotations

from typing import Literal

from ccm.brand.tokens import BrandTokens

Medium = Literal["print", "screen", "email"]

ASSET_SCHEME = "ccm-asset:"


def asset_url(sha256: str) -> str:
    return f"{ASSET_SCHEME}{sha256}"


def _font_faces(tokens: BrandTokens) -> str:
    return "".join(
        f"@font-face{{font-family:'{face.family}';src:url({asset_url(face.asset)});"
        f"font-weight:{face.weight};font-style:{face.style}}}\n"
        for face in tokens.fonts.faces
    )


def _common(tokens: BrandTokens) -> str:
    p, f = tokens.palette, tokens.fonts
    body_font = f"'{f.body}', {f.fallback}"
    heading_font = f"'{f.heading}', {f.fallback}"
    return f"""
body{{font-family:{body_font};color:{p.text};font-size:10pt;line-height:1.45;margin:0}}
h1,h2,h3{{font-family:{heading_font};color:{p.primary};line-height:1.2;margin:0 0 .4em}}
h1{{font-size:17pt}}h2{{font-size:12.5pt}}h3{{font-size:10.5pt}}
p{{margin:0 0 .7em}}a{{color:{p.primary}}}
.muted{{color:{p.muted}}}.small{{font-size:8pt}}.num{{text-align:right;white-space:nowrap}}
.letterhead{{border-bottom:2.5pt solid {p.primary};padding-bottom:4mm;margin-bottom:6mm}}
.letterhead .logo{{float:left;width:{tokens.logo.width_mm}mm;height:auto}}
.letterhead .sender{{float:right;text-align:right;font-size:8pt;color:{p.muted};line-height:1.35}}
.letterhead .sender strong{{color:{p.text}}}
.head-row{{margin-bottom:8mm}}
.letterhead::after,.head-row::after{{content:"";display:block;clear:both}}
.address-window{{float:left;width:80mm;min-height:40mm}}
.address-window .return-line{{font-size:6.5pt;color:{p.muted};border-bottom:.5pt solid {p.muted};
padding-bottom:1mm;margin-bottom:2mm}}
.address-window .recipient{{font-size:10.5pt;line-height:1.4}}
.doc-meta{{float:right;border-collapse:collapse;font-size:8.5pt;width:84mm}}
.doc-meta th{{text-align:left;font-weight:normal;color:{p.muted};padding:.6mm 4mm .6mm 0;
white-space:nowrap}}
.doc-meta td{{text-align:right;padding:.6mm 0;font-weight:bold}}
.doc-title{{margin-top:2mm}}
.lead{{font-size:10.5pt}}
.callout{{background:{p.surface};border-left:4pt solid {p.accent};padding:3mm 4mm;margin:4mm 0 6mm}}
.callout .amount{{font-size:16pt;font-weight:bold;color:{p.primary}}}
table.items{{width:100%;border-collapse:collapse;font-size:8.5pt;margin:2mm 0 4mm}}
table.items th{{background:{p.primary};color:{p.on_primary};text-align:left;padding:1.6mm 2mm;
font-weight:bold}}
table.items td{{padding:1.3mm 2mm;border-bottom:.4pt solid {p.surface}}}
table.items tr.section td{{background:{p.surface};font-weight:bold;color:{p.primary}}}
table.items th.num,table.items td.num{{text-align:right}}
table.totals{{margin-left:auto;border-collapse:collapse;font-size:9pt;min-width:80mm}}
table.totals td{{padding:1mm 2mm}}
table.totals tr.grand td{{border-top:1.2pt solid {p.primary};font-weight:bold;font-size:11pt;
color:{p.primary};padding-top:2mm}}
.payment-slip{{border:1pt dashed {p.muted};padding:4mm 5mm;margin-top:8mm;font-size:8.5pt;
page-break-inside:avoid;break-inside:avoid}}
.payment-slip h3{{margin-bottom:2mm}}
.payment-slip table{{border-collapse:collapse;width:100%}}
.payment-slip th{{text-align:left;font-weight:normal;color:{p.muted};padding:.8mm 4mm .8mm 0;
width:38mm}}
.payment-slip td{{font-weight:bold;padding:.8mm 0;font-family:'{f.body}', monospace}}
.legal-footer{{font-size:6.8pt;color:{p.muted};border-top:.5pt solid {p.muted};padding-top:2mm}}
.btn{{display:inline-block;background:{p.primary};color:{p.on_primary};text-decoration:none;
font-weight:bold;padding:3mm 6mm;border-radius:2mm}}
.hero{{background:{p.primary};color:{p.on_primary};padding:8mm;border-radius:3mm;margin-bottom:6mm}}
.hero h1{{color:{p.on_primary};font-size:22pt}}
.hero .offer{{font-size:30pt;font-weight:bold;color:{p.on_primary};
border-bottom:3pt solid {p.accent};display:inline-block}}
.signature{{margin-top:10mm}}
"""


def _print(tokens: BrandTokens) -> str:
    return f"""
@page{{size:A4;margin:16mm 18mm 26mm 22mm;
@bottom-left{{content:element(legal);width:150mm;vertical-align:top;padding-top:3mm}}
@bottom-right{{content:counter(page) " / " counter(pages);font-size:7pt;
font-family:'{tokens.fonts.body}', {tokens.fonts.fallback};
color:{tokens.palette.muted};vertical-align:top;padding-top:5mm}}}}
.legal-footer{{position:running(legal);border-top:none;padding-top:0}}
.screen-only{{display:none}}
"""


def _screen(tokens: BrandTokens) -> str:
    p = tokens.palette
    return f"""
html{{background:{p.surface}}}
body{{max-width:190mm;margin:8mm auto;background:{p.background};padding:14mm 16mm;
box-shadow:0 1mm 4mm rgba(0,0,0,.12)}}
.legal-footer{{margin-top:10mm}}
.print-only{{display:none}}
"""


def _email(tokens: BrandTokens) -> str:
    p = tokens.palette
    return f"""
body{{background:{p.surface};padding:16px 0}}
.email{{max-width:600px;margin:0 auto;background:{p.background};padding:24px 28px}}
.letterhead{{display:block}}.letterhead .logo{{float:none;display:block;width:160px}}
.legal-footer{{margin-top:24px}}
.print-only{{display:none}}
"""


def brand_css(tokens: BrandTokens, medium: Medium) -> str:
    """The brand's stylesheet for one medium; deterministic for the same tokens."""
    extra = {"print": _print, "screen": _screen, "email": _email}[medium](tokens)
    return (_font_faces(tokens) if medium != "email" else "") + _common(tokens) + extra
