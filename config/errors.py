"""Errors that services raise on purpose. Each carries a stable code and an HTTP status, so
the API layer can answer with the envelope without knowing about the service."""

from typing import Any


class ServiceError(Exception):
    """A refusal the caller can act on. `friendly_message` is what the dashboard's internal
    API shows instead of `message` when the two differ."""

    code = "BAD_REQUEST"
    status = 400
    message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: dict[str, list[str]] | None = None,
        friendly_message: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors or {}
        self.friendly_message = friendly_message
        self.extra = extra or {}
        self.headers = headers or {}  # e.g. Retry-After on a 429
        super().__init__(self.message)

    @property
    def dashboard_message(self) -> str:
        """What a person in the dashboard (pages or internal API) reads."""
        return self.friendly_message or self.message


class NotFoundError(ServiceError):
    code = "NOT_FOUND"
    status = 404
    message = "Not found."


class ConflictError(ServiceError):
    code = "CONFLICT"
    status = 409
    message = "The request conflicts with the current state."


class InvalidInputError(ServiceError):
    code = "VALIDATION_ERROR"
    status = 400
    message = "Invalid input."
