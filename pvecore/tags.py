"""Guest tags: PVE's list syntax and the web UI's colour derivation.

The colour follows proxmox-widget-toolkit `Proxmox.Utils.stringToRGB` (a 32-bit string hash
blended 70 % over white) and `getTextContrastClass` (simplified SAPC contrast: 'light' means
white text reads better, 'dark' means black text).
"""

import math
import re
from collections.abc import Iterable

from pvecore.text import split_list

_TAG_RE = re.compile(r"[a-z0-9_][a-z0-9_\-+.]*", re.IGNORECASE)

_ALPHA = 0.7  # make the colour a bit brighter
_BACKGROUND = 255  # assumes a white page
_WHITE = "#ffffff"
_BLACK = "#000000"


def split_tags(text: str) -> list[str]:
    """Tags as PVE splits the `tags` option: on ';', ',' and whitespace."""
    return split_list(text)


def is_valid_tag(tag: str) -> bool:
    """PVE's `pve-tag` format."""
    return _TAG_RE.fullmatch(tag) is not None


def join_tags(tags: Iterable[str]) -> str:
    """The `tags` option value: ';'-separated, duplicates dropped, order kept."""
    return ";".join(dict.fromkeys(tags))


def _string_hash(text: str) -> int:
    # JavaScript: hash = charCode + ((hash << 5) - hash), kept to 32 bits, over UTF-16 units.
    value = 0
    encoded = text.encode("utf-16-le")
    for index in range(0, len(encoded), 2):
        code_unit = encoded[index] | (encoded[index + 1] << 8)
        value = (code_unit + (value << 5) - value) & 0xFFFFFFFF
    return value


def _js_round(value: float) -> int:
    return math.floor(value + 0.5)


def tag_rgb(tag: str) -> tuple[float, float, float]:
    """The unrounded background colour the web UI uses for `tag`."""
    value = _string_hash(tag + "prox")  # the suffix gives short strings more variance
    return (
        (value & 255) * _ALPHA + _BACKGROUND * (1 - _ALPHA),
        ((value >> 8) & 255) * _ALPHA + _BACKGROUND * (1 - _ALPHA),
        ((value >> 16) & 255) * _ALPHA + _BACKGROUND * (1 - _ALPHA),
    )


def text_contrast_class(rgb: tuple[float, float, float]) -> str:
    """'light' (white text) or 'dark' (black text) for a background colour."""
    black_threshold = 0.022
    black_clamp = 1.414
    red, green, blue = ((channel / 255) ** 2.4 for channel in rgb)
    luminance = red * 0.2126729 + green * 0.7151522 + blue * 0.0721750
    if luminance <= black_threshold:
        luminance += (black_threshold - luminance) ** black_clamp
    contrast_light = luminance**0.65 - 1
    contrast_dark = luminance**0.56 - 0.046134502
    return "light" if abs(contrast_light) >= abs(contrast_dark) else "dark"


def tag_color(tag: str) -> tuple[str, str]:
    """(background, text) colours as '#rrggbb', as the PVE web UI shows `tag`."""
    rgb = tag_rgb(tag)
    background = "#" + "".join(f"{_js_round(channel):02x}" for channel in rgb)
    text = _WHITE if text_contrast_class(rgb) == "light" else _BLACK
    return background, text
