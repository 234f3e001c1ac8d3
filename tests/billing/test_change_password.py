"""service.change_password on pvesim: through the guest agent of a running VM (and cloud-init's
cipassword kept in step), through cloud-init alone when the agent cannot be used, never for
containers; the password is nowhere in clear afterwards."""

import json

import pytest

from apps.billing.models import Service
from apps.guests.models import Guest
from apps.operations.models import Operation
from pvesim.api.agent import password_matches
from tests.billing.conftest import deliver, event
from tests.billing.test_end_to_end import accepted, plans, pve_config  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("plans", "worker")]


def _vm_service(service_id: str) -> Guest:
    """A running VM of a new customer, cloned from template 9000 (agent enabled), its
    cloud-init user 'alice'."""
    accepted(
        deliver(
            event(
                f"evt-create-{service_id}",
                "service.create",
                service=service_id,
                customer={"id": service_id, "name": "Password Co"},
                plan="small",
                template=9000,
                hostname=service_id,
                credentials={"user": "alice", "password": "first-pw-1"},
            )
        )
    )
    return Service.objects.get(external_id=service_id).guest


def _change_password(service_id: str, event_id: str, **data: str) -> Operation:
    (operation,) = accepted(
        deliver(event(event_id, "service.change_password", service=service_id, **data))
    )
    return operation


def _agent_passwords(pvesim, guest: Guest) -> dict[str, str]:
    """What the simulated guest's agent has set (user -> hash), as its /etc/shadow would."""
    path = pvesim.data_dir / "guest-agent" / f"{guest.vmid}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _agent_log(operation: Operation) -> str:
    return operation.steps.get(name="guest_agent_password").task_log


def _no_secret_left(operation: Operation, password: str) -> None:
    operation.refresh_from_db()
    assert password not in json.dumps(operation.params)
    assert not any("password_encrypted" in step for step in operation.params["steps"])
    assert all(password not in step.task_log for step in operation.steps.all())


def test_a_running_vm_gets_its_password_through_the_agent_at_once(pvesim, pvesim_root) -> None:
    guest = _vm_service("svc-agent")
    vm = pvesim_root.nodes(guest.node).qemu(guest.vmid)
    uptime_before = vm.status.current.get()["uptime"]

    operation = _change_password("svc-agent", "evt-agent-pw", password="agent-pw-2")

    assert password_matches(_agent_passwords(pvesim, guest)["alice"], "agent-pw-2")
    assert _agent_log(operation) == "password of 'alice' set through the QEMU guest agent"
    # cloud-init holds the same password, so a reboot or reinstall keeps it.
    assert "cipassword" in pve_config(pvesim_root, guest)
    current = vm.status.current.get()
    assert current["status"] == "running"
    assert current["uptime"] >= uptime_before  # not rebooted for it
    _no_secret_left(operation, "agent-pw-2")


def test_a_vm_without_a_cloud_init_user_gets_the_events_user_or_root(pvesim, pvesim_root) -> None:
    guest = _vm_service("svc-nouser")
    pvesim_root.nodes(guest.node).qemu(guest.vmid).config.put(delete="ciuser")

    _change_password("svc-nouser", "evt-nouser-1", password="admin-pw-1", username="admin")
    _change_password("svc-nouser", "evt-nouser-2", password="root-pw-1")

    passwords = _agent_passwords(pvesim, guest)
    assert password_matches(passwords["admin"], "admin-pw-1")
    assert password_matches(passwords["root"], "root-pw-1")
    bad_user = deliver(
        event(
            "evt-nouser-3",
            "service.change_password",
            service="svc-nouser",
            password="pw-12345",
            username="Not Valid",
        )
    )
    assert bad_user.status_code == 409, bad_user.content
    assert "login name" in bad_user.content.decode()


def test_a_stopped_vm_gets_its_password_through_cloud_init_at_next_boot(
    pvesim, pvesim_root
) -> None:
    guest = _vm_service("svc-stopped")
    accepted(deliver(event("evt-stop", "service.suspend", service="svc-stopped")))
    accepted(deliver(event("evt-resume", "service.unsuspend", service="svc-stopped")))
    assert pvesim_root.nodes(guest.node).qemu(guest.vmid).status.current.get()["status"] == (
        "stopped"
    )

    operation = _change_password("svc-stopped", "evt-stopped-pw", password="boot-pw-3")

    assert _agent_passwords(pvesim, guest) == {}
    assert "cipassword" in pve_config(pvesim_root, guest)
    assert _agent_log(operation) == (
        f"the QEMU guest agent cannot be used (VM {guest.vmid} is not running): the new password"
        " takes effect through cloud-init (cipassword) at the VM's next boot"
    )
    assert pvesim_root.nodes(guest.node).qemu(guest.vmid).status.current.get()["status"] == (
        "stopped"
    )
    _no_secret_left(operation, "boot-pw-3")


def test_a_running_vm_without_an_agent_falls_back_to_cloud_init(pvesim, pvesim_root) -> None:
    guest = _vm_service("svc-noagent")
    pvesim_root.nodes(guest.node).qemu(guest.vmid).config.put(agent="0")

    operation = _change_password("svc-noagent", "evt-noagent-pw", password="boot-pw-4")

    assert _agent_passwords(pvesim, guest) == {}
    assert "No QEMU guest agent configured" in _agent_log(operation)
    assert "next boot" in _agent_log(operation)
    assert "cipassword" in pve_config(pvesim_root, guest)


def test_an_agent_that_times_out_leaves_the_password_to_cloud_init(
    pvesim, pvesim_root, pvesim_faults
) -> None:
    guest = _vm_service("svc-hung")
    timeout = f"VM {guest.vmid} qmp command 'guest-set-user-password' failed - got timeout"
    pvesim_faults(
        rules=[
            {
                "match": f"^POST /nodes/[^/]+/qemu/{guest.vmid}/agent/set-user-password$",
                "error_rate": 1.0,
                "status": 500,
                "message": timeout,
            }
        ]
    )

    operation = _change_password("svc-hung", "evt-hung-pw", password="boot-pw-5")

    assert _agent_passwords(pvesim, guest) == {}
    assert _agent_log(operation).startswith(f"the QEMU guest agent cannot be used ({timeout})")
    assert "cipassword" in pve_config(pvesim_root, guest)
