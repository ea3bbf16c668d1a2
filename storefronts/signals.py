"""Host answers are cached; any save or delete of a storefront (the API, the admin, an
organization deleted) clears the answer for its domain. Cache plumbing, not business logic."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from storefronts.models import Storefront
from storefronts.services import forget_host


@receiver(post_save, sender=Storefront)
@receiver(post_delete, sender=Storefront)
def _forget_cached_host(sender: Any, instance: Storefront, **kwargs: Any) -> None:
    forget_host(instance.custom_domain)
