"""The response envelope every API answer uses (shared/DESIGN.md, API conventions):

    {"success": true, "message": "...", "data": {...}}
    {"success": false, "code": "UPPER_SNAKE", "message": "...", "errors": {"field": ["..."]}}

Views answer with `respond()`, DRF errors and `ServiceError`s go through
`api_exception_handler`, Django's own 400/404/500 on /api/ paths through `api_aware_*`,
lists through `config.pagination`, and the OpenAPI schema shows the same shapes through
`config.schema`."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.errors import ServiceError


def respond(data: Any = None, message: str = "OK", *, status: int = 200) -> Response:
    return Response({"success": True, "message": message, "data": data}, status=status)


def error_body(
    code: str, message: str, errors: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"success": False, "code": code, "message": message, "errors": errors or {}, **extra}


def _flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF error details nest like the data they describe; the envelope wants
    `{"field": ["message", ...]}` with dotted names for nested fields."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            # A list's own error ("may not be empty") belongs to the list's field.
            if key == "non_field_errors" and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten_errors(value, name))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "non_field_errors": [str(detail)]}


def _first_message(errors: dict[str, list[str]]) -> str:
    for field, messages in errors.items():
        if messages:
            return messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}"
    return "Invalid input."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    view = context.get("view")
    headers: dict[str, str] = {}
    if isinstance(exc, ServiceError):
        internal = getattr(view, "api_surface", None) == "internal"
        message = exc.dashboard_message if internal else exc.message
        body = error_body(exc.code, message, exc.errors, **exc.extra)
        set_rollback()
        return Response(body, status=exc.status, headers=exc.headers or None)

    if isinstance(exc, RequestDataTooBig):
        set_rollback()
        return Response(error_body("REQUEST_TOO_LARGE", "The request body is too large."), 413)
    if isinstance(exc, SuspiciousOperation):
        set_rollback()
        return Response(error_body("MALFORMED_REQUEST", "The request is malformed."), 400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let it be a 500 with a traceback in the log

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten_errors(exc.detail)
        body = error_body("VALIDATION_ERROR", _first_message(errors), errors)
    else:
        codes = exc.get_codes()
        code = codes.upper() if isinstance(codes, str) else exc.default_code.upper()
        if isinstance(exc, exceptions.ParseError):
            code = "MALFORMED_REQUEST"
        body = error_body(code, str(exc.detail))
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


def _is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_aware_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api_path(request):
        return JsonResponse(
            error_body("MALFORMED_REQUEST", "The request is malformed."), status=400
        )
    return defaults.bad_request(request, exception)


def api_aware_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api_path(request):
        return JsonResponse(error_body("NOT_FOUND", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def api_aware_500(request: HttpRequest) -> HttpResponse:
    if _is_api_path(request):
        body = error_body("INTERNAL_ERROR", "Something went wrong on our side; it has been logged.")
        return JsonResponse(body, status=500)
    return defaults.server_error(request)
