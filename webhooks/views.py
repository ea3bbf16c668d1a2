"""Dashboard pages for webhooks: the endpoint list with its create form, each endpoint's
page (edit, rotate, enable or disable, test, recover, delete, its deliveries) and each
delivery's attempts with a resend. A new or rotated secret is rendered in the response
to the POST that made it, never stored or shown again. Every change needs the owner
role, checked here on the server, not only hidden in the template."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.dashboard import (
    dashboard_page,
    require_permission,
    shown_once,
    submit_form,
)
from config.errors import ServiceError
from webhooks.forms import EndpointForm, RecoverForm
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    delivery_resend,
    endpoint_create,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
    endpoint_recover,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

MANAGE = "organization.manage"
DELIVERIES_PER_PAGE = 25


def _endpoint(request: HttpRequest, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint if it belongs to the organization the page acts in; a 404 otherwise."""
    return get_object_or_404(
        WebhookEndpoint.objects.select_related("tenant"),
        pk=endpoint_id,
        organization=request.organization,
    )


@dashboard_page
@require_http_methods(["GET", "POST"])
def endpoint_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = EndpointForm(organization=organization)
    created: tuple[WebhookEndpoint, str] | None = None
    if request.method == "POST":
        require_permission(request, MANAGE)
        form = EndpointForm(request.POST, organization=organization)
        created = submit_form(
            form,
            lambda data: endpoint_create(
                organization=organization,
                url=data["url"],
                description=data["description"],
                event_types=data["event_types"],
                tenant=data.get("tenant"),
            ),
        )
        if created is not None:
            form = EndpointForm(organization=organization)
    endpoints = WebhookEndpoint.objects.filter(organization=organization).select_related("tenant")
    response = render(
        request,
        "webhooks/list.html",
        {
            "endpoints": endpoints,
            "form": form,
            "created": created[0] if created else None,
            "secret": created[1] if created else None,
        },
        status=400 if form.errors else 200,
    )
    return shown_once(response) if created else response


def _detail(
    request: HttpRequest,
    endpoint: WebhookEndpoint,
    *,
    form: EndpointForm | None = None,
    recover_form: RecoverForm | None = None,
    secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    wanted_status = request.GET.get("status", "")
    if wanted_status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=wanted_status)
    page = Paginator(deliveries.order_by("-created_at", "-pk"), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "tenant": endpoint.tenant_id,
    }
    context: dict[str, Any] = {
        "endpoint": endpoint,
        "form": form or EndpointForm(initial=initial, organization=request.organization),
        "recover_form": recover_form or RecoverForm(),
        "page": page,
        "statuses": WebhookDelivery.Status.choices,
        "wanted_status": wanted_status,
        "secret": secret,
    }
    response = render(request, "webhooks/detail.html", context, status=status)
    return shown_once(response) if secret else response


@dashboard_page
@require_http_methods(["GET", "POST"])
def endpoint_detail(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """The endpoint's page; a POST saves the edit form."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "GET":
        return _detail(request, endpoint)
    require_permission(request, MANAGE)
    form = EndpointForm(request.POST, organization=request.organization)

    def act(data: dict[str, Any]) -> str:
        options: dict[str, Any] = {
            "url": data["url"],
            "description": data["description"],
            "event_types": data["event_types"],
        }
        if "tenant" in form.fields:
            options["tenant"] = data["tenant"]
        endpoint_update(endpoint=endpoint, **options)
        return "Endpoint saved."

    done = submit_form(form, act)
    if done is None:
        return _detail(request, endpoint, form=form, status=400)
    messages.success(request, done)
    return redirect("dashboard-webhook", endpoint_id=endpoint.pk)


@dashboard_page
@require_POST
def endpoint_rotate(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    require_permission(request, MANAGE)
    secret = endpoint_rotate_secret(endpoint=endpoint)
    return _detail(request, endpoint, secret=secret)


def _button(
    request: HttpRequest, endpoint_id: str, act: Callable[[WebhookEndpoint], str], refused: str
) -> HttpResponse:
    """An owner's button on the endpoint's page: what it did, or why not, told there."""
    endpoint = _endpoint(request, endpoint_id)
    require_permission(request, MANAGE)
    try:
        done = act(endpoint)
    except ServiceError as exc:
        messages.error(request, f"{refused}: {exc.dashboard_message}")
    else:
        messages.success(request, done)
    return redirect("dashboard-webhook", endpoint_id=endpoint.pk)


@dashboard_page
@require_POST
def endpoint_enable_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    def act(endpoint: WebhookEndpoint) -> str:
        endpoint_enable(endpoint=endpoint)
        return "Endpoint enabled. New events are sent to it again."

    return _button(request, endpoint_id, act, "Not enabled")


@dashboard_page
@require_POST
def endpoint_disable_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    def act(endpoint: WebhookEndpoint) -> str:
        endpoint_disable(
            endpoint=endpoint,
            reason=f"Disabled by {request.user.email} in the dashboard.",
            actor=None,
            notify=False,
        )
        return "Endpoint disabled. Messages still queued for it are cancelled."

    return _button(request, endpoint_id, act, "Not disabled")


@dashboard_page
@require_POST
def endpoint_test(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    def act(endpoint: WebhookEndpoint) -> str:
        event = endpoint_send_test(endpoint=endpoint)
        return f"Test event {event.pk} queued. Its delivery is listed below."

    return _button(request, endpoint_id, act, "Not sent")


@dashboard_page
@require_POST
def endpoint_recover_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    require_permission(request, MANAGE)

    def act(data: dict[str, Any]) -> str:
        count = endpoint_recover(endpoint=endpoint, since=data["since"])
        noun = "message" if count == 1 else "messages"
        return f"{count} failed {noun} queued again."

    form = RecoverForm(request.POST)
    done = submit_form(form, act)
    if done is None:
        return _detail(request, endpoint, recover_form=form, status=400)
    messages.success(request, done)
    return redirect("dashboard-webhook", endpoint_id=endpoint.pk)


@dashboard_page
@require_POST
def endpoint_delete_view(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    require_permission(request, MANAGE)
    url = endpoint.url
    endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Endpoint {url} deleted. Nothing more is sent to it.")
    return redirect("dashboard-webhooks")


def _delivery(request: HttpRequest, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    endpoint = _endpoint(request, endpoint_id)
    return get_object_or_404(
        WebhookDelivery.objects.select_related("event", "endpoint"),
        pk=delivery_id,
        endpoint=endpoint,
    )


@dashboard_page
@require_GET
def delivery_detail(request: HttpRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    delivery = _delivery(request, endpoint_id, delivery_id)
    return render(
        request,
        "webhooks/delivery.html",
        {
            "delivery": delivery,
            "endpoint": delivery.endpoint,
            "attempts": delivery.attempt_log.order_by("number"),
        },
    )


@dashboard_page
@require_POST
def delivery_resend_view(request: HttpRequest, endpoint_id: str, delivery_id: str) -> HttpResponse:
    delivery = _delivery(request, endpoint_id, delivery_id)
    require_permission(request, MANAGE)
    try:
        again = delivery_resend(delivery=delivery)
    except ServiceError as exc:
        messages.error(request, f"Not resent: {exc.dashboard_message}")
        return redirect(
            "dashboard-webhook-delivery", endpoint_id=endpoint_id, delivery_id=delivery.pk
        )
    messages.success(request, "Message queued again, with the same webhook-id.")
    return redirect("dashboard-webhook-delivery", endpoint_id=endpoint_id, delivery_id=again.pk)
