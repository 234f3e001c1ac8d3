"""Shared text rules: PVE::Tools::split_list and the encode_text/decode_text pair."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pvecore.text import decode_text, encode_text, perl_truthy, split_list


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a,b;c d", ["a", "b", "c", "d"]),
        ("  store1   store2 ", ["store1", "store2"]),
        (",,;", []),
        ("a\0b c", ["a", "b c"]),  # NUL-separated lists keep their spaces
    ],
)
def test_split_list(text: str, items: list[str]) -> None:
    assert split_list(text) == items


def test_encode_text_escapes_separator_escape_control_and_non_ascii() -> None:
    assert encode_text("ops: on call") == "ops%3A on call"
    assert encode_text("100%\nMüller") == "100%25%0AM%C3%BCller"
    assert encode_text("plain text, (ok) ~") == "plain text, (ok) ~"


def test_decode_text_tolerates_bad_utf8() -> None:
    assert decode_text("M%C3%BCller") == "Müller"
    assert decode_text("%FF") == "\ufffd"


@given(st.text(st.characters(codec="utf-8")))
def test_encode_decode_round_trip(text: str) -> None:
    encoded = encode_text(text)
    assert ":" not in encoded
    assert "\n" not in encoded
    assert decode_text(encoded) == text


@pytest.mark.parametrize(
    ("value", "truthy"), [(None, False), ("", False), ("0", False), ("00", True), ("1", True)]
)
def test_perl_truthy(value: str | None, truthy: bool) -> None:
    assert perl_truthy(value) is truthy
