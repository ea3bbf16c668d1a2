from collections.abc import Iterator

import pytest

from accounts.models import Tenant
from accounts.services import tenant_create
from tests.conftest import OrgTrio
from tests.webhook_receiver import WebhookReceiver
from webhooks.models import WebhookEndpoint
from webhooks.services import endpoint_create


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def endpoint_and_secret(trio: OrgTrio, receiver: WebhookReceiver) -> tuple[WebhookEndpoint, str]:
    return endpoint_create(organization=trio.organization, url=receiver.url())


@pytest.fixture
def endpoint(endpoint_and_secret: tuple[WebhookEndpoint, str]) -> WebhookEndpoint:
    return endpoint_and_secret[0]


@pytest.fixture
def tenant(trio: OrgTrio) -> Tenant:
    return tenant_create(organization=trio.organization, name="Retail")
