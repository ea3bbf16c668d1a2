"""Naming a zone's DNS host from its nameservers, so a fix can say where to add records."""

from __future__ import annotations

from collections.abc import Iterable

# (suffix of the nameserver host name, the provider as people know it)
KNOWN_HOSTS: tuple[tuple[str, str], ...] = (
    (".ns.cloudflare.com", "Cloudflare"),
    (".awsdns-", "Amazon Route 53"),
    (".domaincontrol.com", "GoDaddy"),
    (".registrar-servers.com", "Namecheap"),
    (".googledomains.com", "Google Cloud DNS"),
    (".google.com", "Google"),
    (".digitalocean.com", "DigitalOcean"),
    (".azure-dns.com", "Azure DNS"),
    (".azure-dns.net", "Azure DNS"),
    (".hetzner.com", "Hetzner"),
    (".gandi.net", "Gandi"),
    (".ovh.net", "OVHcloud"),
    (".vercel-dns.com", "Vercel"),
    (".nsone.net", "NS1"),
    (".dnsimple.com", "DNSimple"),
    (".squarespacedns.com", "Squarespace"),
    (".wixdns.net", "Wix"),
    (".name-services.com", "Enom"),
    (".hostgator.com", "HostGator"),
    (".bluehost.com", "Bluehost"),
    (".ionos.com", "IONOS"),
    (".ui-dns.com", "IONOS"),
    (".ui-dns.de", "IONOS"),
    (".linode.com", "Linode"),
    (".dnsmadeeasy.com", "DNS Made Easy"),
    (".ultradns.net", "UltraDNS"),
    (".akam.net", "Akamai"),
)


def dns_host_name(nameservers: Iterable[str]) -> str | None:
    """The provider serving a zone, or None when the nameservers are not ones we know."""
    for host in nameservers:
        host = "." + host.lower().rstrip(".")
        for marker, provider in KNOWN_HOSTS:
            if marker in host:
                return provider
    return None


def describe_dns_host(nameservers: Iterable[str]) -> str:
    """`Cloudflare (ada.ns.cloudflare.com, bob.ns.cloudflare.com)` or the servers alone."""
    servers = sorted(h.lower().rstrip(".") for h in nameservers)
    listed = ", ".join(servers)
    provider = dns_host_name(servers)
    if provider:
        return f"{provider} ({listed})"
    return f"the DNS host of the nameservers {listed}" if servers else "your DNS host"
