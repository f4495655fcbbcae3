"""Brand tokens: the one description of how a brand looks and speaks.

Tokens are validated strictly because they are written into CSS and email headers:
colours must be hex, font families plain names, so a token can never inject CSS.

A sub-brand's tokens are its parent's with its own *overrides* laid over them
(:func:`overlay_tokens`): mappings merge key by key at any depth, while lists (the
address, ``fonts.faces``) and plain values replace the parent's. Two groups are taken
whole: ``legal_footer`` (one legal identity, stated in every language or not at all, so a
German text of the parent cannot outlive an English override) and the logo's pair of
files (``logo.svg`` and ``logo.png`` are one picture, so a sub-brand names both or
neither; ``logo.width_mm`` alone may change).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_FAMILY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{0,62}$")
_SMS_SENDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ]{0,10}$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[A-Za-z]{2,}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _hex_colour(value: str) -> str:
    if not _HEX.match(value):
        raise ValueError(f"{value!r} is not a hex colour like #0a5c4b")
    return value.lower()


def _family(value: str) -> str:
    if not _FAMILY.match(value):
        raise ValueError(f"{value!r} is not a plain font family name")
    return value


def _asset_digest(value: str) -> str:
    if not _SHA256.match(value):
        raise ValueError("must be the SHA-256 of a registry asset")
    return value


def check_locale(value: str) -> str:
    """``value`` as Babel's canonical locale identifier (``de-at`` -> ``de_AT``)."""
    try:
        return _canonical_locale(value)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"unknown locale {value!r}") from exc


# Every render checks its locale; Babel's parse is a good part of an SMS's cost. Only
# answers are remembered (a refusal raises), a bounded number of them.
@functools.lru_cache(maxsize=512)
def _canonical_locale(value: str) -> str:
    return str(Locale.parse(value.replace("-", "_")))


HexColour = Annotated[str, AfterValidator(_hex_colour)]
FontFamily = Annotated[str, AfterValidator(_family)]
AssetDigest = Annotated[str, AfterValidator(_asset_digest)]
LocaleId = Annotated[str, AfterValidator(check_locale)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Palette(_Strict):
    primary: HexColour
    secondary: HexColour
    accent: HexColour
    text: HexColour
    muted: HexColour
    background: HexColour
    surface: HexColour
    on_primary: HexColour = "#ffffff"


class FontFace(_Strict):
    """A font file from the registry, embedded with @font-face."""

    family: FontFamily
    asset: AssetDigest
    weight: int = Field(default=400, ge=100, le=900)
    style: str = Field(default="normal", pattern="^(normal|italic)$")


class Fonts(_Strict):
    body: FontFamily
    heading: FontFamily
    fallback: str = Field(default="sans-serif", pattern="^(sans-serif|serif)$")
    faces: tuple[FontFace, ...] = ()


class Logo(_Strict):
    svg: AssetDigest = Field(description="Vector logo for print and web.")
    png: AssetDigest = Field(description="Raster rendition for email clients, which hide SVG.")
    width_mm: float = Field(default=42, gt=0, le=120)


class EmailSender(_Strict):
    name: str = Field(min_length=1, max_length=100)
    address: str

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value


class Contact(_Strict):
    phone: str | None = None
    email: str | None = None
    web: str | None = None


class BrandTokens(_Strict):
    company_name: str = Field(min_length=1, max_length=200)
    address: tuple[str, ...] = Field(min_length=1)
    palette: Palette
    fonts: Fonts
    logo: Logo
    legal_footer: dict[str, str] = Field(
        description="Legal text per locale ('de', 'en_GB'); the default locale's is required."
    )
    email_sender: EmailSender
    sms_sender_id: str
    default_locale: LocaleId
    currency: str
    contact: Contact = Contact()

    @field_validator("sms_sender_id")
    @classmethod
    def _sender_id(cls, value: str) -> str:
        if not _SMS_SENDER.match(value):
            raise ValueError("an SMS sender id is 1 to 11 letters, digits or spaces")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.upper()
        if len(code) != 3 or get_currency_name(code) == code:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return code

    @field_validator("legal_footer")
    @classmethod
    def _legal_locales(cls, value: dict[str, str]) -> dict[str, str]:
        return {check_locale(k): v for k, v in value.items()}

    def model_post_init(self, _context: object) -> None:
        if not _locale_chain_hit(self.default_locale, self.legal_footer):
            raise ValueError(
                f"legal_footer needs a text for the default locale {self.default_locale}"
            )

    def legal_text(self, locale: str) -> str:
        """The legal footer in ``locale``, falling back to its language, then the default."""
        return (
            _locale_chain_hit(locale, self.legal_footer)
            or _locale_chain_hit(self.default_locale, self.legal_footer)
            or ""
        )

    def asset_digests(self) -> set[str]:
        return {self.logo.svg, self.logo.png, *(face.asset for face in self.fonts.faces)}


def locale_chain(locale: str) -> list[str]:
    """``de_AT`` -> ``['de_AT', 'de']``: the order in which localised text is looked up."""
    chain = [locale]
    if "_" in locale:
        chain.append(locale.split("_", 1)[0])
    return chain


def _locale_chain_hit(locale: str, texts: dict[str, str]) -> str | None:
    for candidate in locale_chain(locale):
        if candidate in texts:
            return texts[candidate]
    return None


#: Token paths a sub-brand replaces whole instead of merging into (see the module notes).
REPLACED_WHOLE = frozenset({("legal_footer",)})


def overlay_tokens(parent: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A sub-brand's tokens: ``overrides`` laid over ``parent`` (neither is changed)."""
    return _overlay(parent, overrides, ())


def _overlay(base: Mapping[str, Any], top: Mapping[str, Any], path: tuple[str, ...]
             ) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in top.items():
        below = merged.get(key)
        if (isinstance(value, Mapping) and isinstance(below, Mapping)
                and (*path, key) not in REPLACED_WHOLE):
            merged[key] = _overlay(below, value, (*path, key))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def override_problems(overrides: Mapping[str, Any]) -> list[str]:
    """What is wrong with a sub-brand's overrides before they are laid over anything,
    each with its token path (the merged tokens are validated as a whole afterwards)."""
    logo = overrides.get("logo")
    if isinstance(logo, Mapping) and len({"svg", "png"} & set(logo)) == 1:
        given = "svg" if "svg" in logo else "png"
        missing = "png" if given == "svg" else "svg"
        return [f"logo/{missing}: a sub-brand that replaces its logo names both files "
                f"(only logo/{given} is given; the PNG is the SVG's rendition for email)"]
    return []
