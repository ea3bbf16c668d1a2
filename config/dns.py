"""dnscheck wired to Django settings: the one place settings become a resolver."""

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

from dnscheck.resolver import DnsResolver, ResolverConfig


def resolver_config() -> ResolverConfig:
    return ResolverConfig.from_settings(
        nameservers=settings.DNS_NAMESERVERS,
        doh_url=settings.DNS_DOH_URL,
        authoritative_port=settings.DNS_AUTHORITATIVE_PORT,
        timeout=settings.DNS_TIMEOUT,
    )


@lru_cache(maxsize=4)
def _resolver_for(config: ResolverConfig) -> DnsResolver:
    return DnsResolver(config)


def dns_resolver() -> DnsResolver:
    """The process's resolver for the current settings (its zone cache is shared)."""
    return _resolver_for(resolver_config())


def reserved_hosts() -> list[str]:
    """Our own host names: no customer may claim them or a name under them."""
    hosts = [settings.CUSTOM_DOMAIN_TARGET, urlsplit(settings.BACKEND_BASE_URL).hostname or ""]
    return [h for h in dict.fromkeys(hosts) if h and "." in h]
