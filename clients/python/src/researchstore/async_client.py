"""The asynchronous client: the same surface as :class:`~researchstore.Client`, awaited."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any, AsyncGenerator, AsyncIterator, Mapping, Sequence, cast

import httpx

from . import _endpoints as ep
from ._core import (
    DEFAULT_STREAM_READ_TIMEOUT,
    DEFAULT_TIMEOUT,
    JSON,
    ConsistencyState,
    Event,
    RequestSpec,
    RetryPolicy,
    SSEDecoder,
    StreamState,
    clean_body,
    decode,
    exception_is_retryable,
    identity_headers,
    response_is_retryable,
    retry_after_of,
)
from ._errors import TransportError, error_for


class AsyncClient:
    """An asynchronous ResearchStore client (``httpx.AsyncClient`` underneath).

    The same arguments, methods and behaviour as :class:`~researchstore.Client`: methods are
    coroutines, list calls and :meth:`stream_session` are async iterators. Use it with
    ``async with`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        user_id: str | None = None,
        roles: Sequence[str] | str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        stream_read_timeout: float = DEFAULT_STREAM_READ_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        event_hooks: Mapping[str, list[Any]] | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.consistency = ConsistencyState()
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._stream_timeout = httpx.Timeout(self._timeout.connect or 5.0, read=stream_read_timeout)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=identity_headers(token, user_id, roles),
            timeout=self._timeout,
            transport=transport,
            event_hooks=dict(event_hooks) if event_hooks else None,
        )

    # Plumbing

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def consistency_token(self) -> str | None:
        """The last ``X-Consistency-Token`` a write returned (sent on later reads)."""
        return self.consistency.token

    async def _send(self, spec: RequestSpec, *, stream: bool = False, timeout: httpx.Timeout | None = None) -> tuple[httpx.Response, int]:
        """Send ``spec``, retrying per :attr:`retry`; returns the final response and the attempts made."""
        attempt = 0
        while True:
            attempt += 1
            headers = dict(spec.headers)
            if spec.idempotency_key is not None:
                headers["Idempotency-Key"] = spec.idempotency_key
            self.consistency.apply(spec, headers)
            request = self._http.build_request(
                spec.method, spec.path, params=spec.params, json=spec.json, headers=headers,
                timeout=timeout or self._timeout,
            )
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self.retry.delay(attempt, None) if exception_is_retryable(spec, exc) else None
                if delay is None:
                    raise TransportError(f"{spec.method} {spec.path}: {exc!r}", attempts=attempt, cause=exc) from exc
                await asyncio.sleep(delay)
                continue
            self.consistency.remember(spec, response)
            if response_is_retryable(spec, response):
                delay = self.retry.delay(attempt, retry_after_of(response))
                if delay is not None:
                    await response.aclose()
                    await asyncio.sleep(delay)
                    continue
            return response, attempt

    async def _call(self, spec: RequestSpec) -> JSON:
        # A 204 decodes to None: only the calls that can answer 204 return it.
        response, attempts = await self._send(spec)
        return cast(JSON, decode(response, spec, attempts))

    async def _pages(self, spec: RequestSpec) -> AsyncIterator[JSON]:
        cursor: str | None = None
        while True:
            params = dict(spec.params or {})
            if cursor is not None:
                params["cursor"] = cursor
            page = await self._call(RequestSpec("GET", spec.path, params=params))
            yield page
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def _items(self, spec: RequestSpec) -> AsyncIterator[JSON]:
        async for page in self._pages(spec):
            for item in page.get("items", []):
                yield item

    # Sessions

    async def create_session(self, title: str, *, user_id: str | None = None, metadata: Mapping[str, Any] | None = None, idempotency_key: str | None = None) -> JSON:
        """``POST /db/sessions/create`` → the Session."""
        return await self._call(ep.create_session(title, user_id, metadata, idempotency_key))

    async def get_session(self, session_id: str) -> JSON:
        """``GET /db/sessions/{id}`` → the Session."""
        return await self._call(ep.get_session(session_id))

    async def update_session(self, session_id: str, *, title: str | None = None, status: str | None = None, metadata: Mapping[str, Any] | None = None) -> JSON:
        """``PATCH /db/sessions/{id}`` (``metadata`` replaces the whole object) → the Session."""
        return await self._call(ep.update_session(session_id, title, status, metadata))

    async def delete_session(self, session_id: str) -> None:
        """``DELETE /db/sessions/{id}``: the session and everything under it."""
        await self._call(ep.delete_session(session_id))

    def list_sessions(self, *, user_id: str | None = None, status: str | None = None, page_size: int | None = None) -> AsyncIterator[JSON]:
        """Every session of the caller (or of ``user_id``), most recently active first, across pages."""
        return self._items(ep.list_sessions(user_id, status, page_size))

    async def fork_session(self, session_id: str, *, up_to_seq: int | None = None, title: str | None = None, idempotency_key: str | None = None) -> JSON:
        """``POST /db/sessions/{id}/fork`` → the new Session."""
        return await self._call(ep.fork_session(session_id, up_to_seq, title, idempotency_key))

    # Messages

    async def store_message(
        self, session_id: str, role: str, content: str, *, token_count: int | None = None, model: str | None = None,
        metadata: Mapping[str, Any] | None = None, expected_seq: int | None = None, idempotency_key: str | None = None,
    ) -> JSON:
        """``POST /db/messages/store`` → the Message. A wrong ``expected_seq`` raises
        :class:`~researchstore.ConflictError` with ``current_seq``."""
        return await self._call(ep.store_message(session_id, role, content, token_count, model, metadata, expected_seq, idempotency_key))

    async def store_messages(self, session_id: str, messages: Sequence[Mapping[str, Any]], *, expected_seq: int | None = None, idempotency_key: str | None = None) -> list[JSON]:
        """``POST /db/messages/batch`` (all or nothing, in order) → the stored Messages."""
        return list((await self._call(ep.store_messages(session_id, messages, expected_seq, idempotency_key)))["items"])

    async def get_message(self, message_id: str) -> JSON:
        """``GET /db/messages/{id}`` → the Message."""
        return await self._call(ep.get_message(message_id))

    def list_messages(self, session_id: str, *, order: str | None = None, page_size: int | None = None) -> AsyncIterator[JSON]:
        """Every message of the session by seq (``order="desc"`` for newest first), across pages."""
        return self._items(ep.list_messages(session_id, order, page_size))

    def message_pages(self, session_id: str, *, order: str | None = None, page_size: int | None = None) -> AsyncIterator[JSON]:
        """The session's messages page by page: ``{"items": [...], "next_cursor": ...}``."""
        return self._pages(ep.list_messages(session_id, order, page_size))

    # Context and tokens

    async def get_context(self, session_id: str, *, max_tokens: int | None = None, max_messages: int | None = None, encoding: str | None = None) -> JSON:
        """``GET /db/context/{session_id}``; with ``encoding`` (``o200k_base``, ``cl100k_base``) the budget
        is counted exactly in that encoding's chat format."""
        return await self._call(ep.get_context(session_id, max_tokens, max_messages, encoding))

    async def count_tokens(self, encoding: str, *, text: str | None = None, messages: Sequence[Mapping[str, Any]] | None = None) -> JSON:
        """``POST /db/tokens/count`` of ``text`` or of chat ``messages`` → ``{"encoding", "tokens"}``."""
        return await self._call(ep.count_tokens(encoding, text, messages))

    # Research

    async def create_research(self, session_id: str, question: str, workflow_type: str, *, parameters: Mapping[str, Any] | None = None, idempotency_key: str | None = None) -> JSON:
        """``POST /db/research/create`` → the ResearchRequest (``pending``)."""
        return await self._call(ep.create_research(session_id, question, workflow_type, parameters, idempotency_key))

    async def get_research(self, research_id: str) -> JSON:
        """``GET /db/research/{id}`` → the ResearchRequest with its ``history``."""
        return await self._call(ep.get_research(research_id))

    async def update_research(self, research_id: str, status: str, *, result: Mapping[str, Any] | None = None, error: str | None = None, sources: Sequence[str] | None = None) -> JSON:
        """``PATCH /db/research/{id}``: a status transition → the ResearchRequest."""
        return await self._call(ep.update_research(research_id, status, result, error, sources))

    def list_research(self, *, session_id: str | None = None, status: str | None = None, workflow_type: str | None = None, page_size: int | None = None) -> AsyncIterator[JSON]:
        """Research requests, newest first, across pages."""
        return self._items(ep.list_research(session_id, status, workflow_type, page_size))

    async def claim_research(self, *, workflow_types: Sequence[str] | None = None, lease_seconds: int | None = None) -> JSON | None:
        """``POST /db/research/claim`` (role ``worker``) → the claimed request, or ``None`` when none is pending."""
        return await self._call(ep.claim_research(workflow_types, lease_seconds))

    async def heartbeat_research(self, research_id: str, *, lease_seconds: int | None = None) -> JSON:
        """``POST /db/research/{id}/heartbeat``: extend the lease (``ConflictError`` once it is lost)."""
        return await self._call(ep.heartbeat_research(research_id, lease_seconds))

    # Analytics

    async def log_event(self, event_type: str, *, session_id: str | None = None, properties: Mapping[str, Any] | None = None, duration_ms: float | None = None, occurred_at: str | None = None, idempotency_key: str | None = None) -> JSON:
        """``POST /db/analytics/log`` → ``{"accepted": 1}``."""
        return await self._call(ep.log_event(event_type, session_id, properties, duration_ms, occurred_at, idempotency_key))

    async def log_events(self, events: Sequence[Mapping[str, Any]], *, idempotency_key: str | None = None) -> JSON:
        """``POST /db/analytics/batch`` (all or nothing) → ``{"accepted": N}``."""
        return await self._call(ep.log_events(events, idempotency_key))

    async def analytics_summary(self, *, from_: str | None = None, to: str | None = None, event_type: str | None = None, bucket: str | None = None) -> JSON:
        """``GET /db/analytics/summary``: counts per event type and bucket, duration percentiles."""
        return await self._call(ep.analytics_summary(from_, to, event_type, bucket))

    async def session_analytics(self, session_id: str) -> JSON:
        """``GET /db/analytics/sessions/{id}``: one session's figures."""
        return await self._call(ep.session_analytics(session_id))

    # LLM usage, feedback, admin statistics

    async def record_llm_usage(
        self, provider: str, model: str, prompt_tokens: int, completion_tokens: int, duration_ms: float, *,
        cost_usd: float | None = None, session_id: str | None = None, research_id: str | None = None,
        request_id: str | None = None, idempotency_key: str | None = None,
    ) -> JSON:
        """``POST /db/llm-usage`` → the usage record."""
        body = {"provider": provider, "model": model, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "duration_ms": duration_ms}
        body.update(clean_body(**{"cost_usd": cost_usd, "session_id": session_id, "research_id": research_id, "request_id": request_id}))
        return await self._call(ep.record_llm_usage(body, idempotency_key))

    async def get_llm_usage(self, usage_id: str) -> JSON:
        """``GET /db/llm-usage/{id}`` → the usage record (the API has no list route for usage)."""
        return await self._call(ep.get_llm_usage(usage_id))

    async def submit_feedback(self, target_type: str, target_id: str, rating: int, *, comment: str | None = None, idempotency_key: str | None = None) -> JSON:
        """``POST /db/feedback`` (a second one on the same target replaces the first) → the Feedback."""
        return await self._call(ep.submit_feedback(target_type, target_id, rating, comment, idempotency_key))

    async def get_feedback(self, feedback_id: str) -> JSON:
        """``GET /db/feedback/{id}`` → the Feedback."""
        return await self._call(ep.get_feedback(feedback_id))

    async def admin_stats(self, kind: str, *, from_: str | None = None, to: str | None = None) -> JSON:
        """``GET /db/admin/stats/{feedback|telemetry|llm}`` (admin)."""
        return await self._call(ep.admin_stats(kind, from_, to))

    # Cache

    async def cache_put(self, key: str, value: Mapping[str, Any], ttl_seconds: int) -> JSON:
        """``PUT /db/cache/{key}`` → ``{"key", "expires_at"}``."""
        return await self._call(ep.cache_put(key, value, ttl_seconds))

    async def cache_get(self, key: str) -> JSON:
        """``GET /db/cache/{key}`` → ``{"value", "expires_at"}`` (``NotFoundError`` once expired)."""
        return await self._call(ep.cache_get(key))

    async def cache_delete(self, key: str) -> None:
        """``DELETE /db/cache/{key}`` (a missing key is fine)."""
        await self._call(ep.cache_delete(key))

    # Users

    async def get_user(self, user_id: str) -> JSON:
        """``GET /db/users/{id}`` → ``{"id", "first_seen", "last_seen", "session_count"}``."""
        return await self._call(ep.get_user(user_id))

    async def erase_user(self, user_id: str) -> None:
        """``DELETE /db/users/{id}``: erase every record of the user."""
        await self._call(ep.erase_user(user_id))

    async def export_user(self, user_id: str, path: str | os.PathLike[str]) -> Path:
        """Stream ``GET /db/users/{id}/export`` into ``path`` (written whole or not at all)."""
        target = Path(path)
        spec = ep.export_user(user_id)
        attempt = 0
        while True:
            attempt += 1
            response, _ = await self._send(spec, stream=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
            try:
                try:
                    if response.status_code >= 400:
                        await response.aread()
                        raise error_for(response, attempts=attempt)
                    with os.fdopen(fd, "wb") as out:
                        async for chunk in response.aiter_bytes():
                            out.write(chunk)
                finally:
                    await response.aclose()
                os.replace(tmp, target)
                return target
            except httpx.TransportError as exc:
                delay = self.retry.delay(attempt, None)
                if delay is None:
                    raise TransportError(f"export of {user_id}: {exc!r}", attempts=attempt, cause=exc) from exc
                await asyncio.sleep(delay)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

    # The session stream

    def stream_session(self, session_id: str, *, after_seq: int | None = None) -> "AsyncSessionStream":
        """The session's events as an async iterator of :class:`Event`, resuming by itself with
        ``Last-Event-ID`` after a dropped connection (see :meth:`Client.stream_session`)."""
        return AsyncSessionStream(self, session_id, after_seq)


class AsyncSessionStream:
    """An async iterator over a session's events that resumes by itself."""

    def __init__(self, client: AsyncClient, session_id: str, after_seq: int | None) -> None:
        self._client = client
        self._path = ep.stream_path(session_id)
        self._state = StreamState(after_seq)
        self._events = self._run()

    @property
    def last_seq(self) -> int | None:
        """The seq of the last message delivered (what a reconnect sends as ``Last-Event-ID``)."""
        return self._state.last_seq

    @property
    def reconnects(self) -> int:
        """How many times the stream reconnected."""
        return self._state.reconnects

    def __aiter__(self) -> "AsyncSessionStream":
        return self

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop following the stream and close its connection."""
        await self._events.aclose()

    async def __aenter__(self) -> "AsyncSessionStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[Event, None]:
        client = self._client
        failures = 0
        decoder = SSEDecoder()
        while True:
            spec = RequestSpec("GET", self._path, headers=self._state.headers(), send_consistency=False)
            response, attempts = await client._send(spec, stream=True, timeout=client._stream_timeout)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_for(response, attempts=attempts)
                decoder = SSEDecoder()
                try:
                    async for line in response.aiter_lines():
                        event = decoder.feed(line)
                        if event is not None and self._state.accept(event):
                            failures = 0
                            yield event
                            if self._state.ended:
                                return
                except httpx.TransportError:
                    pass  # dropped: reconnect below
            finally:
                await response.aclose()
            failures += 1
            self._state.reconnects += 1
            server_hint = decoder.retry_ms / 1000 if decoder.retry_ms is not None else None
            delay = client.retry.delay(failures, server_hint)
            if delay is None:
                raise TransportError(f"stream {self._path}: gave up after {failures} reconnects", attempts=failures)
            await asyncio.sleep(delay)
