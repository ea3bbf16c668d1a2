"""Who is calling. `/api/v1/` takes `Authorization: Bearer <api key>` and nothing else;
`/api/internal/` takes the dashboard's session with its CSRF token."""

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.request import Request

from accounts.models import ApiKey
from accounts.services import API_KEY_PREFIX, api_key_authenticate
from config.errors import ServiceError

# Query parameters a client might try to put a key in. Keys end up in access logs, proxy
# logs and browser history from there, so such a request is refused outright.
KEY_QUERY_PARAMS = {"api_key", "apikey", "api-key", "access_token", "token", "key"}


class ApiKeyPrincipal:
    """`request.user` for a request made with an API key. It is not a person; the key, its
    organization and who created it are on `api_key`."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyInQuery(exceptions.AuthenticationFailed):
    default_detail = (
        "API keys are not accepted in the query string. "
        "Send the header Authorization: Bearer <api key>."
    )
    default_code = "API_KEY_IN_QUERY"


def refuse_key_in_query(request: HttpRequest | Request) -> None:
    for name, values in request.GET.lists():
        if name.lower() in KEY_QUERY_PARAMS or any(
            value.startswith(f"{API_KEY_PREFIX}_") for value in values
        ):
            raise ApiKeyInQuery()


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        refuse_key_in_query(request)
        header = get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <api key>'.", code="INVALID_API_KEY"
            )
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                "The API key is malformed.", code="INVALID_API_KEY"
            ) from exc
        try:
            api_key = api_key_authenticate(raw_key=raw_key)
        except ServiceError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class SessionCsrfAuthentication(SessionAuthentication):
    """The dashboard's session. Answers 401 (not 403) when nobody is signed in, and names a
    failed CSRF check with its own code."""

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="dashboard"'

    def enforce_csrf(self, request: Any) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.",
                code="CSRF_FAILED",
            ) from exc
