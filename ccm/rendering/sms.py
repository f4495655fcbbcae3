"""How an SMS body will travel: its encoding and how many segments it costs.

Carriers bill SMS per segment, and a single character outside the GSM 03.38 alphabet
(an emoji, a curly quote, a non-breaking space pasted from a word processor) switches
the whole message to UCS-2 and cuts a segment from 160 characters to 70. A template
that quietly triples what every send costs is a defect, so ccm measures each rendered
body exactly as a handset or SMSC would (3GPP TS 23.038 / TS 23.040) and lets a
template cap the number of segments it may use.

Counting is greedy packing, not ``ceil(units / size)``: a GSM-7 escape sequence and a
UTF-16 surrogate pair are never split across segments, so the naive division can be
one segment short.

Empty text is analysed as 0 segments. Whether an empty body is an error, or still goes
out as one (empty) message, is a decision for the caller, not for the measuring.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from ccm.errors import SmsTooLongError

__all__ = [
    "GSM7_BASIC",
    "GSM7_CHARSET",
    "GSM7_EXTENSION",
    "GSM7_MULTIPART_SEPTETS",
    "GSM7_SINGLE_SEPTETS",
    "UCS2_MULTIPART_UNITS",
    "UCS2_SINGLE_UNITS",
    "Encoding",
    "SmsAnalysis",
    "analyse_sms",
    "check_segment_limit",
    "is_gsm7",
    "normalise_sms_text",
]

Encoding = Literal["GSM-7", "UCS-2"]

# Code points 0x00-0x7F of the GSM 7-bit default alphabet, in table order, so the string
# can be checked against the standard line by line. 0x1B (ESC) is left out: it is the
# escape into the extension table, not a character a text can contain.
_GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

GSM7_BASIC: frozenset[str] = frozenset(_GSM7_BASIC_TABLE)
"""Characters that cost one septet."""

GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
"""Characters reached through ESC, so each costs two septets."""

GSM7_CHARSET: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION
"""Everything that can be sent without falling back to UCS-2."""

GSM7_SINGLE_SEPTETS = 160
# A concatenated message gives 6 octets of every segment to the user data header (UDH),
# which leaves 153 septets of text.
GSM7_MULTIPART_SEPTETS = 153
UCS2_SINGLE_UNITS = 70
UCS2_MULTIPART_UNITS = 67

_ESC = "\x1b"
# Rewrites text into its septet stream (one str char per septet) so segment boundaries can
# be found by slicing instead of walking the text character by character. U+001B itself is
# not in the GSM-7 charset, so an ESC in the stream can only be one this table put there.
_TO_SEPTETS = str.maketrans({char: _ESC + char for char in GSM7_EXTENSION})

_NOT_GSM7 = re.compile("[^" + "".join(re.escape(char) for char in sorted(GSM7_CHARSET)) + "]")

_HORIZONTAL_SPACE_RUN = re.compile(r"[ \t]+")
_THREE_OR_MORE_NEWLINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class SmsAnalysis:
    """What a text costs to send as SMS."""

    encoding: Encoding
    characters: int
    """User-visible characters: ``len()`` of the text."""
    units: int
    """Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2."""
    segments: int
    """Exact number of SMS segments; 0 for empty text."""
    ucs2_trigger: str | None = None
    """The first character outside GSM-7, the one to fix if UCS-2 was not intended."""

    def to_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "units": self.units,
            "segments": self.segments,
            "ucs2_trigger": self.ucs2_trigger,
        }


def normalise_sms_text(text: str) -> str:
    """Tidy a template-rendered SMS body without losing the line breaks the author meant.

    Jinja indentation and ``{% if %}`` lines leave stray spaces and blank lines behind,
    and in an SMS each of them is paid for. NFC comes first so that an ``e`` followed by
    a combining accent becomes the GSM-7 ``é`` instead of forcing UCS-2.
    """
    text = unicodedata.normalize("NFC", text)
    # A template saved on Windows would otherwise spend a septet on every CR and show
    # doubled line breaks on some handsets.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # split("\n") rather than splitlines(): the latter also breaks on form feed, which is
    # a legitimate GSM-7 extension character.
    lines = (_HORIZONTAL_SPACE_RUN.sub(" ", line).strip() for line in text.split("\n"))
    return _THREE_OR_MORE_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def is_gsm7(text: str) -> bool:
    """Whether the text can be sent in the GSM 7-bit alphabet (basic or extension table)."""
    return GSM7_CHARSET.issuperset(text)


def analyse_sms(text: str) -> SmsAnalysis:
    """Measure ``text`` as it stands; normalise it first if it came from a template."""
    characters = len(text)
    present = set(text)
    if present <= GSM7_BASIC:
        return SmsAnalysis("GSM-7", characters, characters, _gsm7_segments(text, characters))
    if present <= GSM7_CHARSET:
        septets = characters + sum(text.count(char) for char in present & GSM7_EXTENSION)
        return SmsAnalysis("GSM-7", characters, septets, _gsm7_segments(text, septets))
    # surrogatepass so a lone surrogate (from mis-decoded input) is still measurable
    # as one unit rather than crashing the render.
    encoded = text.encode("utf-16-le", "surrogatepass")
    units = len(encoded) // 2
    trigger = _NOT_GSM7.search(text)
    return SmsAnalysis(
        "UCS-2",
        characters,
        units,
        _ucs2_segments(encoded, units, characters),
        trigger.group() if trigger else None,
    )


def check_segment_limit(analysis: SmsAnalysis, max_segments: int | None) -> None:
    """Refuse a message longer than its template allows; ``None`` means no limit."""
    if max_segments is None or analysis.segments <= max_segments:
        return
    if analysis.encoding == "UCS-2" and analysis.ucs2_trigger is not None:
        # repr() so an invisible trigger such as a non-breaking space shows as '\xa0'.
        why = f"UCS-2 because of {analysis.ucs2_trigger!r}"
    else:
        why = analysis.encoding
    raise SmsTooLongError(
        f"SMS needs {analysis.segments} segments ({why}), template allows {max_segments}"
    )


def _gsm7_segments(text: str, septets: int) -> int:
    if septets <= GSM7_SINGLE_SEPTETS:
        return 1 if septets else 0
    if septets == len(text):
        # No escape sequences, so nothing can straddle a boundary.
        return -(-septets // GSM7_MULTIPART_SEPTETS)
    stream = text.translate(_TO_SEPTETS)
    segments = start = 0
    while start < septets:
        end = start + GSM7_MULTIPART_SEPTETS
        if end < septets and stream[end - 1] == _ESC:
            # The escape would end this segment and its character start the next;
            # a handset cannot join those, so the pair moves over whole.
            end -= 1
        segments += 1
        start = end
    return segments


def _ucs2_segments(encoded: bytes, units: int, characters: int) -> int:
    if units <= UCS2_SINGLE_UNITS:
        return 1 if units else 0
    if units == characters:
        # Nothing outside the BMP, so no surrogate pair to keep together.
        return -(-units // UCS2_MULTIPART_UNITS)
    segments = start = 0
    while start < units:
        end = start + UCS2_MULTIPART_UNITS
        # High byte of the last unit (little-endian); 0xD8-0xDB is a high surrogate whose
        # low half would land in the next segment.
        if end < units and 0xD8 <= encoded[2 * end - 1] <= 0xDB:
            end -= 1
        segments += 1
        start = end
    return segments
