"""The task panel at the bottom of every signed-in page: the shell in base.html costs the page no
query; its rows (GET /operations/task-panel/) are the latest operations the user may see,
newest first, each linking to its task log, in a constant number of queries."""

import re

import pytest
from django.test import Client

from apps.audit.services import Actor
from apps.operations.models import Operation, Step
from apps.operations.services import operation_create
from apps.operations.views import TASK_PANEL_ROWS

pytestmark = pytest.mark.django_db

PANEL_URL = "/operations/task-panel/"


def start_operations(portal, guests) -> list[Operation]:
    return [
        operation_create(
            kind="guest.start",
            cluster=portal.cluster,
            guest=guest,
            tenant=portal.acme,
            target=guest.acl_path,
            actor=Actor.user(portal.alice),
            steps=[("guest_power", {"action": "start"}), ("guest_wait", {})],
        )
        for guest in guests
    ]


def foreign_operation(portal) -> Operation:
    return operation_create(
        kind="guest.stop",
        cluster=portal.cluster,
        guest=portal.foreign,
        tenant=portal.other,
        target=portal.foreign.acl_path,
        actor=Actor.system(),
        steps=[("guest_power", {"action": "stop"})],
    )


def panel_rows(client: Client) -> list[str]:
    return re.findall(r'data-task="([^"]+)"', client.get(PANEL_URL).content.decode())


def test_every_signed_in_page_has_the_panel_shell_and_no_rows_of_its_own(portal) -> None:
    (guest,) = portal.add_guests(1)
    for url in ("/", "/guests/", f"/guests/{guest.vmid}/", "/operations/", "/account/sessions/"):
        page = portal.client.get(url).content.decode()
        assert '<section class="task-panel' in page, url
        assert 'aria-label="Tasks"' in page, url
        assert re.search(
            r'<button[^>]*aria-expanded="false"[^>]*aria-controls="task-panel-rows"', page
        ), url
        assert 'data-url="/operations/task-panel/"' in page, url
        assert 'src="/static/operations/task-panel.js"' in page, url
        assert "data-task=" not in page, url  # the rows come after the page has loaded


def test_a_console_takes_the_window_without_the_panel(portal) -> None:
    (guest,) = portal.add_guests(1)
    response = portal.client.get(f"/guests/{guest.vmid}/console/")
    assert response.status_code == 200
    assert "task-panel.js" not in response.content.decode()


def test_a_signed_out_page_has_no_panel() -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert 'name="password"' in page
    assert "<section" not in page
    assert "task-panel.js" not in page


def test_the_rows_need_a_login() -> None:
    response = Client().get(PANEL_URL)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_rows_are_the_latest_visible_operations_newest_first(portal) -> None:
    operations = start_operations(portal, portal.add_guests(3))
    foreign = foreign_operation(portal)
    rows = panel_rows(portal.client)
    assert rows == [str(operation.pk) for operation in reversed(operations)]
    assert str(foreign.pk) not in rows

    fragment = portal.client.get(PANEL_URL).content.decode()
    assert "<html" not in fragment
    newest = operations[-1]
    assert f'<a href="/operations/{newest.pk}/">Start</a>' in fragment
    assert f"{newest.guest}</td>" in fragment
    assert "alice@pve" in fragment
    assert 'data-task-state="pending"' in fragment


def test_at_most_ten_rows(portal) -> None:
    start_operations(portal, portal.add_guests(TASK_PANEL_ROWS + 2))
    newest_ten = Operation.objects.order_by("-created_at")[:TASK_PANEL_ROWS]
    assert panel_rows(portal.client) == [str(operation.pk) for operation in newest_ten]


def test_an_unfinished_row_shows_its_steps_done_a_finished_one_its_error(portal) -> None:
    running, failed = start_operations(portal, portal.add_guests(2))
    Operation.objects.filter(pk=running.pk).update(state="running")
    Step.objects.filter(operation=running, position=0).update(state="done")
    Operation.objects.filter(pk=failed.pk).update(state="failed", error="VM is locked (backup)")
    fragment = portal.client.get(PANEL_URL).content.decode()
    running_row, failed_row = (
        re.search(rf'data-task="{operation.pk}".*?</tr>', fragment, re.DOTALL).group(0)
        for operation in (running, failed)
    )
    assert 'aria-valuenow="1"' in running_row
    assert 'aria-valuemax="2"' in running_row
    assert 'style="width: 50%"' in running_row
    assert "1/2" in running_row
    assert "VM is locked (backup)" in failed_row
    assert "progressbar" not in failed_row


def test_an_empty_panel_says_so(portal) -> None:
    assert "No operations yet." in portal.client.get(PANEL_URL).content.decode()


def test_an_operator_sees_every_tenants_operations(portal, operator) -> None:
    (own,) = start_operations(portal, portal.add_guests(1))
    foreign = foreign_operation(portal)
    client = Client()
    client.force_login(operator)
    assert set(panel_rows(client)) == {str(own.pk), str(foreign.pk)}


def test_the_rows_take_the_same_queries_at_three_and_at_thirty_operations(
    portal, django_assert_num_queries
) -> None:
    for count, start in ((3, 1000), (27, 2000)):
        start_operations(portal, portal.add_guests(count, start=start))
        portal.client.get(PANEL_URL)  # warm: the access model, compiled again for new guests
        with django_assert_num_queries(PANEL_QUERIES):
            assert len(panel_rows(portal.client)) == min(count, TASK_PANEL_ROWS)


# The session, user and allauth's user-session bookkeeping every request pays, the visible
# guests, the operations and their steps.
PANEL_QUERIES = 9
