"""Tag syntax and the web UI's tag colours (proxmox-widget-toolkit stringToRGB and
getTextContrastClass). Colour vectors were computed by running a transcription of those two
JavaScript functions under node.js, rounded as the UI's rgbToHex does."""

import pytest

from pvecore.tags import (
    is_valid_tag,
    join_tags,
    split_tags,
    tag_color,
    tag_rgb,
    text_contrast_class,
)


def test_split_tags_on_all_separators() -> None:
    assert split_tags("prod;web, db  backup") == ["prod", "web", "db", "backup"]
    assert split_tags("") == []


@pytest.mark.parametrize(
    ("tag", "valid"),
    [
        ("prod", True),
        ("Web_1", True),
        ("_x", True),
        ("a.b+c-d", True),
        ("-x", False),
        ("a b", False),
    ],
)
def test_is_valid_tag(tag: str, valid: bool) -> None:
    assert is_valid_tag(tag) is valid


def test_join_tags_semicolon_and_unique() -> None:
    assert join_tags(["prod", "web", "prod"]) == "prod;web"


# (tag, rounded background, contrast class) from node.js.
JS_VECTORS = [
    ("prod", (123, 213, 105), "dark"),
    ("web", (210, 191, 250), "dark"),
    ("a", (130, 174, 174), "dark"),
    ("db", (240, 121, 120), "light"),
    ("backup-daily", (206, 140, 132), "light"),
    ("k8s", (133, 139, 135), "light"),
    ("ÄÖü", (91, 116, 170), "light"),
    ("日本", (224, 91, 134), "light"),
    ("emoji😀", (91, 252, 128), "dark"),  # outside the BMP: two UTF-16 code units
    ("critical", (173, 112, 209), "light"),
]


@pytest.mark.parametrize(("tag", "rgb", "contrast"), JS_VECTORS)
def test_colours_match_the_web_ui(tag: str, rgb: tuple[int, int, int], contrast: str) -> None:
    background, text = tag_color(tag)
    assert background == "#{:02x}{:02x}{:02x}".format(*rgb)
    assert text_contrast_class(tag_rgb(tag)) == contrast
    assert text == ("#ffffff" if contrast == "light" else "#000000")


def test_colour_channels_are_blended_over_white() -> None:
    # 70 % of a byte plus 30 % of white: always between 76.5 and 255.
    for channel in tag_rgb("anything"):
        assert 76.5 <= channel <= 255
