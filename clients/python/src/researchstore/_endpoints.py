"""The request specs of every API call, shared by :class:`Client` and :class:`AsyncClient`.

Each builder returns a :class:`RequestSpec`; the clients send it (with retries) and decode it.
Routes and bodies follow ``openapi.yaml`` of the server.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from ._core import JSON, RequestSpec, clean_body, clean_params, new_idempotency_key


def _p(value: str) -> str:
    return quote(str(value), safe="")


def _create(path: str, body: JSON, key: str | None) -> RequestSpec:
    # Every create/ingest POST carries an Idempotency-Key, so a retry never writes twice.
    return RequestSpec("POST", path, json=body, idempotency_key=key or new_idempotency_key())


# Sessions

def create_session(title: str, user_id: str | None, metadata: Mapping[str, Any] | None, key: str | None) -> RequestSpec:
    return _create("/db/sessions/create", clean_body(title=title, user_id=user_id, metadata=metadata), key)


def get_session(session_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/sessions/{_p(session_id)}")


def update_session(session_id: str, title: str | None, status: str | None, metadata: Mapping[str, Any] | None) -> RequestSpec:
    body = clean_body(title=title, status=status, metadata=metadata)
    return RequestSpec("PATCH", f"/db/sessions/{_p(session_id)}", json=body)


def delete_session(session_id: str) -> RequestSpec:
    return RequestSpec("DELETE", f"/db/sessions/{_p(session_id)}")


def list_sessions(user_id: str | None, status: str | None, limit: int | None) -> RequestSpec:
    return RequestSpec("GET", "/db/sessions", params=clean_params({"user_id": user_id, "status": status, "limit": limit}))


def fork_session(session_id: str, up_to_seq: int | None, title: str | None, key: str | None) -> RequestSpec:
    return _create(f"/db/sessions/{_p(session_id)}/fork", clean_body(up_to_seq=up_to_seq, title=title), key)


# Messages

def store_message(
    session_id: str,
    role: str,
    content: str,
    token_count: int | None,
    model: str | None,
    metadata: Mapping[str, Any] | None,
    expected_seq: int | None,
    key: str | None,
) -> RequestSpec:
    body = clean_body(
        session_id=session_id, role=role, content=content, token_count=token_count,
        model=model, metadata=metadata, expected_seq=expected_seq,
    )
    return _create("/db/messages/store", body, key)


def store_messages(session_id: str, messages: Iterable[Mapping[str, Any]], expected_seq: int | None, key: str | None) -> RequestSpec:
    body = clean_body(session_id=session_id, messages=[dict(m) for m in messages], expected_seq=expected_seq)
    return _create("/db/messages/batch", body, key)


def get_message(message_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/messages/{_p(message_id)}")


def list_messages(session_id: str, order: str | None, limit: int | None) -> RequestSpec:
    return RequestSpec("GET", f"/db/sessions/{_p(session_id)}/messages", params=clean_params({"order": order, "limit": limit}))


# Context and tokens

def get_context(session_id: str, max_tokens: int | None, max_messages: int | None, encoding: str | None) -> RequestSpec:
    params = clean_params({"max_tokens": max_tokens, "max_messages": max_messages, "encoding": encoding})
    return RequestSpec("GET", f"/db/context/{_p(session_id)}", params=params)


def count_tokens(encoding: str, text: str | None, messages: Sequence[Mapping[str, Any]] | None) -> RequestSpec:
    if (text is None) == (messages is None):
        raise ValueError("pass exactly one of text= and messages=")
    body = clean_body(encoding=encoding, text=text, messages=[dict(m) for m in messages] if messages is not None else None)
    return RequestSpec("POST", "/db/tokens/count", json=body)  # a pure computation: safe to resend


# Research

def create_research(session_id: str, question: str, workflow_type: str, parameters: Mapping[str, Any] | None, key: str | None) -> RequestSpec:
    body = clean_body(session_id=session_id, question=question, workflow_type=workflow_type, parameters=parameters)
    return _create("/db/research/create", body, key)


def get_research(research_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/research/{_p(research_id)}")


def update_research(research_id: str, status: str, result: Mapping[str, Any] | None, error: str | None, sources: Sequence[str] | None) -> RequestSpec:
    body = clean_body(status=status, result=result, error=error, sources=list(sources) if sources is not None else None)
    # A transition that committed but whose answer was lost would be refused (409) when resent.
    return RequestSpec("PATCH", f"/db/research/{_p(research_id)}", json=body, resendable=False)


def list_research(session_id: str | None, status: str | None, workflow_type: str | None, limit: int | None) -> RequestSpec:
    params = clean_params({"session_id": session_id, "status": status, "workflow_type": workflow_type, "limit": limit})
    return RequestSpec("GET", "/db/research", params=params)


def claim_research(workflow_types: Sequence[str] | None, lease_seconds: int | None) -> RequestSpec:
    body = clean_body(workflow_types=list(workflow_types) if workflow_types is not None else None, lease_seconds=lease_seconds)
    # Not idempotent (no Idempotency-Key on this route): resent only if it never left.
    return RequestSpec("POST", "/db/research/claim", json=body, resendable=False)


def heartbeat_research(research_id: str, lease_seconds: int | None) -> RequestSpec:
    return RequestSpec("POST", f"/db/research/{_p(research_id)}/heartbeat", json=clean_body(lease_seconds=lease_seconds))


# Analytics

def log_event(
    event_type: str,
    session_id: str | None,
    properties: Mapping[str, Any] | None,
    duration_ms: float | None,
    occurred_at: str | None,
    key: str | None,
) -> RequestSpec:
    body = clean_body(event_type=event_type, session_id=session_id, properties=properties, duration_ms=duration_ms, occurred_at=occurred_at)
    return _create("/db/analytics/log", body, key)


def log_events(events: Iterable[Mapping[str, Any]], key: str | None) -> RequestSpec:
    return _create("/db/analytics/batch", {"events": [dict(e) for e in events]}, key)


def analytics_summary(from_: str | None, to: str | None, event_type: str | None, bucket: str | None) -> RequestSpec:
    params = clean_params({"from": from_, "to": to, "event_type": event_type, "bucket": bucket})
    return RequestSpec("GET", "/db/analytics/summary", params=params)


def session_analytics(session_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/analytics/sessions/{_p(session_id)}")


# LLM usage, feedback, admin statistics

def record_llm_usage(body: JSON, key: str | None) -> RequestSpec:
    return _create("/db/llm-usage", body, key)


def get_llm_usage(usage_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/llm-usage/{_p(usage_id)}")


def submit_feedback(target_type: str, target_id: str, rating: int, comment: str | None, key: str | None) -> RequestSpec:
    body = clean_body(target_type=target_type, target_id=target_id, rating=rating, comment=comment)
    return _create("/db/feedback", body, key)


def get_feedback(feedback_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/feedback/{_p(feedback_id)}")


def admin_stats(kind: str, from_: str | None, to: str | None) -> RequestSpec:
    if kind not in ("feedback", "telemetry", "llm"):
        raise ValueError("kind is one of feedback, telemetry, llm")
    return RequestSpec("GET", f"/db/admin/stats/{kind}", params=clean_params({"from": from_, "to": to}))


# Cache

def cache_put(key: str, value: Mapping[str, Any], ttl_seconds: int) -> RequestSpec:
    return RequestSpec("PUT", f"/db/cache/{quote(key, safe='/:')}", json={"value": dict(value), "ttl_seconds": ttl_seconds})


def cache_get(key: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/cache/{quote(key, safe='/:')}")


def cache_delete(key: str) -> RequestSpec:
    return RequestSpec("DELETE", f"/db/cache/{quote(key, safe='/:')}")


# Users

def get_user(user_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/users/{_p(user_id)}")


def export_user(user_id: str) -> RequestSpec:
    return RequestSpec("GET", f"/db/users/{_p(user_id)}/export")


def erase_user(user_id: str) -> RequestSpec:
    return RequestSpec("DELETE", f"/db/users/{_p(user_id)}")


def stream_path(session_id: str) -> str:
    return f"/db/sessions/{_p(session_id)}/stream"
