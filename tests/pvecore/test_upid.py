"""UPIDs and task statuses, with the vectors of pve-common test/upid-test.pl (FACTS.md 5, 6)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pvecore.upid import (
    Upid,
    exitstatus_from_last_line,
    exitstatus_is_ok,
    normalize_status_type,
)

# upid-test.pl: input string and the decoded fields.
VECTORS = [
    (
        "UPID:example-node:0000C346:165A0CE4:68D7279C:aptupdate::root@pam:",
        Upid("example-node", 49990, 375000292, 1758930844, "aptupdate", "", "root@pam"),
    ),
    (
        "UPID:example-node:000934AF:0D015579:68BF3A41:hastart:100:root@pam:",
        Upid("example-node", 603311, 218191225, 1757362753, "hastart", "100", "root@pam"),
    ),
    (
        "UPID:example-node:000934AF:0D015579:68BF3A41:vzdump:100:"
        "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token:",
        Upid(
            "example-node",
            603311,
            218191225,
            1757362753,
            "vzdump",
            "100",
            "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam!some-token",
        ),
    ),
    (
        "UPID:example-node:000934AF:FFFFFFFFF:68BF3A41:fake-but-valid-type:100:root@pam:",
        Upid(
            "example-node",
            603311,
            68719476735,
            1757362753,
            "fake-but-valid-type",
            "100",
            "root@pam",
        ),
    ),
]


@pytest.mark.parametrize(("text", "upid"), VECTORS)
def test_decode_and_encode_official_vectors(text: str, upid: Upid) -> None:
    assert Upid.decode(text) == upid
    assert upid.encode() == text


@pytest.mark.parametrize(
    "text",
    [
        "UPID:example-node:000934AF:0D015579:68BF3A41:broken type string:100:root@pam:",
        "invalid garbage",
        "UPID:example-node:000934AF:0D015579:68BF3A41:vzdump:100:root@pam",  # no trailing ':'
        "UPID:-node:000934AF:0D015579:68BF3A41:vzdump:100:root@pam:",
        "UPID:node:934AF:0D015579:68BF3A41:vzdump:100:root@pam:",
    ],
)
def test_decode_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"^unable to parse worker upid$"):
        Upid.decode(text)


def test_lower_case_hex_is_accepted() -> None:
    upid = Upid.decode("UPID:pve1:0000c346:165a0ce4:68d7279c:qmstart:100:root@pam:")
    assert (upid.pid, upid.starttime) == (49990, 1758930844)
    assert upid.encode() == "UPID:pve1:0000C346:165A0CE4:68D7279C:qmstart:100:root@pam:"


def test_user_and_token_split_like_the_task_api() -> None:
    token_task = Upid.decode(VECTORS[2][0])
    assert token_task.userid == "91a1da29-a47d-11f0-84e0-fafbfc944d00@pam"
    assert token_task.tokenid == "some-token"
    user_task = Upid.decode(VECTORS[0][0])
    assert (user_task.userid, user_task.tokenid) == ("root@pam", None)


def test_task_log_subdir_is_last_hex_digit_of_starttime() -> None:
    # upid-test.pl reads these logs from /var/log/pve/tasks/C/.
    assert Upid.decode(VECTORS[0][0]).task_log_subdir == "C"
    assert Upid.decode(VECTORS[1][0]).task_log_subdir == "1"


@pytest.mark.parametrize(
    ("last_line", "exitstatus"),
    [
        ("TASK OK", "OK"),
        ("TASK ERROR: Some error message", "Some error message"),
        ("TASK WARNINGS: 42", "WARNINGS: 42"),
        ("", "unexpected status"),
        ("Some log line", "unexpected status"),
        ("TASK WARNINGS: many", "unexpected status"),
    ],
)
def test_exitstatus_from_last_line(last_line: str, exitstatus: str) -> None:
    assert exitstatus_from_last_line(last_line) == exitstatus


@pytest.mark.parametrize(
    ("exitstatus", "is_ok", "kind"),
    [
        ("OK", True, "ok"),
        ("WARNINGS: 3", True, "warning"),
        ("VM 100 already running", False, "error"),
        ("interrupted by signal", False, "error"),
        ("unexpected status", False, "unknown"),
        ("", False, "unknown"),
    ],
)
def test_status_classification(exitstatus: str, is_ok: bool, kind: str) -> None:
    assert exitstatus_is_ok(exitstatus) is is_ok
    assert normalize_status_type(exitstatus) == kind


_field = st.text(
    st.characters(exclude_characters=":/", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
    min_size=1,
    max_size=12,
).filter(lambda s: not any(c.isspace() for c in s))


@given(
    node=st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9\-]{0,10}[a-zA-Z0-9])?", fullmatch=True),
    pid=st.integers(0, 2**32 - 1),
    pstart=st.integers(0, 2**36 - 1),
    starttime=st.integers(0, 2**32 - 1),
    task_type=_field,
    task_id=st.one_of(st.just(""), _field),
    user=st.sampled_from(["root@pam", "ann@pve", "ann@pve!ci"]),
)
def test_encode_decode_round_trip(
    node: str, pid: int, pstart: int, starttime: int, task_type: str, task_id: str, user: str
) -> None:
    upid = Upid(node, pid, pstart, starttime, task_type, task_id, user)
    assert Upid.decode(upid.encode()) == upid
