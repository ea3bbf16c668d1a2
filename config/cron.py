"""HTTP cron endpoints for deployments that use an external scheduler instead of beat:
`POST /api/cron/<job>` with `Authorization: Bearer <CRON_SECRET>` runs the same code as
the beat task, inline, as actor `cron`. Refused while CRON_SECRET is unset."""

import hmac
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from audit.context import Actor, acting_as
from config.envelope import error_body


def _domains_poll() -> dict[str, Any]:
    from domains.engine import poll_cycle

    report = poll_cycle()
    return {"checked": report.checked, **report.outcomes}


def _warmup() -> dict[str, Any]:
    from domains.services import warmup_bookkeeping

    return warmup_bookkeeping()


# A cron call is an HTTP request: the sweeps stop taking new batches after this long (what
# is left is due at the next call), well inside a web worker's timeout.
CRON_SWEEP_SECONDS = 20


def _storefronts() -> dict[str, Any]:
    from storefronts.services import storefronts_recheck_sweep

    return storefronts_recheck_sweep(budget_seconds=CRON_SWEEP_SECONDS)


def _storefronts_live() -> dict[str, Any]:
    from storefronts.live import storefronts_live_probe_sweep

    return storefronts_live_probe_sweep(budget_seconds=CRON_SWEEP_SECONDS)


def _webhooks() -> dict[str, Any]:
    from webhooks.services import deliveries_send_due

    return {"attempted": deliveries_send_due()}


def _audit() -> dict[str, Any]:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("prune_audit_events", stdout=out)
    return {"result": out.getvalue().strip()}


JOBS: dict[str, Callable[[], dict[str, Any]]] = {
    "domain-verify-poll": _domains_poll,
    "domain-warmup": _warmup,
    "storefront-recheck": _storefronts,
    "storefront-live-probe": _storefronts_live,
    "webhook-sweep": _webhooks,
    "audit-prune": _audit,
}


@csrf_exempt
@require_POST
def run_job(request: HttpRequest, job: str) -> JsonResponse:
    if not settings.CRON_SECRET:
        body = error_body("CRON_DISABLED", "Cron endpoints are off: CRON_SECRET is not set.")
        return JsonResponse(body, status=403)
    presented = request.headers.get("Authorization", "")
    expected = f"Bearer {settings.CRON_SECRET}"
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        body = error_body("NOT_AUTHENTICATED", "Send Authorization: Bearer <CRON_SECRET>.")
        return JsonResponse(body, status=401)
    runner = JOBS.get(job)
    if runner is None:
        return JsonResponse(error_body("NOT_FOUND", f"No cron job {job!r}."), status=404)
    started = time.monotonic()
    with acting_as(Actor.cron(job)):
        result = runner()
    result["duration_seconds"] = round(time.monotonic() - started, 3)
    return JsonResponse({"success": True, "message": f"{job} ran.", "data": result})
