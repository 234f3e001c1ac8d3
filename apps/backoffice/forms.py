"""The back-office's filter forms. A field that does not validate filters nothing."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.clusters.models import VMID_MAX, VMID_MIN
from apps.tenancy.models import Tenant


class OperationFilterForm(forms.Form):
    errors_only = forms.BooleanField(label=_("Errors only"), required=False)
    vmid = forms.IntegerField(
        label=_("Guest (VMID)"), required=False, min_value=VMID_MIN, max_value=VMID_MAX
    )
    kind = forms.CharField(label=_("Type"), required=False, max_length=64)
    actor = forms.CharField(label=_("User"), required=False, max_length=160)
    tenant = forms.CharField(label=_("Tenant"), required=False, max_length=64)
    cluster = forms.CharField(label=_("Cluster"), required=False, max_length=64)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Who"), required=False, max_length=160)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=64,
        help_text=_("The start of it: tenancy. finds every tenancy event."),
    )
    target = forms.CharField(label=_("Object"), required=False, max_length=255)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class TenantFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *Tenant.Status.choices],
    )


def valid_filters(form: forms.Form) -> dict[str, object]:
    """What the form's valid fields say; an invalid field is left out (shown with its error)."""
    form.is_valid()
    return {name: value for name, value in form.cleaned_data.items() if value not in ("", None)}
