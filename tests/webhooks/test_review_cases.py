"""Cases found in review of the webhooks relay and guard."""

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import override_settings

from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.conftest import OrgTrio
from tests.webhook_receiver import Reply, WebhookReceiver
from webhooks import transport
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import (
    MAX_ATTEMPTS,
    deliveries_send_due,
    delivery_send,
    endpoint_create,
    endpoint_disable,
    endpoint_update,
    next_delay,
    publish,
)
from webhooks.ssrf import UnsafeTarget, check_url

pytestmark = pytest.mark.django_db


def _event(trio: OrgTrio):
    return publish(organization=trio.organization, type="domain.verified", obj={"id": "d"})


@pytest.fixture
def trickling_server() -> Iterator[int]:
    """Answers a byte of its status line every 0.2 s, for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                for byte in b"HTTP/1.1 200 OK\\r\\n" * 100:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_a_trickling_receiver_is_cut_off_at_the_deadline(
    trio: OrgTrio, trickling_server: int, monkeypatch
) -> None:
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT", 1.0)
    endpoint_create(organization=trio.organization, url=f"http://127.0.0.1:{trickling_server}/")
    event = _event(trio)
    started = time.monotonic()

    delivery_send(WebhookDelivery.objects.get(event=event).pk)

    assert time.monotonic() - started < 3
    assert "timed out" in WebhookDelivery.objects.get(event=event).last_error


def test_a_nul_in_the_response_is_kept_readable(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint_create(organization=trio.organization, url=receiver.url())
    receiver.reply(Reply(500, body=b"bad\x00byte"))
    event = _event(trio)

    delivery_send(WebhookDelivery.objects.get(event=event).pk)

    attempt = WebhookAttempt.objects.get(delivery__event=event)
    assert attempt.response_body == "bad\ufffdbyte"


@pytest.mark.parametrize("value", ["\u00b2", "-5", "1e9", "99999999999999", "soon"])
def test_retry_after_garbage_falls_back_to_the_schedule(value: str) -> None:
    assert 5 <= next_delay(1, 503, {"retry-after": value}) <= 5.5


def test_rows_that_spent_every_attempt_are_closed_not_resent(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    from datetime import timedelta

    endpoint_create(organization=trio.organization, url=receiver.url())
    event = _event(trio)
    WebhookDelivery.objects.filter(event=event).update(attempts=MAX_ATTEMPTS)

    assert deliveries_send_due(grace=timedelta(0)) == 0
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == "failed"
    assert receiver.received == []


def test_an_update_from_a_stale_copy_does_not_re_enable(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    stale = type(endpoint).objects.get(pk=endpoint.pk)
    endpoint_disable(endpoint=endpoint, reason="410")

    endpoint_update(endpoint=stale, description="renamed")

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.description) == (False, "renamed")


@pytest.fixture
def no_dns() -> DnsResolver:
    return DnsResolver(ResolverConfig(nameservers=(("127.0.0.1", 9),), timeout=0.2))


@pytest.mark.parametrize(
    "url", ["https://[::7f00:1]/", "https://[::ffff:0:7f00:1]/", "https://[3fff::1]/"]
)
def test_more_embedded_and_documentation_ranges(url: str, no_dns: DnsResolver) -> None:
    with pytest.raises(UnsafeTarget) as refusal:
        check_url(url, allow_private=False, resolver=no_dns)
    assert refusal.value.code == "PRIVATE_ADDRESS"


def test_private_targets_allowed_still_never_reach_the_metadata_service(
    no_dns: DnsResolver,
) -> None:
    with pytest.raises(UnsafeTarget):
        check_url("http://169.254.169.254/latest/meta-data", allow_private=True, resolver=no_dns)
    assert check_url("http://127.0.0.1:8080/x", allow_private=True, resolver=no_dns).port == 8080


@pytest.mark.parametrize(
    "url", ["https://example.com/a b", "https://example.com:0/", "https://exa\nmple.com/"]
)
def test_urls_that_could_never_be_sent_to_are_refused(url: str, no_dns: DnsResolver) -> None:
    with pytest.raises(UnsafeTarget) as refusal:
        check_url(url, allow_private=False, resolver=no_dns)
    assert refusal.value.code == "INVALID_URL"


def test_an_idn_host_is_sent_as_punycode(knot, label: str) -> None:
    knot.set(f"xn--bcher-kva.{label}.example.test", "A", "93.184.216.34")
    resolver = DnsResolver(ResolverConfig(nameservers=(("127.0.0.1", knot.port),), timeout=1))

    target = check_url(
        f"https://bücher.{label}.example.test/h", allow_private=False, resolver=resolver
    )

    assert target.host == f"xn--bcher-kva.{label}.example.test"
    assert target.address == "93.184.216.34"


def test_the_deploy_checklist_refuses_private_webhook_targets() -> None:
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 20 + "Zq8#kL2!vN5@pR7$tW9%yB4^" + "m" * 20,
        "ALLOWED_HOSTS": "d.example.com",
        "TRUSTED_PROXY_HOPS": "1",
        "DATABASE_URL": "sqlite:///unused.sqlite3",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "domainkeeper.W002" in result.stderr
    assert connection.vendor and override_settings
