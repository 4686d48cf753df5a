"""Every call of the sync client against the real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from harness import RequestLog
from researchstore import (
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    NotFoundError,
    ValidationError,
)

MakeClient = Callable[..., Client]


def test_sessions_crud_fork_and_delete(make_client: MakeClient, user: str) -> None:
    c = make_client(user)
    s = c.create_session("Solar storage", metadata={"topic": "energy"})
    assert s["user_id"] == user and s["title"] == "Solar storage" and s["metadata"] == {"topic": "energy"}
    assert c.get_session(s["id"])["id"] == s["id"]
    u = c.update_session(s["id"], title="Flow batteries", metadata={"k": 1})
    assert u["title"] == "Flow batteries" and u["metadata"] == {"k": 1}
    c.store_messages(s["id"], [{"role": "user", "content": f"m{i}"} for i in range(3)])
    f = c.fork_session(s["id"], up_to_seq=2, title="Another angle")
    assert f["id"] != s["id"] and f["message_count"] == 2 and f["title"] == "Another angle"
    assert f["metadata"]["forked_from"] == {"session_id": s["id"], "seq": 2}
    assert [m["content"] for m in c.list_messages(f["id"])] == ["m0", "m1"]
    archived = c.update_session(s["id"], status="archived")
    assert archived["status"] == "archived"
    assert [x["id"] for x in c.list_sessions(status="archived")] == [s["id"]]
    c.delete_session(s["id"])
    with pytest.raises(NotFoundError) as e:
        c.get_session(s["id"])
    assert e.value.status == 404 and e.value.title and e.value.request_id


def test_sessions_list_iterates_across_pages(make_client: MakeClient, user: str) -> None:
    log = RequestLog()
    c = make_client(user, event_hooks=log.hooks())
    created = [c.create_session(f"s{i}")["id"] for i in range(7)]
    listed = [s["id"] for s in c.list_sessions(page_size=3)]
    assert sorted(listed) == sorted(created) and len(listed) == 7
    updated = [c.get_session(i)["updated_at"] for i in listed]
    assert updated == sorted(updated, reverse=True)  # most recently active first
    pages = [r for r in log.requests if r[0] == "GET" and r[1] == "/db/sessions"]
    assert len(pages) == 3


def test_messages_store_batch_expected_seq_and_pages(make_client: MakeClient, user: str) -> None:
    log = RequestLog()
    c = make_client(user, event_hooks=log.hooks())
    s = c.create_session("msgs")
    m1 = c.store_message(s["id"], "user", "Hello there", model="gpt-4o", metadata={"a": 1}, expected_seq=1)
    assert m1["seq"] == 1 and m1["role"] == "user" and m1["metadata"] == {"a": 1}
    assert c.get_message(m1["id"])["content"] == "Hello there"
    batch = c.store_messages(s["id"], [{"role": "assistant", "content": f"r{i}"} for i in range(10)], expected_seq=2)
    assert [m["seq"] for m in batch] == list(range(2, 12))
    with pytest.raises(ConflictError) as e:
        c.store_message(s["id"], "user", "late", expected_seq=5)
    assert e.value.status == 409 and e.value.current_seq == 11
    with pytest.raises(ConflictError) as e2:
        c.store_messages(s["id"], [{"role": "user", "content": "x"}], expected_seq=3)
    assert e2.value["current_seq"] == 11
    seqs = [m["seq"] for m in c.list_messages(s["id"], page_size=4)]
    assert seqs == list(range(1, 12))
    assert [m["seq"] for m in c.list_messages(s["id"], order="desc", page_size=5)] == list(range(11, 0, -1))
    pages = list(c.message_pages(s["id"], page_size=4))
    assert [len(p["items"]) for p in pages] == [4, 4, 3] and pages[-1]["next_cursor"] is None
    cursors = [r for r in log.requests if r[1].endswith("/messages")]
    assert len(cursors) >= 3 + 3 + 3


def test_idempotency_key_on_every_create(make_client: MakeClient, user: str) -> None:
    log = RequestLog()
    c = make_client(user, event_hooks=log.hooks())
    s = c.create_session("idem")
    c.store_message(s["id"], "user", "x")
    c.store_messages(s["id"], [{"role": "user", "content": "y"}])
    c.log_event("pyclient.idem", session_id=s["id"])
    c.log_events([{"event_type": "pyclient.idem"}])
    r = c.create_research(s["id"], "q?", "pyclient.idem")
    c.record_llm_usage("openai", "gpt-4o", 1, 2, 3.0)
    c.submit_feedback("research", r["id"], 4)
    c.fork_session(s["id"])
    posts = [r for r in log.requests if r[0] == "POST"]
    assert len(posts) == 9
    keys = [h.get("idempotency-key") for _, _, h in posts]
    assert all(k and uuid.UUID(k).version == 4 for k in keys) and len(set(keys)) == 9
    # The same explicit key twice: the server replays the first answer, one session.
    a = c.create_session("once", idempotency_key="my-key-" + user)
    b = c.create_session("once", idempotency_key="my-key-" + user)
    assert a["id"] == b["id"]
    assert log.responses[-1][3].get("idempotent-replayed") == "true"


def test_context_with_encoding_and_token_counts(make_client: MakeClient, user: str) -> None:
    c = make_client(user)
    assert c.count_tokens("o200k_base", text="Hello, world!") == {"encoding": "o200k_base", "tokens": 4}
    s = c.create_session("ctx")
    c.store_message(s["id"], "system", "You are a careful research assistant.")
    for i in range(6):
        c.store_message(s["id"], "user" if i % 2 == 0 else "assistant", f"Turn {i}: " + "words " * 20)
    ctx = c.get_context(s["id"], encoding="o200k_base", max_tokens=120)
    assert ctx["encoding"] == "o200k_base" and ctx["truncated"] is True
    kept = [{"role": m["role"], "content": m["content"]} for m in ctx["messages"]]
    assert kept[0]["role"] == "system" and 1 < len(kept) < 7
    counted = c.count_tokens("o200k_base", messages=kept)
    assert counted["tokens"] == ctx["token_count"] <= 120
    full = c.get_context(s["id"], max_messages=3)
    assert full["encoding"] is None and len(full["messages"]) == 3
    with pytest.raises(ValidationError) as e:
        c.count_tokens("r50k_base", text="x")
    assert e.value.status == 422 and e.value.errors


def test_research_lifecycle_and_worker_calls(make_client: MakeClient, user: str) -> None:
    c = make_client(user)
    worker = make_client(user, roles=["worker"])
    wf = "pyclient." + uuid.uuid4().hex[:10]
    s = c.create_session("research")
    r = c.create_research(s["id"], "What is new in flow batteries?", wf, parameters={"depth": 2})
    assert r["status"] == "pending" and r["parameters"] == {"depth": 2} and r["history"][0]["status"] == "pending"
    claimed = worker.claim_research(workflow_types=[wf], lease_seconds=30)
    assert claimed is not None and claimed["id"] == r["id"] and claimed["status"] == "running"
    assert claimed["attempt"] == 1 and claimed["worker_id"] == user
    hb = worker.heartbeat_research(r["id"], lease_seconds=120)
    assert hb["lease_expires_at"] > claimed["lease_expires_at"]
    assert worker.claim_research(workflow_types=[wf]) is None  # 204: nothing pending
    done = worker.update_research(r["id"], "completed", result={"summary": "ok"}, sources=["https://example.org/a"])
    assert done["status"] == "completed" and done["result"] == {"summary": "ok"} and done["duration_ms"] is not None
    got = c.get_research(r["id"])
    assert [h["status"] for h in got["history"]] == ["pending", "running", "completed"]
    with pytest.raises(ConflictError) as e:
        c.update_research(r["id"], "cancelled")
    assert e.value.current_status == "completed"
    r2 = c.create_research(s["id"], "second", wf)
    listed = [x["id"] for x in c.list_research(session_id=s["id"], page_size=1)]
    assert listed == [r2["id"], r["id"]]
    assert [x["id"] for x in c.list_research(session_id=s["id"], status="completed")] == [r["id"]]


def test_analytics_log_batch_summary(make_client: MakeClient, user: str) -> None:
    c = make_client(user)
    et = "pyclient." + uuid.uuid4().hex[:10]
    s = c.create_session("analytics")
    assert c.log_event(et, session_id=s["id"], properties={"x": 1}, duration_ms=10) == {"accepted": 1}
    assert c.log_events([{"event_type": et, "duration_ms": d, "session_id": s["id"]} for d in (20, 30, 40)]) == {"accepted": 3}
    summary = c.analytics_summary(event_type=et, bucket="day")
    row = next(t for t in summary["event_types"] if t["event_type"] == et)
    assert row["count"] == 4 and row["duration_ms"]["p50"] == 25
    assert summary["bucket"] == "day"
    per_session = c.session_analytics(s["id"])
    assert per_session["session_id"] == s["id"] and per_session["events"] == 4
    with pytest.raises(ValidationError) as e:
        c.log_events([{"event_type": et}, {"event_type": "Bad Type!"}])
    assert e.value.status == 422
    assert [err["field"] for err in e.value.errors] == ["events[1].event_type"]
    assert isinstance(e.value.errors, list) and e.value.detail


def test_llm_usage_feedback_and_admin_stats(make_client: MakeClient, user: str) -> None:
    c = make_client(user)
    admin = make_client(user, roles="admin")
    s = c.create_session("usage")
    u = c.record_llm_usage("openai", "gpt-4o", 100, 20, 812.5, cost_usd=0.0012, session_id=s["id"])
    assert u["total_tokens"] == 120 and u["cost_usd"] == 0.0012 and u["user_id"] == user
    assert c.get_llm_usage(u["id"])["id"] == u["id"]
    f = c.submit_feedback("session", s["id"], 5, comment="great")
    assert f["rating"] == 5 and f["comment"] == "great"
    f2 = c.submit_feedback("session", s["id"], 3)
    assert f2["id"] == f["id"] and f2["rating"] == 3
    assert c.get_feedback(f["id"])["rating"] == 3
    with pytest.raises(ValidationError) as e:
        c.submit_feedback("session", s["id"], 6)
    assert any(err["field"] == "rating" for err in e.value.errors)
    stats = admin.admin_stats("llm")
    assert any(m["model"] == "gpt-4o" for m in stats["by_model"])
    assert "distribution" in admin.admin_stats("feedback")


def test_cache_put_get_delete(make_client: MakeClient) -> None:
    c = make_client()
    key = f"pyclient:{uuid.uuid4().hex}/search"
    put = c.cache_put(key, {"results": [1, 2]}, 60)
    assert put["key"] == key and put["expires_at"]
    assert c.cache_get(key)["value"] == {"results": [1, 2]}
    c.cache_delete(key)
    with pytest.raises(NotFoundError):
        c.cache_get(key)
    c.cache_delete(key)  # a missing key is fine


def test_users_record_export_to_file_and_erase(make_client: MakeClient, user: str, tmp_path: Path) -> None:
    c = make_client(user)
    s = c.create_session("export me")
    c.store_messages(s["id"], [{"role": "user", "content": "é" * 1000 + str(i)} for i in range(50)])
    record = c.get_user(user)
    assert record["id"] == user and record["session_count"] == 1
    out = c.export_user(user, tmp_path / "export.json")
    assert out == tmp_path / "export.json" and list(tmp_path.iterdir()) == [out]  # no temporary file left
    doc = json.loads(out.read_text("utf-8"))
    assert doc["user"]["id"] == user
    assert [x["id"] for x in doc["sessions"]] == [s["id"]]
    assert len(doc["sessions"][0]["messages"]) == 50
    c.erase_user(user)
    with pytest.raises(NotFoundError):
        c.get_user(user)
    with pytest.raises(NotFoundError):
        c.export_user(user, tmp_path / "again.json")
    assert not (tmp_path / "again.json").exists()


def test_problem_fields_on_errors(make_client: MakeClient, user: str) -> None:
    c = make_client(user)
    s = c.create_session("errors")
    with pytest.raises(ValidationError) as e:
        c.store_messages(s["id"], [{"role": "user", "content": "ok"}, {"role": "wizard", "content": "x"}, {"role": "user"}])
    err = e.value
    assert err.status == 422 and err.title and err.detail and err.request_id and err.type
    fields = sorted(x["field"] for x in err.errors)
    assert fields == ["messages[1].role", "messages[2].content"]
    assert all(isinstance(x["message"], str) for x in err.errors)
    with pytest.raises(NotFoundError) as nf:
        c.get_message(str(uuid.uuid4()))
    assert nf.value.status == 404 and nf.value.errors == []
    other = make_client()
    with pytest.raises(NotFoundError):
        other.get_session(s["id"])  # another user's session is 404
    with pytest.raises(AuthenticationError) as au:
        make_client("not a valid id!").get_session(s["id"])
    assert au.value.status == 401


def test_consistency_token_carried_to_later_reads(make_client: MakeClient, user: str) -> None:
    log = RequestLog()
    c = make_client(user, event_hooks=log.hooks())
    s = c.create_session("rw")
    first = log.responses[-1][3].get("x-consistency-token")
    assert first and c.consistency_token == first
    c.get_session(s["id"])
    assert log.requests[-1][2].get("x-consistency-token") == first
    c.store_message(s["id"], "user", "hi")
    second = log.responses[-1][3].get("x-consistency-token")
    assert second  # without replicas the server may hand out the same token again
    assert [m["content"] for m in c.list_messages(s["id"])] == ["hi"]
    assert log.requests[-1][2].get("x-consistency-token") == second
    # Writes do not carry it; a fresh client has none to send.
    assert all("x-consistency-token" not in h for m, _, h in log.requests if m != "GET")
    # The server does read the header: a token it did not issue is refused (400).
    c.consistency.token = "forged"
    with pytest.raises(BadRequestError):
        c.get_session(s["id"])
    log2 = RequestLog()
    fresh = make_client(user, event_hooks=log2.hooks())
    fresh.get_session(s["id"])
    assert "x-consistency-token" not in log2.requests[-1][2]


def test_the_example_runs(base_url: str) -> None:
    import subprocess
    import sys

    example = Path(__file__).resolve().parent.parent / "examples" / "conversation.py"
    out = subprocess.run([sys.executable, str(example), base_url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("context: 3 messages, ") and lines[0].endswith(" o200k_base tokens")
    assert lines[1:] == [
        "#1 system: You are a careful research assistant.",
        "#2 user: What limits grid-scale battery storage today?",
        "#3 assistant: Mostly cost per kWh, cycle life and supply chains.",
        "#4 user: And flow batteries?",
        "[deleted]",
    ]
