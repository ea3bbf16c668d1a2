"""What the public sees of a storefront is cached (storefronts.services.PUBLIC_CACHE); any
save or delete of one (the API, the admin, an organization deleted) forgets its entries,
under the slug and domain it had before and has after. Cache plumbing, not business logic."""

from typing import Any

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from storefronts.models import Storefront
from storefronts.services import OWN_HOST_SETTINGS, forget_storefront, own_hosts


def _forget_the_row(instance: Storefront) -> None:
    """The names the row has in the database and the instance does not (a rename being
    saved, or an instance loaded before one); the instance's own follow after the write."""
    row = (
        Storefront.objects.filter(pk=instance.pk)
        .values("slug", "custom_domain", "custom_domain_pair")
        .first()
    )
    if row:
        forget_storefront(
            slugs={row["slug"]} - {instance.slug},
            domains={row["custom_domain"], row["custom_domain_pair"]}
            - set(instance.custom_domain_hosts),
        )


@receiver(pre_save, sender=Storefront)
def _forget_what_it_was(
    sender: Any, instance: Storefront, raw: bool = False, **kwargs: Any
) -> None:
    if not raw and not instance._state.adding:
        _forget_the_row(instance)


@receiver(pre_delete, sender=Storefront)
def _forget_what_goes(sender: Any, instance: Storefront, **kwargs: Any) -> None:
    _forget_the_row(instance)


@receiver(post_save, sender=Storefront)
@receiver(post_delete, sender=Storefront)
def _forget_what_it_is(sender: Any, instance: Storefront, **kwargs: Any) -> None:
    forget_storefront(slugs=[instance.slug], domains=instance.custom_domain_hosts)


@receiver(setting_changed)
def _read_own_hosts_again(sender: Any, setting: str, **kwargs: Any) -> None:
    if setting in OWN_HOST_SETTINGS:
        own_hosts.cache_clear()
