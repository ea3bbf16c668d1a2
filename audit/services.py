"""The one entry point for the audit log, `record()`, which services call inside their
own transaction; plus the chain check and the retention prune."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from audit import context as audit_context
from audit.models import AuditEvent, AuditTarget

# pg_advisory_xact_lock(class, key): the class keeps our locks apart from anyone else's.
CHAIN_LOCK_CLASS = 0x41554454  # "AUDT"
SQLITE_PRUNE_PERMIT_TABLE = "audit_prune_permit"


def target(obj: models.Model, *, type: str | None = None, name: str | None = None) -> dict:
    """`{"type", "id", "name"}` for a model instance."""
    return {
        "type": type or slugify(obj._meta.verbose_name).replace("-", "_"),  # "api_key"
        "id": str(obj.pk),
        "name": name if name is not None else str(obj),
    }


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def event_digest(event: AuditEvent) -> str:
    """The hash of an event's content and its predecessor's hash."""
    occurred_at = event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = {
        "id": event.id,
        "organization": event.organization_id,
        "position": event.position,
        "occurred_at": occurred_at,
        "action": event.action,
        "outcome": event.outcome,
        "actor": [event.actor_type, event.actor_id, event.actor_name],
        "targets": event.targets,
        "changes": event.changes,
        "context": event.context,
        "metadata": event.metadata,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _chain(organization_id: str | None) -> models.QuerySet[AuditEvent]:
    if organization_id is None:
        return AuditEvent.objects.filter(organization__isnull=True)
    return AuditEvent.objects.filter(organization_id=organization_id)


def _lock_chain(organization_id: str | None) -> None:
    """Serialises appends to one chain until the transaction ends, so two writers never
    take the same position (the unique constraint would refuse the second anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [CHAIN_LOCK_CLASS, organization_id or ""],
            )
    # SQLite: transactions take the database write lock when they begin (IMMEDIATE).


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def record(
    *,
    action: str,
    organization: Any = None,
    targets: Sequence[dict] = (),
    changes: dict[str, Sequence[Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    actor: audit_context.Actor | None = None,
) -> AuditEvent:
    """Appends one event. Call it inside the transaction that makes the change, so the
    event and the change commit or roll back together. The actor and context (IP, user
    agent, request id) come from the current request, task or cron run unless given."""
    captured = audit_context.current()
    actor = actor or captured.actor
    organization_id = getattr(organization, "pk", organization)
    with transaction.atomic():
        _lock_chain(organization_id)
        last = _chain(organization_id).order_by("-position").values("position", "hash").first()
        event = AuditEvent(
            organization_id=organization_id,
            position=(last["position"] + 1) if last else 1,
            occurred_at=timezone.now(),
            action=action,
            outcome=outcome,
            actor_type=actor.type,
            actor_id=str(actor.id or ""),
            actor_name=(actor.name or "")[:255],
            targets=_json_safe(list(targets)),
            changes=_json_safe({k: list(v) for k, v in (changes or {}).items()}),
            context=_json_safe(captured.context),
            metadata=_json_safe(metadata or {}),
            prev_hash=last["hash"] if last else "",
        )
        event.hash = event_digest(event)
        event.save(force_insert=True)
        AuditTarget.objects.bulk_create(
            AuditTarget(
                event=event,
                organization_id=organization_id,
                target_type=str(t.get("type", "")),
                target_id=str(t.get("id", "")),
            )
            for t in event.targets
        )
    return event


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for the fields whose value differs."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    organization_id: str | None
    event_id: str
    position: int
    reason: str


def verify_chain(
    organization_ids: Iterable[str | None] | None = None, *, chunk: int = 2000
) -> list[ChainBreak]:
    """Recomputes every hash of the given chains (default: all; `None` is the global
    chain); returns the first break of each (empty: whole). A chain whose oldest events
    were pruned starts at its oldest remaining event."""
    if organization_ids is None:
        keys = list(
            AuditEvent.objects.order_by().values_list("organization_id", flat=True).distinct()
        )
    else:
        keys = list(organization_ids)
    breaks = []
    for key in keys:
        broken = _verify_one(key, chunk)
        if broken:
            breaks.append(broken)
    return breaks


def _events_in_order(organization_id: str | None, chunk: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        page = list(_chain(organization_id).filter(position__gt=after).order_by("position")[:chunk])
        if not page:
            return
        yield from page
        after = page[-1].position


def _verify_one(organization_id: str | None, chunk: int) -> ChainBreak | None:
    previous: AuditEvent | None = None
    for event in _events_in_order(organization_id, chunk):
        if previous is not None:
            if event.position != previous.position + 1:
                return ChainBreak(
                    organization_id,
                    event.id,
                    event.position,
                    f"events {previous.position + 1}..{event.position - 1} are missing",
                )
            if event.prev_hash != previous.hash:
                return ChainBreak(
                    organization_id,
                    event.id,
                    event.position,
                    "its prev_hash does not match the previous event's hash",
                )
        elif event.position == 1 and event.prev_hash:
            return ChainBreak(organization_id, event.id, 1, "the first event has a prev_hash")
        if event_digest(event) != event.hash:
            return ChainBreak(
                organization_id,
                event.id,
                event.position,
                "its content does not match its hash (changed after it was written)",
            )
        previous = event
    return None


# --- retention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    pruned: int
    archive: Path | None


def _archive(events: Iterable[AuditEvent], path: Path) -> int:
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as archive:
        for event in events:
            row = {
                "sequence": event.sequence,
                "id": event.id,
                "organization": event.organization_id,
                "position": event.position,
                "occurred_at": event.occurred_at.isoformat(),
                "action": event.action,
                "outcome": event.outcome,
                "actor": {"type": event.actor_type, "id": event.actor_id, "name": event.actor_name},
                "targets": event.targets,
                "changes": event.changes,
                "context": event.context,
                "metadata": event.metadata,
                "prev_hash": event.prev_hash,
                "hash": event.hash,
            }
            archive.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def audit_prune(*, cutoff: datetime, archive_dir: Path, dry_run: bool = False) -> PruneResult:
    """Archives events older than `cutoff` to a gzipped JSON-lines file, then deletes
    them: the one path the append-only triggers let through. Each chain loses a prefix (up
    to its last event before the cutoff), so what remains is still one unbroken chain. The
    prune is itself recorded, in the global chain, with each chain's last pruned hash."""
    prefixes = list(
        AuditEvent.objects.filter(occurred_at__lt=cutoff)
        .order_by()
        .values("organization_id")
        .annotate(last=models.Max("position"))
        .values_list("organization_id", "last")
    )
    doomed = models.Q(pk__in=[])
    for organization_id, last in prefixes:
        chain = (
            models.Q(organization__isnull=True)
            if organization_id is None
            else models.Q(organization_id=organization_id)
        )
        doomed |= chain & models.Q(position__lte=last)
    old = AuditEvent.objects.filter(doomed).order_by("sequence")
    if dry_run or not prefixes:
        return PruneResult(cutoff, old.count(), None)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    path = archive_dir / f"audit-{stamp}-before-{cutoff:%Y%m%d}.jsonl.gz"
    with transaction.atomic():
        count = _archive(old.iterator(chunk_size=2000), path)
        anchors = {
            str(organization_id): _chain(organization_id).get(position=last).hash
            for organization_id, last in prefixes
        }
        sequences = list(old.values_list("sequence", flat=True))
        with connection.cursor() as cursor:
            open_prune_gate(cursor)
            for start in range(0, len(sequences), 1000):
                batch = sequences[start : start + 1000]
                marks = ", ".join(["%s"] * len(batch))
                for table, column in (
                    (AuditTarget._meta.db_table, "event_id"),
                    (AuditEvent._meta.db_table, "sequence"),
                ):
                    cursor.execute(
                        f"DELETE FROM {table} WHERE {column} IN ({marks})",  # noqa: S608
                        batch,
                    )
            close_prune_gate(cursor)
        record(
            action="audit.pruned",
            metadata={
                "cutoff": cutoff.isoformat(),
                "events": count,
                "archive": path.name,
                "last_pruned_hash": anchors,
            },
            actor=audit_context.Actor.system("audit retention"),
        )
    return PruneResult(cutoff, count, path)


def open_prune_gate(cursor: Any) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL audit.allow_prune = 'on'")
    elif connection.vendor == "sqlite":
        cursor.execute(f"INSERT INTO {SQLITE_PRUNE_PERMIT_TABLE} (id) VALUES (1)")  # noqa: S608


def close_prune_gate(cursor: Any) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL audit.allow_prune = 'off'")
    elif connection.vendor == "sqlite":
        cursor.execute(f"DELETE FROM {SQLITE_PRUNE_PERMIT_TABLE}")  # noqa: S608
