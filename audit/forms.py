"""The audit log's filters as a GET form: the API's filters (AuditFilterSerializer), with
dates a person picks instead of timestamps."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import ApiKey, Membership, Organization
from audit.models import ActorType, AuditEvent


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label="Action",
        max_length=100,
        required=False,
        help_text="Exact, or a prefix ending in * (webhook_endpoint.*).",
        widget=forms.TextInput(attrs={"list": "audit-actions", "spellcheck": "false"}),
    )
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any"), *AuditEvent.Outcome.choices]
    )
    actor_type = forms.ChoiceField(
        label="Actor type", required=False, choices=[("", "Any"), *ActorType.choices]
    )
    actor_id = forms.ChoiceField(label="Actor", required=False)
    target_type = forms.CharField(
        label="Target type",
        max_length=50,
        required=False,
        help_text="sending_domain, webhook_endpoint, api_key, tenant…",
    )
    target_id = forms.CharField(label="Target id", max_length=64, required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To",
        required=False,
        help_text="Inclusive, in UTC.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = (
            Membership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("user__email")
        )
        keys = ApiKey.objects.filter(organization=organization).order_by("name")
        self.fields["actor_id"].choices = [
            ("", "Anyone"),
            ("People", [(str(m.user_id), m.user.email) for m in members]),
            ("API keys", [(k.pk, f"{k.name} ({k.prefix})") for k in keys]),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Pick a day on or after the first one.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """What `audit_events_for` takes, as the API's filter serializer gives it."""
        data = self.cleaned_data
        filters: dict[str, Any] = {
            name: data[name]
            for name in ("action", "outcome", "actor_type", "actor_id", "target_type", "target_id")
            if data.get(name)
        }
        if data.get("date_from"):
            filters["since"] = _midnight(data["date_from"])
        if data.get("date_to"):
            filters["until"] = _midnight(data["date_to"] + timedelta(days=1))
        return filters


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
