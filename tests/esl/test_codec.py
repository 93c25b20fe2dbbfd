"""Url-encoding exactly as FreeSWITCH applies it to each header value (PROTOCOL.md §4.2)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.esl.codec import url_decode, url_decode_bytes, url_encode

# The table of PROTOCOL.md §4.2 (SU switch_url_encode_opt, SWITCH_URL_UNSAFE).
UNSAFE = '\r\n #%&+:;<=>?@[\\]^`{|}"'
SAFE = string.ascii_letters + string.digits + "!$'()*,-./_~"
UPPER_HEX = "0123456789ABCDEF"


def reference_encode(value: str) -> str:
    """switch_url_encode_opt with double_encode off, written out from the protocol notes."""
    raw = value.encode("utf-8")
    out = []
    i = 0
    while i < len(raw):
        byte = raw[i]
        if (
            byte == ord("%")
            and i + 2 < len(raw)
            and chr(raw[i + 1]) in UPPER_HEX
            and chr(raw[i + 2]) in UPPER_HEX
        ):
            out.append(raw[i : i + 3].decode("ascii"))
            i += 3
            continue
        char = chr(byte)
        if byte < 0x20 or byte > 0x7E or char in UNSAFE:
            out.append(f"%{byte:02X}")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def test_the_table_covers_every_printable_ascii_character() -> None:
    printable = {chr(b) for b in range(0x20, 0x7F)}
    assert set(UNSAFE) - {"\r", "\n"} | set(SAFE) == printable
    assert not set(UNSAFE) & set(SAFE)


@pytest.mark.parametrize("char", list(UNSAFE))
def test_every_unsafe_character_is_encoded_uppercase(char: str) -> None:
    assert url_encode(f"a{char}b") == f"a%{ord(char):02X}b"
    assert url_encode(char) == f"%{ord(char):02X}"


def test_backtick_and_quote_are_unsafe() -> None:
    assert url_encode("`") == "%60"
    assert url_encode('"') == "%22"


def test_safe_characters_stay() -> None:
    assert url_encode(SAFE) == SAFE
    for char in SAFE:
        assert url_encode(char) == char


@pytest.mark.parametrize("byte", [*range(0x00, 0x20), 0x7F])
def test_control_bytes_are_encoded(byte: int) -> None:
    assert url_encode(chr(byte)) == f"%{byte:02X}"


def test_non_ascii_is_encoded_byte_by_byte_in_utf8() -> None:
    assert url_encode("Иван") == "%D0%98%D0%B2%D0%B0%D0%BD"
    assert url_encode("é") == "%C3%A9"
    assert url_encode("☎") == "%E2%98%8E"
    assert url_encode("😀") == "%F0%9F%98%80"
    assert url_encode("\x80") == "%C2%80"


def test_captured_examples() -> None:
    # Values as they appear on the wire in cap 05 (Event-Date-GMT, Application-Data, ...).
    assert (
        url_encode("Sun, 22 Nov 2026 15:39:32 GMT") == "Sun,%2022%20Nov%202026%2015%3A39%3A32%20GMT"
    )
    assert url_encode("2026-11-22 15:41:07") == "2026-11-22%2015%3A41%3A07"
    assert url_encode("tone_stream://%(1000,0,440)") == "tone_stream%3A//%25(1000,0,440)"
    assert url_encode("callcenter::info") == "callcenter%3A%3Ainfo"
    assert url_encode("fd00::2") == "fd00%3A%3A2"
    assert url_encode("Ivan Petrov & Co") == "Ivan%20Petrov%20%26%20Co"
    assert url_encode("+OK\n") == "%2BOK%0A"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("%41", "%41"),  # pre-encoded uppercase: copied as is (lossy)
        ("%2F", "%2F"),
        ("a%20b", "a%20b"),
        ("%2f", "%252f"),  # lowercase hex is not "already encoded"
        ("%a1", "%25a1"),
        ("%4", "%254"),
        ("%", "%25"),
        ("100%", "100%25"),
        ("%ZZ", "%25ZZ"),
        ("%%41", "%25%41"),
        ("%41%", "%41%25"),
        ("%4G", "%254G"),
    ],
)
def test_percent_handling(value: str, wire: str) -> None:
    assert url_encode(value) == wire
    assert reference_encode(value) == wire


def test_pre_encoded_value_decodes_differently_than_it_was_set() -> None:
    assert url_decode(url_encode("%41")) == "A"  # PROTOCOL.md §9.17


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_encoding_matches_the_reference(value: str) -> None:
    assert url_encode(value) == reference_encode(value)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list("%0123456789ABCDEFabcdefgZ x")), max_size=20))
def test_percent_heavy_values_match_the_reference(value: str) -> None:
    assert url_encode(value) == reference_encode(value)


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_encoded_values_are_one_safe_line(value: str) -> None:
    wire = url_encode(value)
    assert re.fullmatch(r"(?:[A-Za-z0-9!$'()*,\-./_~]|%[0-9A-F]{2})*", wire), wire
    assert "\n" not in wire and "\r" not in wire and " " not in wire


@settings(max_examples=500)
@given(st.text(max_size=60).filter(lambda v: re.search("%[0-9A-F]{2}", v) is None))
def test_decode_inverts_encode(value: str) -> None:
    assert url_decode(url_encode(value)) == value
    assert url_decode_bytes(url_encode(value).encode("ascii")) == value


def test_decoding_accepts_any_hex_case() -> None:
    assert url_decode("a%2fb%2Fc") == "a/b/c"
    assert url_decode("%d0%98%D0%b2") == "Ив"
    assert url_decode_bytes(b"%D0%98") == "И"
    assert url_decode_bytes(b"%d0%98") == "И"


def test_decoding_leaves_the_rest_alone() -> None:
    assert url_decode("plain") == "plain"
    assert url_decode("a+b") == "a+b"  # not form encoding: '+' stays '+'
    assert url_decode("%2B") == "+"
    assert url_decode("%zz%") == "%zz%"
    assert url_decode("%4") == "%4"
    assert url_decode("Иван%20") == "Иван "
    assert url_decode_bytes("Иван".encode()) == "Иван"


def test_decoding_control_characters() -> None:
    assert url_decode("%0A") == "\n"
    assert url_decode("a%0D%0Ab") == "a\r\nb"
    assert url_decode("%00") == "\x00"


def test_invalid_utf8_after_decoding_is_replaced_not_raised() -> None:
    assert url_decode("%FF") == "\ufffd"
    assert url_decode_bytes(b"%D0") == "\ufffd"
    assert url_decode_bytes(b"\xff") == "\ufffd"
