"""ResearchStore client: sync (:class:`Client`) and async (:class:`AsyncClient`) access to the
ResearchStore HTTP API, with idempotent retries, pagination, typed errors, read-your-writes
consistency tokens and a self-resuming session stream."""

from ._core import Event, RetryPolicy
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ResearchStoreError,
    ServiceUnavailableError,
    TransportError,
    ValidationError,
)
from .async_client import AsyncClient, AsyncSessionStream
from .client import Client, SessionStream

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncClient",
    "AsyncSessionStream",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Event",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ResearchStoreError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "SessionStream",
    "TransportError",
    "ValidationError",
]
