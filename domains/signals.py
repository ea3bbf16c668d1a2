"""The send path caches what it knows of a from-address's domain; every service that
changes a domain forgets the entry itself. A tenant is deleted in the accounts app, which
may not import domains: its bound domains are forgotten here (cache plumbing, not
business logic)."""

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from accounts.models import Tenant
from domains.models import SendingDomain
from domains.selectors import sender_cache_forget_name


@receiver(pre_delete, sender=Tenant)
def _forget_tenant_domains(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    bound = SendingDomain.objects.filter(tenant=instance).values_list("organization_id", "name")
    for organization_id, name in bound:
        sender_cache_forget_name(organization_id, name)
