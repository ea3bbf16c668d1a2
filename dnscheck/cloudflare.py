"""Cloudflare's published address ranges (https://www.cloudflare.com/ips/), kept as data.
A name whose every address falls in them is proxied ("orange cloud"): its CNAME is hidden
and the world sees Cloudflare's addresses instead of our target. Refresh the lists when
Cloudflare publishes new ranges."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

CLOUDFLARE_IPV4 = [
    "173.245.48.0/20",
    "103.21.244.0/22",
    "103.22.200.0/22",
    "103.31.4.0/22",
    "141.101.64.0/18",
    "108.162.192.0/18",
    "190.93.240.0/20",
    "188.114.96.0/20",
    "197.234.240.0/22",
    "198.41.128.0/17",
    "162.158.0.0/15",
    "104.16.0.0/13",
    "104.24.0.0/14",
    "172.64.0.0/13",
    "131.0.72.0/22",
]
CLOUDFLARE_IPV6 = [
    "2400:cb00::/32",
    "2606:4700::/32",
    "2803:f800::/32",
    "2405:b500::/32",
    "2405:8100::/32",
    "2a06:98c0::/29",
    "2c0f:f248::/32",
]
NETWORKS = tuple(ipaddress.ip_network(n) for n in (*CLOUDFLARE_IPV4, *CLOUDFLARE_IPV6))


def is_cloudflare_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in NETWORKS if network.version == ip.version)


def all_cloudflare(addresses: Iterable[str]) -> bool:
    addresses = list(addresses)
    return bool(addresses) and all(is_cloudflare_address(a) for a in addresses)


def is_cloudflare_nameserver(host: str) -> bool:
    return host.lower().rstrip(".").endswith(".ns.cloudflare.com")
