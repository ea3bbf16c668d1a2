"""Dashboard forms for webhook endpoints. They check shape only; the services decide
(whether a URL is safe to deliver to, whether the endpoint is enabled)."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.html import format_html

from accounts.forms import add_tenant_field
from accounts.models import Organization
from webhooks.event_types import EVENT_TYPES


def _event_type_choices() -> list[tuple[str, str]]:
    return [
        (name, format_html('<code>{}</code> <span class="muted small">{}</span>', name, text))
        for name, text in sorted(EVENT_TYPES.items())
    ]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        help_text="HTTPS, on a public address. We sign every message (Standard Webhooks).",
        widget=forms.URLInput(
            attrs={
                "placeholder": "https://example.com/webhooks/domainkeeper",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
    )
    description = forms.CharField(label="Description", max_length=500, required=False)
    event_types = forms.MultipleChoiceField(
        label="Event types",
        required=False,
        choices=_event_type_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unchecked to receive every event type, including future ones.",
    )
    # The service names the fields it refuses as the API does.
    error_aliases = {"tenant_id": "tenant"}

    def __init__(self, *args: object, organization: Organization, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        add_tenant_field(
            self,
            organization,
            help_text="Only this tenant's events. None: events that belong to no tenant.",
        )


class RecoverForm(forms.Form):
    since = forms.DateTimeField(
        label="Failed since (UTC)",
        help_text="Every message that failed or was cancelled since then is sent again.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["since"].initial = (timezone.now() - timedelta(days=1)).replace(
            second=0, microsecond=0
        )

    def clean_since(self) -> datetime:
        since = self.cleaned_data["since"]
        if since > timezone.now():
            raise forms.ValidationError("Pick a time in the past.")
        return since
