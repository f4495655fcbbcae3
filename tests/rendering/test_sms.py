"""SMS encoding and segment counting, pinned at every boundary that changes the bill."""

from __future__ import annotations

import random

import pytest

from ccm.errors import RenderError, SmsTooLongError
from ccm.rendering.sms import (
    GSM7_BASIC,
    GSM7_CHARSET,
    GSM7_EXTENSION,
    SmsAnalysis,
    analyse_sms,
    check_segment_limit,
    is_gsm7,
    normalise_sms_text,
)

EMOJI = "😀"  # outside the BMP: a surrogate pair, 2 UTF-16 units
CYRILLIC = "ж"  # in the BMP but not in GSM-7: 1 UTF-16 unit


def _reference_segments(text: str) -> int:
    """Deliberately naive per-character packer to check the fast paths against."""
    if not text:
        return 0
    if all(c in GSM7_CHARSET for c in text):
        costs = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, multi = 160, 153
    else:
        costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi = 70, 67
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


# --- the character tables ---------------------------------------------------------


def test_basic_table_is_exactly_the_gsm_03_38_default_alphabet() -> None:
    expected = (
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    assert frozenset(expected) == GSM7_BASIC
    assert len(GSM7_BASIC) == 127  # 128 code points minus ESC


def test_extension_table_is_exact() -> None:
    assert frozenset("\f^{}\\[~]|€") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    "text",
    ["", "Hello, World!", "Ça va? [ok] {x} ~ | ^ \\ €", "ΔΦΓΛΩΠΨΣΘΞ", "\f"],
)
def test_is_gsm7_true(text: str) -> None:
    assert is_gsm7(text)


@pytest.mark.parametrize(
    "text",
    [
        "ç",  # only capital Ç is in the table
        "á",  # only à is
        "`",
        "\t",
        "\u00a0",  # non-breaking space, the classic invisible UCS-2 trigger
        "’",  # typographic apostrophe
        "α",  # Greek lower case is not in GSM-7, only some capitals
        "Α",  # Greek capital alpha, looks like A
        "e\u0301",  # decomposed é: not GSM-7 until NFC-normalised
        "\x1b",  # ESC is the escape, not a character
        CYRILLIC,
        EMOJI,
    ],
)
def test_is_gsm7_false(text: str) -> None:
    assert not is_gsm7(text)
    assert analyse_sms(text).encoding == "UCS-2"


# --- GSM-7 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_boundaries(length: int, segments: int) -> None:
    result = analyse_sms("a" * length)
    assert result == SmsAnalysis("GSM-7", length, length, segments)


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        ("€" * 80, 160, 1),
        ("€" * 81, 162, 2),
        ("[" * 80, 160, 1),
        ("[" * 81, 162, 2),
        ("a" * 158 + "€", 160, 1),
        ("a" * 159 + "€", 161, 2),
        # 76 pairs fill 152 septets; the 77th would straddle 153, so each segment holds
        # 76 and 153 of them need 3 segments although ceil(306 / 153) == 2.
        ("€" * 152, 304, 2),
        ("€" * 153, 306, 3),
    ],
)
def test_gsm7_extension_characters_cost_two_septets(text: str, units: int, segments: int) -> None:
    result = analyse_sms(text)
    assert result.encoding == "GSM-7"
    assert result.characters == len(text)
    assert result.units == units
    assert result.segments == segments


def test_gsm7_escape_pair_straddling_a_boundary_moves_to_the_next_segment() -> None:
    # ESC would be septet 153 and '€' septet 154: the pair moves, segment 1 holds 152,
    # and segment 2 then needs 2 + 152 = 154 > 153.
    text = "a" * 152 + "€" + "b" * 152
    result = analyse_sms(text)
    assert result.units == 306
    assert result.segments == 3  # naive ceil(306 / 153) would say 2


def test_gsm7_escape_pair_ending_exactly_on_a_boundary_stays() -> None:
    text = "a" * 151 + "€" + "b" * 153
    result = analyse_sms(text)
    assert result.units == 306
    assert result.segments == 2


