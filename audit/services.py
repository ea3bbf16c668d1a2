"""The one entry point for the audit log, `record()` (and `record_many()` for a batch),
which services call inside their own transaction; plus the chain check and the retention prune."""

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
from audit.db import close_prune_gate as _close_gate
from audit.db import open_prune_gate as _open_gate
from audit.models import AuditChainHead, AuditEvent, AuditTarget


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


def _text(value: str) -> str:
    """Text every database keeps as given: no NUL (PostgreSQL refuses it in JSON), no lone
    surrogates (not encodable)."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def stable_json(value: Any) -> Any:
    """A JSON value that survives the round trip through the database unchanged, so the
    hash recomputed from stored rows matches: PostgreSQL's jsonb rewrites some floats
    (1e16 comes back as an integer, -0.0 as 0.0), so numbers with a fraction or an
    exponent are kept as their text."""
    if isinstance(value, dict):
        return {_text(str(k)): stable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [stable_json(v) for v in value]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return repr(value)
    return _text(value if isinstance(value, str) else str(value))


def _targets(targets: Sequence[dict]) -> list[dict[str, str]]:
    checked = []
    for item in targets:
        if not isinstance(item, dict) or not item.get("type") or not item.get("id"):
            raise ValueError(f"an audit target needs a type and an id, got {item!r}")
        checked.append(
            {"type": str(item["type"]), "id": str(item["id"]), "name": str(item.get("name", ""))}
        )
    return stable_json(checked)


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
    entry = Entry(action, organization, targets, changes, metadata, outcome, actor)
    return record_many([entry])[0]


@dataclass(frozen=True)
class Entry:
    """One event for `record_many`: `record()`'s arguments."""

    action: str
    organization: Any = None
    targets: Sequence[dict] = ()
    changes: dict[str, Sequence[Any]] | None = None
    metadata: dict[str, Any] | None = None
    outcome: str = AuditEvent.Outcome.SUCCESS
    actor: audit_context.Actor | None = None


def record_many(entries: Sequence[Entry]) -> list[AuditEvent]:
    """Appends events in order, as `record()` does one: for a batch of changes made in one
    transaction (the verification engine's chunk). Each chain's head is locked once (in
    chain order, so two batches cannot deadlock), and the events and their targets are
    written in one statement each."""
    if not entries:
        return []
    captured = audit_context.current()
    context = stable_json(captured.context)
    now = timezone.now()
    events = []
    for e in entries:
        actor = e.actor or captured.actor
        events.append(
            AuditEvent(
                organization_id=getattr(e.organization, "pk", e.organization),
                occurred_at=now,
                action=e.action,
                outcome=e.outcome,
                actor_type=actor.type,
                actor_id=_text(str(actor.id or "")),
                actor_name=_text(actor.name or "")[:255],
                targets=_targets(e.targets),
                changes=stable_json({k: list(v) for k, v in (e.changes or {}).items()}),
                context=context,
                metadata=stable_json(e.metadata or {}),
            )
        )
    chains = sorted({event.organization_id or "" for event in events})
    # Inside the caller's transaction no savepoint of its own: an error here rolls back the
    # change it records as well, and a transition's events cost four round trips fewer.
    with transaction.atomic(savepoint=False):
        # The head rows' locks serialise appends to these chains until the transaction ends.
        heads = _locked_heads(chains)
        for event in events:
            head = heads[event.organization_id or ""]
            event.position, event.prev_hash = head.position + 1, head.hash
            event.hash = event_digest(event)
            head.position, head.hash = event.position, event.hash
        AuditEvent.objects.bulk_create(events)
        for chain in chains:
            head = heads[chain]
            AuditChainHead.objects.filter(chain=chain).update(
                position=head.position, hash=head.hash
            )
        AuditTarget.objects.bulk_create(
            AuditTarget(
                event=event,
                organization_id=event.organization_id,
                target_type=str(t.get("type", "")),
                target_id=str(t.get("id", "")),
            )
            for event in events
            for t in event.targets
        )
    return events


