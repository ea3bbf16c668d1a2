"""Dashboard forms for the storefront. They check shape only; the services decide."""

from typing import Any

from django import forms

from dnscheck.names import to_display
from storefronts.models import Storefront


class StorefrontSettingsForm(forms.Form):
    slug = forms.CharField(
        label="Slug",
        max_length=100,
        help_text="Your storefront's address on our site: /s/your-slug/.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    published = forms.BooleanField(
        label="Published",
        required=False,
        help_text="Only a published storefront is served, by its slug or by its custom domain.",
    )
    custom_domain = forms.CharField(
        label="Custom domain",
        max_length=1000,  # as the API: the service names what is wrong with a long one
        required=False,
        help_text="A domain you own, such as shop.yourcompany.com. Leave empty to remove it.",
        widget=forms.TextInput(
            attrs={
                "placeholder": "shop.yourcompany.com",
                "autocomplete": "off",
                "spellcheck": "false",
                "inputmode": "url",
            }
        ),
    )
    # The service names the fields it refuses as the API does.
    error_aliases = {"customDomain": "custom_domain"}

    def add_error(self, field: str | None, error: Any) -> None:
        """Any refusal, the form's own or the service's, puts the cursor where the first
        problem is when the page comes back."""
        super().add_error(field, error)
        self.focus_first_error()

    def focus_first_error(self) -> None:
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["autofocus"] = True
                return


class PrimaryHostForm(forms.Form):
    """The name a paired domain is served at; the other one redirects there."""

    host = forms.ChoiceField(label="Serve the storefront at", widget=forms.RadioSelect)
    error_aliases = {"primaryHost": "host"}

    def __init__(self, storefront: Storefront, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = [
            (host, to_display(host)) for host in storefront.custom_domain_hosts
        ]


class StorefrontClaimForm(forms.Form):
    """The "Claim this domain" button beside a domain another store holds."""

    custom_domain = forms.CharField(max_length=1000)
    error_aliases = {"customDomain": "custom_domain"}
