"""The audit log as CSV, shared by the API's export and the dashboard's: one column per
field, JSON columns as JSON text, and no cell a spreadsheet would run as a formula."""

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from audit.models import AuditEvent

CSV_COLUMNS = [
    "sequence",
    "id",
    "occurred_at",
    "action",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_name",
    "targets",
    "changes",
    "context",
    "metadata",
    "prev_hash",
    "hash",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> str:
    """Spreadsheets run cells that start like a formula; an audit export must not."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                event.sequence,
                event.id,
                event.occurred_at.isoformat(),
                *(csv_cell(getattr(event, column)) for column in CSV_COLUMNS[3:]),
            ]
        )


def csv_response(events: QuerySet[AuditEvent], organization_id: str) -> StreamingHttpResponse:
    """Streams every event as an attachment, so a large log never sits in memory."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
    filename = f"audit-{organization_id}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
