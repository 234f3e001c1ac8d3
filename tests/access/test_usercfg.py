"""`pveum evaluate`, `import-usercfg` and `export-usercfg` on user.cfg files in PVE's format."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.access.models import AclEntry, ApiToken, Group, Pool, Role
from apps.audit.models import AuditEvent
from apps.identity.models import User
from tests.conftest import REPO_ROOT

USERCFG = Path(__file__).parent / "usercfg"
VECTORS = ["test1", "test3", "test4", "test6", "test8"]


def _pveum(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    extra = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    call_command("pveum", *args, stdout=out, **extra)
    return out.getvalue()


def _requests(name: str) -> tuple[str, list[dict]]:
    expected = [
        json.loads(line) for line in (USERCFG / f"{name}.expected.jsonl").read_text().splitlines()
    ]
    stdin = "".join(
        json.dumps({"subject": case["subject"], "path": case["path"]}) + "\n" for case in expected
    )
    return stdin, expected


# evaluate: no database at all --------------------------------------------------------------------


@pytest.mark.parametrize("name", VECTORS)
def test_evaluate_reproduces_the_pve_vectors(name: str) -> None:
    # No django_db mark: any query would fail this test.
    stdin, expected = _requests(name)
    output = _pveum("evaluate", "--usercfg", str(USERCFG / f"{name}.cfg"), stdin=stdin)
    assert [json.loads(line) for line in output.splitlines()] == expected


def test_evaluate_reports_the_line_of_bad_input() -> None:
    with pytest.raises(CommandError, match="line 2"):
        _pveum(
            "evaluate",
            "--usercfg",
            str(USERCFG / "test1.cfg"),
            stdin='{"subject": "max@pve", "path": "/"}\n{"subject": "max@pve"}\n',
        )


def test_evaluate_runs_without_any_database_server(tmp_path: Path) -> None:
    stdin, expected = _requests("test8")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        # Nothing listens there: one query and the command would fail.
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing",
        "REDIS_URL": "",
        "PORTAL_DATA_DIR": str(tmp_path),
        "PORTAL_READ_DOT_ENV": "false",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "pveum",
            "evaluate",
            "--usercfg",
            "tests/access/usercfg/test8.cfg",
        ],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected


# import and export -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_then_export_round_trips() -> None:
    original = (USERCFG / "roundtrip.cfg").read_text()
    report = json.loads(_pveum("import-usercfg", str(USERCFG / "roundtrip.cfg")))
    assert sorted(report["created"]["users"]) == ["ann@pve", "carol@pam", "max@pve"]
    assert report["acl_entries"] == 5
    assert _pveum("export-usercfg") == original

    ann = User.objects.get(username="ann@pve")
    assert (ann.is_active, int(ann.expire.timestamp()), ann.last_name) == (
        False,
        1767225600,
        "Müller",
    )
    assert ApiToken.objects.get(name="deploy").comment == "deploy bot"
    assert AuditEvent.objects.filter(action="access.usercfg_imported").count() == 1

    again = json.loads(_pveum("import-usercfg", str(USERCFG / "roundtrip.cfg")))
    assert "users" not in again["created"]
    assert "tokens" not in again["created"]
    assert again["acl_entries"] == 0
    assert _pveum("export-usercfg") == original


@pytest.mark.django_db
def test_export_to_a_file(tmp_path: Path) -> None:
    _pveum("import-usercfg", str(USERCFG / "test6.cfg"))
    target = tmp_path / "user.cfg"
    _pveum("export-usercfg", "--output", str(target))
    text = target.read_text()
    assert "pool:marketing/interns:MITS marketing intern:700:store3:" in text
    assert "acl:1:/pool/marketing/interns:@INTERNS:RoleINTERN:" in text


@pytest.mark.django_db
def test_import_skips_root_and_paths_the_api_refuses() -> None:
    report = json.loads(_pveum("import-usercfg", str(USERCFG / "test1.cfg")))
    assert "acl /users max@pve Administrator (invalid path)" in report["skipped"]
    assert not AclEntry.objects.filter(path="/users").exists()
    assert not User.objects.filter(username="root@pam").exists()
    assert Role.objects.get(name="vm_admin").privileges == [
        "Permissions.Modify",
        "VM.Allocate",
        "VM.Audit",
        "VM.Console",
    ]


@pytest.mark.django_db
def test_import_with_an_unknown_realm_changes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "user.cfg"
    cfg.write_text(
        "user:ann@pve:1:0::::::\nuser:bob@corp:1:0::::::\n\ngroup:ops:ann@pve,bob@corp::\n"
    )
    with pytest.raises(CommandError, match="realm\\(s\\) corp do not exist"):
        _pveum("import-usercfg", str(cfg))
    assert not User.objects.filter(username="ann@pve").exists()
    assert not Group.objects.exists()
    assert not Pool.objects.exists()
