"""The step of service.change_password that reaches inside a running VM: its QEMU guest agent."""

from apps.clusters.services import client_for
from apps.core.crypto import decrypt_secret
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, Fail, StepResult, step_handler
from apps.proxmox import agent as pve_agent
from apps.proxmox import guests as pve_guests
from apps.proxmox.errors import ProxmoxError, ProxmoxOutcomeUnknown, ProxmoxUnavailable

DEFAULT_AGENT_USER = "root"


def _left_to_cloud_init(step: Step, error: ProxmoxError) -> StepResult:
    if not pve_agent.agent_unavailable(error):
        raise error
    step.task_log = (
        f"the QEMU guest agent cannot be used ({error.message}): the new password takes effect "
        "through cloud-init (cipassword) at the VM's next boot"
    )
    return Done()


@step_handler("guest_agent_password")
def run_guest_agent_password(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Set the password now through the agent, for the user cloud-init's `cipassword` belongs to
    (the VM's `ciuser`; without one the event's user, else root). An agent that cannot be used
    (VM stopped, no agent configured or answering) leaves it to cloud-init at the next boot."""
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    try:
        pve_agent.agent_ping(client, node=guest.node, vmid=guest.vmid)
    except ProxmoxError as error:
        return _left_to_cloud_init(step, error)
    config = pve_guests.guest_config(
        client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )
    username = config.get("ciuser") or params.get("username") or DEFAULT_AGENT_USER
    try:
        pve_agent.agent_set_user_password(
            client,
            node=guest.node,
            vmid=guest.vmid,
            username=username,
            password=decrypt_secret(params["password_encrypted"]),
        )
    except ProxmoxOutcomeUnknown as error:
        # Setting the same password again changes nothing if the first request arrived.
        raise ProxmoxUnavailable(error.message, status=error.status) from error
    except ProxmoxError as error:
        return _left_to_cloud_init(step, error)
    step.task_log = f"password of '{username}' set through the QEMU guest agent"
    return Done()
