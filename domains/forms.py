"""Dashboard forms for sending domains. They check shape only; the services decide."""

from django import forms
from django.conf import settings

from accounts.forms import add_tenant_field
from accounts.models import Organization


class AddDomainForm(forms.Form):
    domain = forms.CharField(
        label="Domain",
        max_length=253,
        help_text=(
            "We recommend a subdomain such as mail.yourcompany.com or send.yourcompany.com: "
            "it keeps this mail's reputation apart from your main domain's."
        ),
        widget=forms.TextInput(
            attrs={
                "placeholder": "mail.yourcompany.com",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    # The service names the field it refuses as `name`, `domain` or `tenant_id`.
    error_aliases = {"name": "domain", "tenant_id": "tenant", "tenantId": "tenant"}

    def __init__(self, *args: object, organization: Organization, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        add_tenant_field(self, organization)


class WarmupForm(forms.Form):
    total_days = forms.IntegerField(
        label="Warmup length (days)",
        min_value=1,
        max_value=60,
        initial=14,
        help_text="Day 1 allows 50 recipients, doubling each day until the warmup ends.",
    )


class RegionForm(forms.Form):
    region = forms.ChoiceField(label="Region")
    fallback_region = forms.ChoiceField(label="Fallback region", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        regions = [(r, r) for r in settings.SES_ALLOWED_REGIONS]
        self.fields["region"].choices = regions
        self.fields["fallback_region"].choices = [("", "None"), *regions]


class TenantForm(forms.Form):
    error_aliases = {"tenant_id": "tenant"}

    def __init__(self, *args: object, organization: Organization, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        add_tenant_field(self, organization, always=True)


class TestEmailForm(forms.Form):
    to = forms.EmailField(label="Send a test email to", max_length=254)


class DeleteForm(forms.Form):
    confirm = forms.CharField(label="Type the domain's name to confirm", max_length=253)

    def __init__(self, *args: object, names: tuple[str, str], **kwargs: object) -> None:
        """`names`: the display (Unicode) spelling first, then the ASCII one; either is
        accepted."""
        super().__init__(*args, **kwargs)
        self.names = names

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip().rstrip(".").lower()
        if typed not in {name.lower() for name in self.names}:
            raise forms.ValidationError(f"Type {self.names[0]} exactly to delete it.")
        return typed
