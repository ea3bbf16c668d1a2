"""Dashboard forms of the accounts app. They check shape only; the services decide."""

from django import forms

from accounts.models import Organization, Tenant


def add_tenant_field(
    form: forms.Form, organization: Organization, *, always: bool = False, **options: str
) -> None:
    """Gives `form` a `tenant` field choosing one of the organization's tenants (or none):
    its cleaned value is the Tenant itself, and another organization's is not a choice.
    An organization without tenants gets no field, unless `always` (a form whose only
    purpose is the tenant)."""
    tenants = Tenant.objects.filter(organization=organization).order_by("name")
    if not always and not tenants.exists():
        return
    form.fields["tenant"] = forms.ModelChoiceField(
        queryset=tenants, required=False, empty_label="No tenant", label="Tenant", **options
    )


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="Where the key is used, so you know which to revoke: “CI”, “billing service”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
