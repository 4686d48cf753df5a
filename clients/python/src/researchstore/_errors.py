"""Exceptions raised by the ResearchStore clients."""

from __future__ import annotations

from typing import Any

import httpx


class ResearchStoreError(Exception):
    """Base class of every error this package raises."""


class TransportError(ResearchStoreError):
    """The server could not be reached (or the connection broke) and retries ran out."""

    def __init__(self, message: str, *, attempts: int, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.__cause__ = cause


class APIError(ResearchStoreError):
    """An error response, carrying the fields of its RFC 9457 problem+json body.

    Attributes:
        status: the HTTP status code.
        title, detail, type, request_id: the problem fields (``None`` when absent).
        errors: ``[{"field": ..., "message": ...}, ...]``, empty when the server named no field.
        problem: the whole decoded body (e.g. ``problem["current_seq"]`` on an expected_seq 409).
        retry_after: the ``Retry-After`` header in seconds, if any.
        attempts: how many attempts were made before giving up.
    """

    def __init__(self, response: httpx.Response, *, attempts: int = 1) -> None:
        problem: dict[str, Any] = {}
        try:
            decoded = response.json()
            if isinstance(decoded, dict):
                problem = decoded
        except ValueError:
            pass
        self.response = response
        self.status: int = response.status_code
        self.problem: dict[str, Any] = problem
        self.type: str | None = problem.get("type")
        self.title: str | None = problem.get("title") or response.reason_phrase
        self.detail: str | None = problem.get("detail")
        self.request_id: str | None = problem.get("request_id") or response.headers.get("x-request-id")
        raw_errors = problem.get("errors")
        self.errors: list[dict[str, Any]] = list(raw_errors) if isinstance(raw_errors, list) else []
        self.retry_after: float | None = parse_retry_after(response.headers.get("retry-after"))
        self.attempts = attempts
        message = f"{self.status} {self.title}"
        if self.detail:
            message += f": {self.detail}"
        if self.errors:
            message += " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in self.errors) + ")"
        super().__init__(message)

    def __getitem__(self, key: str) -> Any:
        """Any other problem field, e.g. ``err["current_seq"]``."""
        return self.problem[key]

    @property
    def current_seq(self) -> int | None:
        """The session's last seq on an ``expected_seq`` mismatch (409)."""
        value = self.problem.get("current_seq")
        return value if isinstance(value, int) else None

    @property
    def current_status(self) -> str | None:
        """The research request's status on a refused transition (409)."""
        value = self.problem.get("current_status")
        return value if isinstance(value, str) else None


class BadRequestError(APIError):
    """400: malformed JSON, bad cursor, bad header."""


class AuthenticationError(APIError):
    """401: no or bad credentials."""


class PermissionDeniedError(APIError):
    """403: the caller lacks the role."""


class NotFoundError(APIError):
    """404: unknown id, or one the caller may not see."""


class ConflictError(APIError):
    """409: invalid state change, duplicate, expected_seq mismatch, lost lease."""


class PayloadTooLargeError(APIError):
    """413: the body is over the limit."""


class ValidationError(APIError):
    """422: fields out of range, missing or of the wrong type (see ``errors``)."""


class RateLimitedError(APIError):
    """429: rate limited (after the client's retries)."""


class ServiceUnavailableError(APIError):
    """503: database unreachable, pool or slots exhausted (after the client's retries)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}


def error_for(response: httpx.Response, *, attempts: int = 1) -> APIError:
    """The exception matching ``response``'s status."""
    return _BY_STATUS.get(response.status_code, APIError)(response, attempts=attempts)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
