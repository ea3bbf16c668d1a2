from celery import shared_task

from storefronts.services import storefronts_recheck_due


@shared_task(name="storefronts.recheck_domains", ignore_result=True)
def recheck_domains() -> None:
    """Verified storefront domains due their daily re-check."""
    while storefronts_recheck_due(limit=200) == 200:
        pass
