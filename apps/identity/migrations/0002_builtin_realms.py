"""The built-in realms every installation has, as in PVE: `pve` (default) and `pam` (off)."""

from django.db import migrations


def create_builtin_realms(apps, schema_editor):
    realm_model = apps.get_model("identity", "Realm")
    realm_model.objects.get_or_create(
        name="pve", defaults={"type": "pve", "default": True, "comment": "Portal accounts"}
    )
    # PAM logs in with this host's accounts: off until an operator enables it and lists users.
    realm_model.objects.get_or_create(
        name="pam",
        defaults={"type": "pam", "enabled": False, "comment": "Linux PAM standard authentication"},
    )


class Migration(migrations.Migration):
    dependencies = [("identity", "0001_initial")]

    operations = [migrations.RunPython(create_builtin_realms, migrations.RunPython.noop)]
