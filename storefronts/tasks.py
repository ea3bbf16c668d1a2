import time

from celery import shared_task

from storefronts.live import storefronts_live_probe_due
from storefronts.services import custom_domain_holds_expire, storefronts_recheck_due

LIVE_PROBE_BUDGET_SECONDS = 120  # what is left waits for the next tick, under the time limit


@shared_task(name="storefronts.recheck_domains", ignore_result=True)
def recheck_domains() -> None:
    """Verified storefront domains due their daily re-check; expired domain holds go."""
    while storefronts_recheck_due(limit=200) == 200:
        pass
    custom_domain_holds_expire()


@shared_task(name="storefronts.probe_live_status", ignore_result=True)
def probe_live_status() -> None:
    """Verified storefront domains due their live probe (routing record, HTTPS)."""
    stop = time.monotonic() + LIVE_PROBE_BUDGET_SECONDS
    while storefronts_live_probe_due(limit=50) == 50 and time.monotonic() < stop:
        pass