def test_line_breaks_are_gsm7_and_cost_one_septet() -> None:
    assert analyse_sms("a\nb\r\nc") == SmsAnalysis("GSM-7", 6, 6, 1)


def test_form_feed_is_an_extension_character() -> None:
    assert analyse_sms("a\fb").units == 4


# --- UCS-2 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_boundaries(length: int, segments: int) -> None:
    result = analyse_sms(CYRILLIC * length)
    assert result == SmsAnalysis("UCS-2", length, length, segments, CYRILLIC)


def test_one_non_gsm_character_switches_the_whole_message() -> None:
    text = "a" * 69 + CYRILLIC
    assert analyse_sms(text) == SmsAnalysis("UCS-2", 70, 70, 1, CYRILLIC)
    assert analyse_sms("a" * 70 + CYRILLIC).segments == 2


def test_extension_characters_cost_one_unit_in_ucs2() -> None:
    assert analyse_sms("€" * 69 + CYRILLIC) == SmsAnalysis("UCS-2", 70, 70, 1, CYRILLIC)


@pytest.mark.parametrize(
    ("text", "characters", "units", "segments"),
    [
        (EMOJI, 1, 2, 1),
        (EMOJI * 35, 35, 70, 1),
        ("a" * 68 + EMOJI, 69, 70, 1),
        ("a" * 69 + EMOJI, 70, 71, 2),
        # 33 pairs fill 66 units and the 34th would straddle 67, so each segment holds 33.
        (EMOJI * 36, 36, 72, 2),
        (EMOJI * 66, 66, 132, 2),
        (EMOJI * 67, 67, 134, 3),
    ],
)
def test_emoji_is_a_surrogate_pair(text: str, characters: int, units: int, segments: int) -> None:
    result = analyse_sms(text)
    assert result.encoding == "UCS-2"
    assert result.characters == characters
    assert result.units == units
    assert result.segments == segments


def test_surrogate_pair_straddling_a_boundary_moves_to_the_next_segment() -> None:
    # The pair would be units 67 and 68: it moves, segment 1 holds 66, and segment 2
    # then needs 2 + 66 = 68 > 67.
    text = CYRILLIC * 66 + EMOJI + CYRILLIC * 66
    result = analyse_sms(text)
    assert result.units == 134
    assert result.segments == 3  # naive ceil(134 / 67) would say 2


def test_surrogate_pair_ending_exactly_on_a_boundary_stays() -> None:
    text = CYRILLIC * 65 + EMOJI + CYRILLIC * 67
    result = analyse_sms(text)
    assert result.units == 134
    assert result.segments == 2


def test_lone_surrogate_is_measured_not_crashed_on() -> None:
    result = analyse_sms("a\ud83d")
    assert result.encoding == "UCS-2"
    assert result.units == 2


# --- ucs2_trigger ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("Hello " + EMOJI + " and " + CYRILLIC, EMOJI),
        ("€ [ok] ’quoted’ " + EMOJI, "’"),
        ("price:\u00a012", "\u00a0"),
        (CYRILLIC, CYRILLIC),
    ],
)
def test_ucs2_trigger_is_the_first_non_gsm_character(text: str, trigger: str) -> None:
    assert analyse_sms(text).ucs2_trigger == trigger


@pytest.mark.parametrize("text", ["", "plain", "with € and [brackets]"])
def test_gsm7_has_no_trigger(text: str) -> None:
    assert analyse_sms(text).ucs2_trigger is None


# --- empty text, to_dict, cross-check -------------------------------------------


def test_empty_text_is_zero_segments() -> None:
    assert analyse_sms("") == SmsAnalysis("GSM-7", 0, 0, 0)


def test_to_dict() -> None:
    assert analyse_sms("hi " + EMOJI).to_dict() == {
        "encoding": "UCS-2",
        "characters": 4,
        "units": 5,
        "segments": 1,
        "ucs2_trigger": EMOJI,
    }
    assert analyse_sms("hi").to_dict()["ucs2_trigger"] is None


