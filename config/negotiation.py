from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

ANYTHING = {"", "*/*", "application/json"}


class QuickContentNegotiation(DefaultContentNegotiation):
    """Our API speaks JSON only: a view whose one renderer is JSON and a client that takes
    anything (or JSON) have nothing to negotiate, so the Accept header is not parsed. Any other
    Accept header goes through DRF's negotiation (and its 406)."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        if (
            len(renderers) == 1
            and renderers[0].media_type == "application/json"
            and format_suffix is None
            and request.META.get("HTTP_ACCEPT", "") in ANYTHING
            and not request.query_params.get(self.settings.URL_FORMAT_OVERRIDE or "")
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
