"""Url-encoding exactly as FreeSWITCH applies it to each header value."""

from __future__ import annotations

import pytest

from callcenter.esl.codec import url_decode, url_decode_bytes, url_encode


@pytest.mark.parametrize("char", list('\r\n #%&+:;<=>?@[\\]^`{|}"'))
def test_every_unsafe_character_is_encoded_uppercase(char: str) -> None:
    assert url_encode(f"a{char}b") == f"a%{ord(char):02X}b"


def test_safe_characters_stay() -> None:
    safe = "AZaz09!$'()*,-./_~"
    assert url_encode(safe) == safe


def test_captured_examples() -> None:
    assert (
        url_encode("Sun, 22 Nov 2026 15:39:32 GMT") == "Sun,%2022%20Nov%202026%2015%3A39%3A32%20GMT"
    )
    assert url_encode("tone_stream://%(1000,0,440)") == "tone_stream%3A//%25(1000,0,440)"
    assert url_encode("Иван") == "%D0%98%D0%B2%D0%B0%D0%BD"
    assert url_encode("fd00::2") == "fd00%3A%3A2"


def test_pre_encoded_uppercase_passes_lowercase_does_not() -> None:
    assert url_encode("%41") == "%41"
    assert url_encode("%2f") == "%252f"
    assert url_encode("100%") == "100%25"


def test_decoding_accepts_any_hex_case() -> None:
    assert url_decode("a%2fb%2Fc") == "a/b/c"
    assert url_decode_bytes(b"%D0%98") == "И"
    assert url_decode("plain") == "plain"
    assert url_decode("%0A") == "\n"
