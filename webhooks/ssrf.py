"""Where deliveries may go (shared/WEBHOOKS.md): HTTPS to public addresses only. The host
is resolved, every address must be public, and the request then goes to the address that
was checked, so a DNS answer that changes in between cannot redirect it. Checked when an
endpoint is saved and again at every attempt."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from dnscheck.lookup import Lookup
from dnscheck.resolver import DnsResolver

BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",  # IPv4-compatible (and :: and ::1)
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/32",
        "2001:db8::/32",
        "2002::/16",
        "3fff::/20",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".home.arpa", ".lan")
# Never a webhook target, whatever the settings say: link-local holds the cloud metadata
# service (169.254.169.254).
ALWAYS_BLOCKED = tuple(ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10"))


class UnsafeTarget(ValueError):
    """`code` is stable: INVALID_URL, HTTPS_REQUIRED, PRIVATE_ADDRESS, UNRESOLVABLE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # for the Host header, SNI and certificate checks
    port: int
    path: str  # path and query
    address: str  # the checked address the connection goes to


def is_public_address(address: str) -> bool:
    """Python's flags miss several ranges (100.64.0.1 is not is_private; ::ffff:127.0.0.1 is
    not is_loopback), so the blocked list is explicit, and the address must also be global."""
    ip = ipaddress.ip_address(address)
    if any(ip in network for network in BLOCKED_NETWORKS if network.version == ip.version):
        return False
    return ip.is_global


def check_url(url: str, *, allow_private: bool, resolver: DnsResolver) -> Target:
    """The target to connect to, or UnsafeTarget. `allow_private` (tests, local
    development) admits plain HTTP and loopback or private addresses, never link-local."""
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeTarget("INVALID_URL", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("INVALID_URL", "This is not a valid URL.") from exc
    if port == 0:
        raise UnsafeTarget("INVALID_URL", "Port 0 is not a port.")
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host and not _is_ip_literal(host):
        try:
            host = idna.encode(host, uts46=True).decode()  # bücher.example -> xn--bcher-kva
        except idna.IDNAError as exc:
            raise UnsafeTarget("INVALID_URL", "The host name is not valid.") from exc
    if scheme not in ("https", "http") or not host:
        raise UnsafeTarget("INVALID_URL", "Enter a full https:// URL.")
    if parts.username or parts.password:
        raise UnsafeTarget(
            "INVALID_URL", "Credentials in the URL are not allowed; sign with the secret."
        )
    if scheme != "https" and not allow_private:
        raise UnsafeTarget("HTTPS_REQUIRED", "Webhook URLs must use https://.")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if not allow_private and (host == "localhost" or host.endswith(LOCAL_NAMES)):
        raise UnsafeTarget("PRIVATE_ADDRESS", "Webhook URLs must point at the public internet.")
    addresses = _addresses(host, resolver)
    if allow_private:
        blocked = [
            a for a in addresses if any(ipaddress.ip_address(a) in n for n in ALWAYS_BLOCKED)
        ]
    else:
        blocked = [a for a in addresses if not is_public_address(a)]
    if blocked:
        raise UnsafeTarget(
            "PRIVATE_ADDRESS",
            f"{host} resolves to {blocked[0]}, which is not a public address.",
        )
    return Target(scheme, host, port, path, addresses[0])


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _addresses(host: str, resolver: DnsResolver) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    a, aaaa = asyncio.run(_lookup(resolver, host))
    addresses = [*a.values, *aaaa.values]
    if not addresses:
        if a.is_transient and aaaa.is_transient:
            raise UnsafeTarget("UNRESOLVABLE", f"DNS did not answer for {host}; try again.")
        raise UnsafeTarget("UNRESOLVABLE", f"{host} has no address in DNS.")
    return addresses


async def _lookup(resolver: DnsResolver, host: str) -> list[Lookup]:
    return list(await asyncio.gather(resolver.public(host, "A"), resolver.public(host, "AAAA")))
