from celery import shared_task

from webhooks.services import deliveries_send_due, delivery_send


@shared_task(name="webhooks.send_delivery", ignore_result=True)
def send_delivery(delivery_id: str) -> None:
    """One attempt of one delivery; does nothing if it is not due or another relay has it."""
    delivery_send(delivery_id)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> None:
    """Sends deliveries that are overdue: their enqueue was lost (broker down at commit),
    or a worker died mid-attempt and the claim's lease ran out."""
    while deliveries_send_due(limit=200) == 200:
        pass
