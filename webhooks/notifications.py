"""Telling an organization's owners: that their webhooks are failing, and other news
that cannot wait for them to look."""

from django.conf import settings
from django.core.mail import send_mail

from accounts.models import Membership
from webhooks.models import WebhookEndpoint


def owner_emails(organization_id: str) -> list[str]:
    return list(
        Membership.objects.filter(organization_id=organization_id, role=Membership.Role.OWNER)
        .select_related("user")
        .values_list("user__email", flat=True)
    )


def email_owners(organization_id: str, subject: str, lines: list[str]) -> None:
    """A plain mail to the organization's owners, if it has any. Sent after the change it
    tells of: a mail outage must not undo or break it."""
    recipients = owner_emails(organization_id)
    if not recipients:
        return
    send_mail(
        f"[Domainkeeper] {subject}",
        "\n".join(lines),
        settings.DEFAULT_FROM_EMAIL,
        recipients,
        fail_silently=True,
    )


def notify_owners(endpoint: WebhookEndpoint, subject: str, lines: list[str]) -> None:
    email_owners(
        endpoint.organization_id,
        subject,
        [
            *lines,
            "",
            f"Endpoint: {endpoint.url} ({endpoint.id})",
            f"Manage it: {settings.BACKEND_BASE_URL.rstrip('/')}/api/docs/",
        ],
    )


def notify_exhausted(endpoint: WebhookEndpoint, event_id: str, last_error: str) -> None:
    notify_owners(
        endpoint,
        "A webhook message ran out of delivery attempts",
        [
            f"Event {event_id} could not be delivered after 10 attempts over about three days.",
            f"Last error: {last_error or 'none recorded'}",
            "Once the endpoint works again, recover failed messages from the API "
            "(POST /api/v1/webhook-endpoints/{id}/recover).",
        ],
    )


def notify_disabled(endpoint: WebhookEndpoint, reason: str) -> None:
    notify_owners(
        endpoint,
        "A webhook endpoint was disabled",
        [
            f"We disabled it: {reason}",
            "No more events are sent to it until you enable it again "
            "(POST /api/v1/webhook-endpoints/{id}/enable).",
        ],
    )