def test_analysis_is_frozen() -> None:
    result = analyse_sms("hi")
    with pytest.raises(AttributeError):
        result.segments = 5  # type: ignore[misc]


def test_fast_paths_agree_with_a_naive_packer() -> None:
    rng = random.Random(2303)
    basic = sorted(GSM7_BASIC)
    extension = sorted(GSM7_EXTENSION)
    for _ in range(2000):
        alphabet = basic + rng.choice([[], extension, [CYRILLIC], [EMOJI, *extension]])
        text = "".join(rng.choices(alphabet, k=rng.randrange(0, 500)))
        assert analyse_sms(text).segments == _reference_segments(text), text


# --- normalise_sms_text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  \n\t Hello  \n", "Hello"),
        ("Hello   \t  Jane", "Hello Jane"),
        ("    Hello,\n        Jane  \n", "Hello,\nJane"),
        ("a\nb", "a\nb"),
        ("a\n\nb", "a\n\nb"),
        ("a\n\n\nb", "a\n\nb"),
        ("a\n\n\n\n\n\nb", "a\n\nb"),
        ("a\n   \n \t \n\nb", "a\n\nb"),  # whitespace-only lines count as blank
        ("a\r\nb\r\n\r\n\r\nc\rd", "a\nb\n\nc\nd"),
        ("Caf\u0065\u0301", "Café"),  # NFC composes, so the text stays GSM-7
        ("", ""),
        (" \n\t\n ", ""),
        ("page\fbreak", "page\fbreak"),  # form feed is GSM-7 content, not a line break
    ],
)
def test_normalise_sms_text(raw: str, expected: str) -> None:
    assert normalise_sms_text(raw) == expected


def test_normalise_makes_decomposed_accents_gsm7() -> None:
    raw = "Bonjour Ren\u0065\u0301e"
    assert not is_gsm7(raw)
    assert is_gsm7(normalise_sms_text(raw))


def test_normalise_is_idempotent() -> None:
    raw = "  Dear {{ name }},\n\n\n\n   Your   code is\t1234.  \r\n\r\nBye  "
    once = normalise_sms_text(raw)
    assert normalise_sms_text(once) == once
    assert once == "Dear {{ name }},\n\nYour code is 1234.\n\nBye"


# --- check_segment_limit --------------------------------------------------------


def test_limit_exceeded_in_ucs2_names_counts_encoding_and_trigger() -> None:
    analysis = analyse_sms("a" * 100 + EMOJI + "b" * 40)
    assert analysis.segments == 3
    with pytest.raises(SmsTooLongError) as caught:
        check_segment_limit(analysis, 2)
    assert str(caught.value) == "SMS needs 3 segments (UCS-2 because of '😀'), template allows 2"
    assert caught.value.code == "sms_too_long"
    assert isinstance(caught.value, RenderError)


def test_limit_exceeded_in_gsm7_names_counts_and_encoding() -> None:
    with pytest.raises(SmsTooLongError) as caught:
        check_segment_limit(analyse_sms("a" * 161), 1)
    assert str(caught.value) == "SMS needs 2 segments (GSM-7), template allows 1"


def test_invisible_trigger_is_shown_escaped() -> None:
    with pytest.raises(SmsTooLongError, match=r"because of '\\xa0'"):
        check_segment_limit(analyse_sms("a\u00a0" * 40), 1)


@pytest.mark.parametrize(("text", "limit"), [("a" * 160, 1), ("a" * 161, 2), ("a" * 307, 3)])
def test_within_limit_passes(text: str, limit: int) -> None:
    check_segment_limit(analyse_sms(text), limit)


def test_no_limit_passes() -> None:
    check_segment_limit(analyse_sms(EMOJI * 1000), None)


def test_empty_text_passes_any_limit() -> None:
    check_segment_limit(analyse_sms(""), 0)
