from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws

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
