from celery import shared_task

from domains.engine import check_domains, poll_cycle
from domains.services import warmup_bookkeeping


@shared_task(name="domains.poll", ignore_result=True)
def poll() -> None:
    """Claims the sending domains due a check and hands them to workers in chunks."""
    poll_cycle(dispatch=True)


@shared_task(name="domains.check_chunk", ignore_result=True)
def check_chunk(domain_ids: list[str]) -> None:
    check_domains(domain_ids)


@shared_task(name="domains.warmup_bookkeeping", ignore_result=True)
def warmup() -> None:
    warmup_bookkeeping()
