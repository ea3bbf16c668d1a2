"""Where deliveries may go: the SSRF matrix of shared/WEBHOOKS.md, with the real guard on
(no private targets), a real DNS server and a loopback listener that must see nothing."""

import asyncio

import pytest
from django.test import override_settings

from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.webhook_receiver import WebhookReceiver
from webhooks.models import WebhookDelivery
from webhooks.services import UnsafeWebhookUrl, delivery_send, endpoint_create, publish
from webhooks.ssrf import UnsafeTarget, check_url, is_public_address

pytestmark = pytest.mark.django_db

PUBLIC_IP = "93.184.216.34"


@pytest.fixture
def resolver() -> DnsResolver:
    return DnsResolver(ResolverConfig(timeout=0.5))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "0.1.2.3",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "192.0.2.1",
        "198.51.100.2",
        "203.0.113.3",
        "224.0.0.1",
        "192.0.0.8",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)
def test_non_public_addresses_are_refused(address: str, resolver: DnsResolver) -> None:
    host = f"[{address}]" if ":" in address else address

    assert not is_public_address(address)
    with pytest.raises(UnsafeTarget) as refusal:
        check_url(f"https://{host}/hook", allow_private=False, resolver=resolver)
    assert refusal.value.code == "PRIVATE_ADDRESS"


@pytest.mark.parametrize("address", [PUBLIC_IP, "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str, resolver: DnsResolver) -> None:
    host = f"[{address}]" if ":" in address else address

    target = check_url(f"https://{host}:8443/hook?x=1", allow_private=False, resolver=resolver)

    assert (target.address, target.port, target.path) == (address, 8443, "/hook?x=1")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"http://{PUBLIC_IP}/hook", "HTTPS_REQUIRED"),
        ("ftp://example.com/x", "INVALID_URL"),
        ("https://user:pw@example.com/", "INVALID_URL"),
        ("not a url", "INVALID_URL"),
        ("https://example.com:99999/", "INVALID_URL"),
        ("https://localhost/hook", "PRIVATE_ADDRESS"),
        ("https://printer.local/hook", "PRIVATE_ADDRESS"),
    ],
)
def test_malformed_and_local_urls(url: str, code: str, resolver: DnsResolver) -> None:
    with pytest.raises(UnsafeTarget) as refusal:
        check_url(url, allow_private=False, resolver=resolver)
    assert refusal.value.code == code


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
def test_an_endpoint_cannot_be_created_for_a_private_target(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    with pytest.raises(UnsafeWebhookUrl) as refusal:
        endpoint_create(
            organization=trio.organization, url=f"https://127.0.0.1:{receiver.port}/hooks"
        )

    assert refusal.value.extra == {"reason": "PRIVATE_ADDRESS"}
    assert receiver.connections == 0


def test_a_name_whose_answer_changes_after_the_check_is_refused_at_send(
    trio: OrgTrio, knot: KnotServer, receiver: WebhookReceiver, label: str
) -> None:
    host = f"hook.{label}.example.test"
    knot.set(host, "A", PUBLIC_IP)
    dns = {"DNS_NAMESERVERS": f"127.0.0.1:{knot.port}", "DNS_TIMEOUT": 1.0}
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False, **dns):
        endpoint, _ = endpoint_create(
            organization=trio.organization, url=f"https://{host}:{receiver.port}/hooks"
        )
        knot.set(host, "A", "127.0.0.1")  # rebinding: now it points at the listener
        event = publish(organization=trio.organization, type="domain.verified", obj={"id": "dom_1"})
        delivery_send(WebhookDelivery.objects.get(event=event).pk)

    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("PRIVATE_ADDRESS")
    assert receiver.connections == 0
    assert endpoint.pk


def test_resolution_failure_is_transient_not_a_crash(resolver: DnsResolver) -> None:
    dead = DnsResolver(ResolverConfig(nameservers=(("127.0.0.1", 9),), timeout=0.2))

    with pytest.raises(UnsafeTarget) as refusal:
        check_url("https://hooks.example.test/x", allow_private=False, resolver=dead)
    assert refusal.value.code == "UNRESOLVABLE"
    assert asyncio.iscoroutinefunction(resolver.public)