def _locked_heads(chains: list[str]) -> dict[str, AuditChainHead]:
    """The chains' head rows, locked in chain order; a chain's first event (or a race to
    write it) makes its head. For several chains every head is made first, so none is
    locked out of order (one locked, then one made and locked, could deadlock)."""
    if len(chains) > 1:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain) for chain in chains], ignore_conflicts=True
        )
    heads = {
        h.chain: h
        for h in AuditChainHead.objects.select_for_update()
        .filter(chain__in=chains)
        .order_by("chain")
    }
    missing = [chain for chain in chains if chain not in heads]
    if missing:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain) for chain in missing], ignore_conflicts=True
        )
        heads |= {
            h.chain: h
            for h in AuditChainHead.objects.select_for_update()
            .filter(chain__in=missing)
            .order_by("chain")
        }
    return heads


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
    chain) and returns the first break of each (empty: whole). A chain whose oldest events
    were pruned must start where the prune record says it ended, and every chain must end
    at its head, so removing events from either end is noticed too."""
    if organization_ids is None:
        keys: list[str | None] = [
            h or None for h in AuditChainHead.objects.values_list("chain", flat=True)
        ]
    else:
        keys = list(organization_ids)
    anchors = _prune_anchors()
    breaks = []
    for key in keys:
        broken = _verify_one(key, chunk, anchors.get(key or "", set()))
        if broken:
            breaks.append(broken)
    return breaks


def _prune_anchors() -> dict[str, set[tuple[int, str]]]:
    """(position, hash) of the last pruned event of each chain, from the prune records."""
    anchors: dict[str, set[tuple[int, str]]] = {}
    for metadata in AuditEvent.objects.filter(
        organization__isnull=True, action="audit.pruned"
    ).values_list("metadata", flat=True):
        for chain, last in (metadata.get("last_pruned") or {}).items():
            anchors.setdefault(chain, set()).add((int(last["position"]), last["hash"]))
    return anchors


def _events_in_order(organization_id: str | None, chunk: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        page = list(_chain(organization_id).filter(position__gt=after).order_by("position")[:chunk])
        if not page:
            return
        yield from page
        after = page[-1].position


def _verify_one(
    organization_id: str | None, chunk: int, anchors: set[tuple[int, str]]
) -> ChainBreak | None:
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
        elif event.position == 1:
            if event.prev_hash:
                return ChainBreak(organization_id, event.id, 1, "the first event has a prev_hash")
        elif (event.position - 1, event.prev_hash) not in anchors:
            return ChainBreak(
                organization_id,
                event.id,
                event.position,
                f"events before position {event.position} are gone and no prune record "
                "accounts for them",
            )
        if event_digest(event) != event.hash:
            return ChainBreak(
                organization_id,
                event.id,
                event.position,
                "its content does not match its hash (changed after it was written)",
            )
        previous = event
    head = AuditChainHead.objects.filter(chain=organization_id or "").first()
    if (
        head is not None
        and previous is not None
        and (head.position, head.hash) != (previous.position, previous.hash)
    ):
        return ChainBreak(
            organization_id,
            previous.id,
            previous.position,
            f"the chain should end at position {head.position}: newer events are missing",
        )
    return None


# --- retention ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    pruned: int
    archive: Path | None


def _archive(events: Iterable[AuditEvent], archive: Any) -> int:
    count = 0
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
    to its last event before the cutoff), so what remains is still one unbroken chain, and
    the prune record keeps where each chain's pruned part ended, for verification."""
    prefixes = list(
        AuditEvent.objects.filter(occurred_at__lt=cutoff)
        .order_by()
        .values("organization_id")
        .annotate(last=models.Max("position"))
        .values_list("organization_id", "last")
    )

    def doomed(organization_id: str | None, last: int) -> models.QuerySet[AuditEvent]:
        return _chain(organization_id).filter(position__lte=last).order_by("position")

    count = sum(doomed(org, last).count() for org, last in prefixes)
    if dry_run or not prefixes:
        return PruneResult(cutoff, count, None)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    path = archive_dir / f"audit-{stamp}-before-{cutoff:%Y%m%d}.jsonl.gz"
    events_table, targets_table = AuditEvent._meta.db_table, AuditTarget._meta.db_table
    with transaction.atomic():
        path.parent.mkdir(parents=True, exist_ok=True)
        last_pruned: dict[str, dict[str, Any]] = {}
        with gzip.open(path, "wt", encoding="utf-8") as archive, connection.cursor() as cursor:
            _open_gate(cursor, connection.vendor)
            for organization_id, last in prefixes:
                events = doomed(organization_id, last)
                _archive(events.iterator(chunk_size=2000), archive)
                last_pruned[organization_id or ""] = {
                    "position": last,
                    "hash": events.get(position=last).hash,
                }
                sequences = list(events.values_list("sequence", flat=True))
                for start in range(0, len(sequences), 500):
                    batch = sequences[start : start + 500]
                    marks = ", ".join(["%s"] * len(batch))
                    cursor.execute(
                        f"DELETE FROM {targets_table} WHERE event_id IN ({marks})",  # noqa: S608
                        batch,
                    )
                    cursor.execute(
                        f"DELETE FROM {events_table} WHERE sequence IN ({marks})",  # noqa: S608
                        batch,
                    )
            _close_gate(cursor, connection.vendor)
        record(
            action="audit.pruned",
            metadata={
                "cutoff": cutoff.isoformat(),
                "events": count,
                "archive": path.name,
                "last_pruned": last_pruned,
            },
            actor=audit_context.Actor.system("audit retention"),
        )
    return PruneResult(cutoff, count, path)


def open_prune_gate(cursor: Any) -> None:
    """For the retention prune and test database flushes only."""
    _open_gate(cursor, connection.vendor)


def close_prune_gate(cursor: Any) -> None:
    _close_gate(cursor, connection.vendor)
