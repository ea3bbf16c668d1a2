from django.db import models
from django.db.models import Q

from accounts.ids import PrefixedIdField


class SendingDomain(models.Model):
    """A domain an organization sends mail from, e.g. `mail.acme.com`.

    Two organizations may both claim a name while neither has verified it: a claim proves
    nothing, so it must never block the real owner. Once one of them verifies (which takes
    control of the domain's DNS), the name is theirs: only one verified domain per name
    (a partial unique index), and the others' claims cannot verify."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        VERIFIED = "verified", "Verified"
        FAILED = "failed", "Failed"

    class Provider(models.TextChoices):
        LOCAL = "local", "Self-managed DKIM"
        SES = "ses", "Amazon SES"

    id = PrefixedIdField(prefix="dom")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="sending_domains"
    )
    tenant = models.ForeignKey(
        "accounts.Tenant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sending_domains",
    )
    name = models.CharField(max_length=253, help_text="ASCII (punycode), lowercase.")
    display_name = models.CharField(max_length=253, help_text="As people read it (Unicode).")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    region = models.CharField(max_length=32)
    fallback_region = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    provider_error_type = models.CharField(max_length=64, blank=True, default="")
    mail_from_label = models.CharField(max_length=63, blank=True, default="")
    ses_dkim_tokens = models.JSONField(default=list, blank=True)
    dkim_selector = models.CharField(max_length=63, blank=True, default="")
    dkim_private_key_encrypted = models.TextField(blank=True, default="", editable=False)
    dkim_public_key = models.TextField(blank=True, default="", editable=False)
    warmup_started_at = models.DateTimeField(null=True, blank=True)
    warmup_total_days = models.PositiveSmallIntegerField(default=14)
    warmup_completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="sending_domain_once_per_organization"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status="verified"),
                name="sending_domain_verified_once",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["name"]),
            # what the poller claims: rows due a check, oldest due first
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="sending_domain_check_due",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.name


class DomainRecord(models.Model):
    """One DNS record a domain needs, with what the last check found."""

    class Status(models.TextChoices):
        VERIFIED = "verified", "Verified"
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed"

    domain = models.ForeignKey(SendingDomain, on_delete=models.CASCADE, related_name="records")
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=8)
    hostname = models.CharField(max_length=253)
    host = models.CharField(max_length=253, help_text="Relative to the zone, as panels want it.")
    zone = models.CharField(max_length=253, blank=True, default="")
    value = models.TextField()
    purpose = models.CharField(max_length=16)
    required = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    hint = models.CharField(max_length=40, blank=True, default="")
    fix = models.TextField(blank=True, default="")
    seen_value = models.TextField(blank=True, default="")
    suggested_value = models.TextField(blank=True, default="")
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "type", "hostname", "purpose"], name="domain_record_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.hostname}"


class SendCount(models.Model):
    """Recipients (to + cc + bcc) counted against a domain's warmup cap on one UTC day,
    when no Redis holds the counter. Changed by one conditional upsert, so the row lock
    makes it exact."""

    domain = models.ForeignKey(SendingDomain, on_delete=models.CASCADE, related_name="send_counts")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "day"], name="send_count_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.domain_id} {self.day}: {self.count}"


class Message(models.Model):
    """One email sent (or refused at the provider) from a sending domain. The row is written
    before the provider is called, so a crash mid-send leaves an honest `sending` row."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        API = "api", "API"
        TEST = "test", "Test email"

    id = PrefixedIdField(prefix="msg")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="messages"
    )
    # Kept when the domain is deleted: the message history stays with its domain's name.
    domain = models.ForeignKey(
        SendingDomain, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    domain_name = models.CharField(max_length=253)
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.API)
    from_address = models.TextField(help_text="The From header: the address and its name.")
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998)
    recipient_count = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    provider = models.CharField(max_length=16)
    region = models.CharField(max_length=32, blank=True, default="", help_text="Region used.")
    fallback_used = models.BooleanField(default=False)
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="message_idempotency_key_once",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "status", "-created_at"]),
            models.Index(fields=["domain", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.subject[:40]}"
