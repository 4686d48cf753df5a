"""What the sync and async clients share: configuration, headers, retry decisions, SSE parsing."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import httpx

from ._errors import error_for, parse_retry_after

JSON = dict[str, Any]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: Read timeout of an open stream: longer than the server's keep-alive comments (15 s by default).
DEFAULT_STREAM_READ_TIMEOUT = 60.0
CONSISTENCY_HEADER = "X-Consistency-Token"


@dataclass(frozen=True)
class RetryPolicy:
    """How requests are retried on ``503``, ``429`` and connection errors.

    Attributes:
        max_attempts: attempts in all, the first included (1 turns retries off).
        backoff_initial: the first delay in seconds; it doubles each attempt, with jitter.
        backoff_max: the longest computed delay.
        retry_after_max: the longest ``Retry-After`` honoured; a longer one gives up at once.
    """

    max_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 8.0
    retry_after_max: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up."""
        if attempt >= self.max_attempts:
            return None
        backoff = min(self.backoff_max, self.backoff_initial * (2.0 ** (attempt - 1)))
        backoff *= 0.5 + random.random() / 2
        if retry_after is not None:
            if retry_after > self.retry_after_max:
                return None
            return max(retry_after, backoff)
        return backoff


@dataclass
class RequestSpec:
    """One API call before it is sent."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    #: ``Idempotency-Key`` value, generated once and reused by every retry.
    idempotency_key: str | None = None
    #: Whether a request that may have reached the server can be sent again.
    resendable: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    #: Whether the client's last consistency token goes with it (reads only).
    send_consistency: bool = True

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key`` (uuid4)."""
    return str(uuid.uuid4())


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the ``None`` ones, booleans as ``true``/``false``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def clean_body(**fields: Any) -> JSON:
    """A JSON body without the fields left at ``None``."""
    return {k: v for k, v in fields.items() if v is not None}


def identity_headers(token: str | None, user_id: str | None, roles: Sequence[str] | str | None) -> dict[str, str]:
    """``Authorization`` for ``AUTH_MODE=jwt``, or ``X-User-ID``/``X-User-Roles`` for ``AUTH_MODE=none``."""
    headers: dict[str, str] = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if user_id is not None:
        headers["X-User-ID"] = user_id
    if roles:
        headers["X-User-Roles"] = roles if isinstance(roles, str) else ",".join(roles)
    return headers


class ConsistencyState:
    """The last ``X-Consistency-Token`` a write returned, sent on later reads."""

    def __init__(self) -> None:
        self.token: str | None = None

    def remember(self, spec: RequestSpec, response: httpx.Response) -> None:
        if spec.is_write:
            token = response.headers.get(CONSISTENCY_HEADER)
            if token:
                self.token = token

    def apply(self, spec: RequestSpec, headers: dict[str, str]) -> None:
        if not spec.is_write and spec.send_consistency and self.token is not None:
            headers[CONSISTENCY_HEADER] = self.token


def retry_after_of(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


def response_is_retryable(spec: RequestSpec, response: httpx.Response) -> bool:
    """``503`` and ``429`` always; a ``409`` with ``Retry-After`` (the same key still in flight)."""
    if response.status_code in (429, 503):
        return True
    return response.status_code == 409 and spec.idempotency_key is not None and "retry-after" in response.headers


def exception_is_retryable(spec: RequestSpec, exc: httpx.TransportError) -> bool:
    """A request that never left (connect errors) always; one that may have arrived only when resendable."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True
    return spec.resendable


def decode(response: httpx.Response, spec: RequestSpec, attempts: int) -> Any:
    """The decoded body of a successful response (``None`` for 204), else raise the API error."""
    if response.status_code >= 400:
        raise error_for(response, attempts=attempts)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


@dataclass
class Event:
    """One Server-Sent Event of a session stream.

    Attributes:
        event: ``message``, ``research``, ``session`` or ``deleted``.
        data: the decoded JSON payload (a Message, ResearchRequest or Session), or ``None``.
        id: the event id (the message's seq for ``message`` events), or ``None``.
    """

    event: str
    data: Any
    id: str | None = None


class SSEDecoder:
    """An incremental ``text/event-stream`` parser: feed it lines, it returns events."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, line: str) -> Event | None:
        """Feed one line (without its end of line); returns an event on a blank line."""
        if line == "":
            if not self._data and not self._event:
                self._id = None
                return None
            raw = "\n".join(self._data)
            try:
                data: Any = json.loads(raw) if raw else None
            except ValueError:
                data = raw
            event = Event(event=self._event or "message", data=data, id=self._id)
            self._event, self._data, self._id = "", [], None
            return event
        if line.startswith(":"):
            return None  # a comment: the keep-alive
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


class StreamState:
    """What a reconnecting stream remembers: the last message seq it delivered."""

    def __init__(self, after_seq: int | None) -> None:
        self.last_seq: int | None = after_seq
        self.reconnects = 0
        self.ended = False

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last_seq)} if self.last_seq is not None else {}

    def accept(self, event: Event) -> bool:
        """Whether to deliver ``event`` (a message at or below the last seq is a duplicate)."""
        if event.event == "message":
            seq = _seq_of(event)
            if seq is not None:
                if self.last_seq is not None and seq <= self.last_seq:
                    return False
                self.last_seq = seq
        elif event.event == "deleted":
            self.ended = True
        return True


def _seq_of(event: Event) -> int | None:
    if event.id is not None and event.id.isdigit():
        return int(event.id)
    if isinstance(event.data, dict) and isinstance(event.data.get("seq"), int):
        return int(event.data["seq"])
    return None


#: Transport errors after which a stream reconnects.
STREAM_RECONNECT_ERRORS: tuple[type[BaseException], ...] = (httpx.TransportError,)
