from celery import shared_task

from storefronts.live import storefronts_live_probe_sweep
from storefronts.services import storefronts_recheck_sweep


@shared_task(name="storefronts.recheck_domains", ignore_result=True)
def recheck_domains() -> None:
    """Verified storefront domains due their daily re-check; expired domain holds go."""
    storefronts_recheck_sweep()


@shared_task(name="storefronts.probe_live_status", ignore_result=True)
def probe_live_status() -> None:
    """Verified storefront domains due their live probe (routing record, HTTPS)."""
    storefronts_live_probe_sweep()
