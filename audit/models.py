from django.db import models
from django.db.models import Q

from accounts.ids import PrefixedIdField


class ActorType(models.TextChoices):
    """Who an event's actor is (audit.context.Actor's kinds)."""

    USER = "user", "Person"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"
    CRON = "cron", "Scheduled job"
    ANONYMOUS = "anonymous", "Signed out"


class AuditEvent(models.Model):
    """One change, as it happened. Append-only: on PostgreSQL (and SQLite) triggers reject
    UPDATE, DELETE and TRUNCATE, except for the retention prune. Each row's `hash` covers
    its content and the previous row's hash in its organization's chain."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        FAILURE = "failure", "Failure"

    sequence = models.BigAutoField(primary_key=True)
    id = PrefixedIdField(prefix="aud", primary_key=False, unique=True)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,  # the log outlives what it describes
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    position = models.PositiveBigIntegerField(help_text="Place in the organization's chain.")
    occurred_at = models.DateTimeField()
    action = models.CharField(max_length=100)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_type = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor_name = models.CharField(max_length=255, blank=True, default="")
    targets = models.JSONField(default=list, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, default="")
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "position"], name="audit_chain_position_unique"
            ),
            models.UniqueConstraint(
                fields=["position"],
                condition=Q(organization__isnull=True),
                name="audit_global_chain_position_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-sequence"]),
            models.Index(fields=["organization", "action"]),
            models.Index(fields=["organization", "occurred_at"]),
            models.Index(fields=["organization", "actor_type", "actor_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_name or self.actor_type} at {self.occurred_at}"


class AuditTarget(models.Model):
    """The targets of an event, one row each, so events can be found by what they touched.
    Derived from `AuditEvent.targets` (which the hash covers) and written with it."""

    event = models.ForeignKey(
        AuditEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="target_rows"
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["organization", "target_id"])]

    def __str__(self) -> str:
        return f"{self.target_type} {self.target_id}"


class AuditChainHead(models.Model):
    """The newest event of each chain (`""` is the global chain): what the next event links
    to, kept even when the retention prune removes every event, so positions never restart
    and a removed tail is noticed. Its row lock serialises appends to one chain."""

    chain = models.CharField(max_length=32, primary_key=True)
    position = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.chain or 'global'} at {self.position}"
