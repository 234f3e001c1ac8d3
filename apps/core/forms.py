"""Shared form helpers for the portal's pages."""

from django import forms


class BootstrapForm(forms.Form):
    """Gives widgets Bootstrap's classes, and `is-invalid` to fields with errors. Django itself
    adds `aria-describedby` (help text) and `aria-invalid` (errors)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(
                widget, forms.RadioSelect | forms.CheckboxSelectMultiple | forms.CheckboxInput
            ):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
