"""Forms of the guest pages: they parse input; the services decide (apps/guests/services)."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapForm
from apps.guests.services import GuestAccess
from apps.guests.services.lifecycle import NOTES_MAX_LENGTH
from apps.tenancy.services import QuotaExceeded
from pvecore.tags import split_tags

BULK_ACTIONS = ("start", "shutdown", "stop")


def error_text(error: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one line for the page."""
    return "; ".join(getattr(error, "messages", None) or [str(error)])


def field_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields (the rest on the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


# What a service refuses a page's request with: the quota, its rules, the actor's rights.
SERVICE_REFUSALS = (QuotaExceeded, ValidationError, PermissionDenied)


def refusal_on_form(
    form: forms.Form, error: QuotaExceeded | ValidationError | PermissionDenied
) -> int:
    """Put a service's refusal on the form; the status the page answers with."""
    if isinstance(error, QuotaExceeded):
        form.add_error(None, str(error))
        return 409
    if isinstance(error, ValidationError):
        field_errors(form, error)
    else:
        form.add_error(None, error_text(error))
    return 400


class GuestFilterForm(BootstrapForm):
    """The guest list's search and filters (GET)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    state = forms.CharField(label=_("State"), required=False, max_length=16)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)


class BulkPowerForm(BootstrapForm):
    action = forms.ChoiceField(label=_("Action"), choices=[(a, a) for a in BULK_ACTIONS])
    vmids = forms.TypedMultipleChoiceField(label=_("Guests"), coerce=int, choices=())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Any VMID parses; which exist and are the actor's is the selector's business.
        values = self.data.getlist("vmids") if hasattr(self.data, "getlist") else []
        self.fields["vmids"].choices = [(v, v) for v in values if str(v).isdigit()][:500]


class GuestSettingsForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=63)
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=255,
        help_text=_("Separated by spaces, commas or semicolons (letters, digits, - _ + .)."),
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=NOTES_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown."),
    )

    def cleaned_tags(self) -> list[str]:
        return split_tags(self.cleaned_data.get("tags", ""))


class GuestDeleteForm(BootstrapForm):
    confirm = forms.CharField(label=_("Type the guest's name to confirm"), max_length=128)

    def __init__(self, *args, expected: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.expected:
            raise forms.ValidationError(_("That is not the guest's name."))
        return value


# The create wizard: one form per step; later steps carry the earlier answers as hidden fields.
class PlanStepForm(BootstrapForm):
    plan = forms.ChoiceField(label=_("Plan"), widget=forms.RadioSelect)
    tenant = forms.ChoiceField(label=_("Tenant"), required=False)

    def __init__(self, *args, plans, tenants=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [(p.slug, p.name) for p in plans]
        if tenants is None:
            del self.fields["tenant"]
        else:
            self.fields["tenant"].required = True
            self.fields["tenant"].choices = [(t.slug, t.name) for t in tenants]


class SourceStepForm(BootstrapForm):
    source = forms.ChoiceField(label=_("Install from"), widget=forms.RadioSelect)

    def __init__(self, *args, sources, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [(value, label) for value, label, _group in sources]


class RegionStepForm(BootstrapForm):
    cluster = forms.ChoiceField(label=_("Region"), widget=forms.RadioSelect)

    def __init__(self, *args, regions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cluster"].choices = [(name, name) for name in regions]


class GuestAccessForm(BootstrapForm):
    """How the owner gets into a new or reinstalled system: the fields of GuestAccess."""

    user = forms.CharField(
        label=_("Login user"),
        required=False,
        max_length=32,
        help_text=_("VMs from a template: the cloud-init user (empty: the template's)."),
    )
    ssh_keys = forms.CharField(
        label=_("SSH public keys"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One OpenSSH public key per line."),
    )
    password = forms.CharField(
        label=_("Password"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=True, attrs={"autocomplete": "new-password"}),
    )
    ipv4 = forms.CharField(
        label=_("IPv4 address"),
        required=False,
        initial="dhcp",
        max_length=64,
        help_text=_("'dhcp', or an address with its prefix, e.g. 192.0.2.10/24."),
    )
    gateway = forms.CharField(label=_("IPv4 gateway"), required=False, max_length=64)

    def access(self) -> GuestAccess:
        data = self.cleaned_data
        return GuestAccess(
            user=data.get("user", ""),
            password=data.get("password", ""),
            ssh_keys=data.get("ssh_keys", ""),
            ipv4=data.get("ipv4") or "dhcp",
            gateway=data.get("gateway", ""),
        )


class AccessStepForm(GuestAccessForm):
    field_order = ("name",)
    name = forms.CharField(
        label=_("Name"),
        max_length=63,
        help_text=_("A DNS label: letters, digits and '-'."),
    )


# The guest page's Manage tab: one form each, prefixed, as they share the panel.
class ResizeForm(BootstrapForm):
    prefix = "resize"
    plan = forms.ChoiceField(label=_("New plan"))

    def __init__(self, *args, plans: list[tuple[str, str]], larger: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every plan on offer validates, so a smaller one gets the service's reason; the list
        # offers only those whose disk is at least the guest's.
        self.fields["plan"].choices = plans
        self.fields["plan"].widget.choices = [(s, label) for s, label in plans if s in larger]


class ReinstallForm(GuestAccessForm):
    prefix = "reinstall"
    field_order = ("source",)
    source = forms.ChoiceField(label=_("Install from"))
    confirm = forms.CharField(label=_("Type the guest's name to confirm"), max_length=128)

    def __init__(self, *args, sources: list[tuple[str, str]], expected: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = sources
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.expected:
            raise forms.ValidationError(_("That is not the guest's name."))
        return value


class CopyForm(BootstrapForm):
    prefix = "copy"
    name = forms.CharField(
        label=_("Name of the copy"),
        max_length=63,
        help_text=_("A DNS label: letters, digits and '-'."),
    )
    plan = forms.ChoiceField(label=_("Plan"))

    def __init__(self, *args, plans: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = plans


class SnapshotForm(BootstrapForm):
    prefix = "snapshot"  # its fields share the guest page with the settings form's
    name = forms.CharField(
        label=_("Snapshot name"),
        max_length=40,
        help_text=_("A letter, then letters, digits or _ (2 to 40 characters)."),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    vmstate = forms.BooleanField(
        label=_("Include the RAM state"),
        required=False,
        help_text=_("A rollback then resumes the VM where it was, instead of booting it."),
    )
