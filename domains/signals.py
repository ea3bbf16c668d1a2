"""The send path caches what it knows of a from-address's domain. A tenant deleted (its
domains unbound in the same delete) or a domain row saved anywhere (the admin, a shell)
must reach the next send: cache plumbing, not business logic."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts.models import Tenant
from domains.models import SendingDomain
from domains.selectors import sender_cache_forget, sender_cache_forget_name


@receiver(post_save, sender=SendingDomain)
@receiver(post_delete, sender=SendingDomain)
def _forget_sender(sender: Any, instance: SendingDomain, **kwargs: Any) -> None:
    sender_cache_forget(instance)
    transaction.on_commit(lambda: sender_cache_forget(instance))


@receiver(pre_delete, sender=Tenant)
def _forget_tenant_domains(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    names = list(
        SendingDomain.objects.filter(tenant=instance).values_list("organization_id", "name")
    )

    def forget() -> None:
        for organization_id, name in names:
            sender_cache_forget_name(organization_id, name)

    forget()
    transaction.on_commit(forget)
