"""Who is acting, and from where, without threading it through every call site.

A request sets the context in `AuditContextMiddleware`; the actor is read when an event is
recorded, so an API key that DRF authenticates inside the view is seen. Celery tasks act as
`system` and the cron endpoint as `cron` through `acting_as()`."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.models import ActorType

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)
_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)
_extra_context: ContextVar[dict[str, Any] | None] = ContextVar("audit_extra", default=None)


@dataclass(frozen=True)
class Actor:
    type: str  # an ActorType
    id: str = ""
    name: str = ""

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorType.SYSTEM, "", name)

    @classmethod
    def cron(cls, name: str = "cron") -> Actor:
        return cls(ActorType.CRON, "", name)


@dataclass(frozen=True)
class Capture:
    actor: Actor
    context: dict[str, Any] = field(default_factory=dict)


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_HOPS proxies in front, the address the outermost
    of them saw: the entry that many places from the right of X-Forwarded-For."""
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        return remote
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [p for p in forwarded if p]
    if len(forwarded) < hops:
        return remote
    candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def surface_of(path: str) -> str:
    for prefix, surface in (
        ("/api/v1/", "api"),
        ("/api/internal/", "dashboard_api"),
        ("/admin/", "admin"),
        ("/api/cron/", "cron"),
    ):
        if path.startswith(prefix):
            return surface
    return "dashboard"


def actor_from_request(request: HttpRequest) -> Actor:
    user = getattr(request, "user", None)
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return Actor(ActorType.API_KEY, api_key.pk, f"{api_key.name} ({api_key.prefix})")
    if user is not None and user.is_authenticated:
        return Actor(ActorType.USER, str(user.pk), user.email)
    return Actor(ActorType.ANONYMOUS)


def current() -> Capture:
    """The actor and context an event recorded now belongs to."""
    request = _request.get()
    extra = _extra_context.get() or {}
    actor = _actor.get()
    if request is not None:
        context = {
            "ip": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:512],
            "request_id": getattr(request, "request_id", ""),
            "surface": surface_of(request.path),
            **extra,
        }
        return Capture(actor or actor_from_request(request), context)
    return Capture(actor or Actor.system(), dict(extra))


@contextmanager
def acting_as(actor: Actor, **context: Any) -> Iterator[None]:
    """Everything recorded inside acts as `actor` (a task, a cron run, a command)."""
    actor_token = _actor.set(actor)
    context_token = _extra_context.set({**(_extra_context.get() or {}), **context})
    try:
        yield
    finally:
        _extra_context.reset(context_token)
        _actor.reset(actor_token)


class AuditContextMiddleware:
    """Gives each request an id (the caller's X-Request-ID when it is sane) and makes the
    request the audit context for everything recorded while it runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
