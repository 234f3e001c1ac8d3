"""User and token ids (FACTS.md section 4; PVE::Auth::Plugin and AccessControl regexes)."""

import pytest

from pvecore.ids import (
    is_tokenid,
    is_userid,
    is_valid_pool_name,
    split_tokenid,
    split_userid,
)


@pytest.mark.parametrize(
    ("userid", "parts"),
    [
        ("root@pam", ("root", "pam")),
        ("john.doe@example-ad", ("john.doe", "example-ad")),
        ("a@b@pve", ("a@b", "pve")),  # the realm follows the last '@'
        (
            "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam",
            ("91a1da29-a47d-11f0-84e0-fafbfc944d00", "pam"),
        ),
    ],
)
def test_split_userid(userid: str, parts: tuple[str, str]) -> None:
    assert split_userid(userid) == parts
    assert is_userid(userid)


@pytest.mark.parametrize("userid", ["root", "root@p", "ro ot@pam", "a:b@pve", "a/b@pve", "@pve"])
def test_invalid_userids(userid: str) -> None:
    assert not is_userid(userid)
    with pytest.raises(ValueError, match="does not look like a valid user name"):
        split_userid(userid)


def test_userid_length_limit() -> None:
    long_userid = "u" * 61 + "@pve"  # 65 characters, one over the limit
    assert not is_userid(long_userid)
    with pytest.raises(ValueError, match="too long"):
        split_userid(long_userid)


def test_split_tokenid() -> None:
    assert split_tokenid("portal@pve!automation") == ("portal@pve", "automation")
    assert split_tokenid("a@pve!x.y-z_1") == ("a@pve", "x.y-z_1")
    assert is_tokenid("portal@pve!automation")
    assert not is_userid("portal@pve!automation")


@pytest.mark.parametrize("tokenid", ["portal@pve", "portal@pve!", "portal@pve!1abc", "portal!x"])
def test_invalid_tokenids(tokenid: str) -> None:
    assert not is_tokenid(tokenid)
    with pytest.raises(ValueError, match="not a valid token ID"):
        split_tokenid(tokenid)


@pytest.mark.parametrize(
    ("name", "valid"), [("a", True), ("a/b/c", True), ("a/b/c/d", False), ("a b", False)]
)
def test_pool_names(name: str, valid: bool) -> None:
    assert is_valid_pool_name(name) is valid
