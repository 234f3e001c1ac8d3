"""Small text rules PVE's config files share (PVE::Tools / PVE::ParseUtils)."""

import re
from urllib.parse import quote, unquote

# encode_text keeps printable ASCII except ':' (the field separator) and '%' (the escape).
_ENCODE_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in ":%")


def split_list(text: str) -> list[str]:
    """`PVE::Tools::split_list`: items separated by ',', ';' or whitespace (or by NUL)."""
    if "\0" in text:
        return text.split("\0")
    return re.sub(r"[,;]", " ", text).split()


def encode_text(text: str) -> str:
    """`encode_text`: URI-escape UTF-8 bytes of control, non-ASCII, ':' and '%' characters."""
    return quote(text, safe=_ENCODE_SAFE, encoding="utf-8")


def decode_text(text: str) -> str:
    """`decode_text`: URI-unescape, then decode UTF-8 (malformed bytes become U+FFFD)."""
    return unquote(text, encoding="utf-8", errors="replace")


def perl_truthy(value: str | None) -> bool:
    """Perl's truth of a string field: undefined, '' and '0' are false."""
    return value not in (None, "", "0")
