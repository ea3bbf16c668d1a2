from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.stub import Stubber
from django.utils import timezone
from moto import mock_aws

from domains.models import SendingDomain
from domains.providers.ses import reset_clients, ses_client


@pytest.fixture
def aws(monkeypatch) -> Iterator[None]:
    """A fake AWS account (moto) with fresh SES clients."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    reset_clients()
    with mock_aws():
        yield
    reset_clients()


@contextmanager
def stubbed_ses(region: str = "us-east-1") -> Iterator[Stubber]:
    """botocore's Stubber on the cached client, for the answers moto cannot give."""
    stubber = Stubber(ses_client(region))
    with stubber:
        yield stubber


def identity(
    *,
    tokens: list[str],
    verified: bool = False,
    dkim_status: str = "PENDING",
    error_type: str | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "IdentityType": "DOMAIN",
        "VerifiedForSendingStatus": verified,
        "DkimAttributes": {"SigningEnabled": True, "Status": dkim_status, "Tokens": tokens},
    }
    if error_type:
        response["VerificationInfo"] = {"ErrorType": error_type}
    return response


@pytest.fixture
def ses(settings, aws: None) -> None:
    """Domains added from here on use the SES provider (on moto)."""
    settings.EMAIL_PROVIDER = "ses"


def verified(domain: SendingDomain) -> SendingDomain:
    """The domain as if its checks had passed (for tests about what verified domains do)."""
    SendingDomain.objects.filter(pk=domain.pk).update(status="verified", verified_at=timezone.now())
    domain.refresh_from_db()
    return domain
