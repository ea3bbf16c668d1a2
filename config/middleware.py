from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from config.envelope import error_body


class RejectNulBytesMiddleware:
    """A NUL byte in a path or query string is never meaningful, and PostgreSQL refuses it in any
    text comparison: refused up front with the envelope, not a 500 deep in a query."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            "\x00" in request.path
            or "\x00" in request.META.get("QUERY_STRING", "")
            or any(
                "\x00" in key or any("\x00" in v for v in values)
                for key, values in request.GET.lists()
            )
        ):
            body = error_body("MALFORMED_REQUEST", "The request contains a NUL byte.")
            return JsonResponse(body, status=400)
        return self.get_response(request)
