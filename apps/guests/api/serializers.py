from rest_framework import serializers

from apps.guests.models import Guest
from apps.guests.services import GuestAccess
from apps.proxmox.guests import POWER_ACTIONS
from pvecore.tags import split_tags


class GuestSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")
    tenant = serializers.CharField(source="tenant.slug", default=None, allow_null=True)
    plan = serializers.CharField(source="plan.slug", default=None, allow_null=True)
    tags = serializers.SerializerMethodField()

    def get_tags(self, guest: Guest) -> list[str]:
        return split_tags(guest.tags)

    class Meta:
        model = Guest
        fields = [
            "vmid",
            "name",
            "type",
            "status",
            "cluster",
            "node",
            "tenant",
            "plan",
            "pool",
            "cores",
            "memory_mb",
            "disk_gb",
            "tags",
            "notes",
            "lock",
            "last_seen_at",
            "vanished_at",
        ]
        read_only_fields = fields


class PowerActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(set().union(*POWER_ACTIONS.values())))


class GuestAccessSerializer(serializers.Serializer):
    """How the new system's owner gets in, and its address."""

    ssh_keys = serializers.CharField(
        required=False, allow_blank=True, help_text="OpenSSH public keys, one per line."
    )
    user = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="VMs: the cloud-init user."
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The cloud-init user's (VMs) or root's (containers) password.",
    )
    ipv4 = serializers.CharField(
        required=False, default="dhcp", help_text="'dhcp' or an address/prefix."
    )
    gateway = serializers.CharField(required=False, allow_blank=True)

    def access(self) -> GuestAccess:
        values = self.validated_data
        return GuestAccess(
            user=values.get("user", ""),
            password=values.get("password", ""),
            ssh_keys=values.get("ssh_keys", ""),
            ipv4=values.get("ipv4", "dhcp"),
            gateway=values.get("gateway", ""),
        )


SOURCES = ("template", "ostemplate", "iso")


class GuestCreateSerializer(GuestAccessSerializer):
    name = serializers.CharField(max_length=63)
    plan = serializers.SlugField(help_text="The plan's slug.")
    template = serializers.IntegerField(
        min_value=100, required=False, help_text="A VM cloned from the VM template with this VMID."
    )
    ostemplate = serializers.CharField(
        required=False, help_text="A container from this CT template (volume id)."
    )
    iso = serializers.CharField(
        required=False, help_text="A VM installed from this ISO image (volume id)."
    )
    tenant = serializers.CharField(required=False, help_text="Operators only: the tenant's slug.")
    node = serializers.CharField(
        required=False,
        help_text="Operators only (Sys.Modify on the node): place the guest on this node.",
    )

    def validate(self, data: dict) -> dict:
        if sum(source in data for source in SOURCES) != 1:
            raise serializers.ValidationError(
                "give one of template (a VM), iso (a VM to install) or ostemplate (a container)"
            )
        return data


class GuestReinstallSerializer(GuestAccessSerializer):
    template = serializers.IntegerField(
        min_value=100, required=False, help_text="VMs: the VMID of the VM template."
    )
    ostemplate = serializers.CharField(
        required=False, help_text="Containers: the volume id of the CT template."
    )


class GuestCloneSerializer(GuestAccessSerializer):
    name = serializers.CharField(max_length=63)
    plan = serializers.SlugField(
        required=False, help_text="The copy's plan (slug); the source's plan when omitted."
    )


class GuestUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(allow_blank=False), required=False, max_length=64
    )
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class GuestResizeSerializer(serializers.Serializer):
    plan = serializers.SlugField(help_text="The slug of the plan to move to.")


class BulkPowerSerializer(serializers.Serializer):
    vmids = serializers.ListField(
        child=serializers.IntegerField(min_value=100), min_length=1, max_length=500
    )


class BulkPowerResultSerializer(serializers.Serializer):
    operations = serializers.ListField(child=serializers.DictField())
    refused = serializers.DictField(
        child=serializers.CharField(), help_text="VMID -> why no operation was made for it."
    )
