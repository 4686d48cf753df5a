"""The async client: the same calls, pages, errors, export, retries and stream resume."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from conftest import new_user
from harness import RequestLog, ServerProcess, TcpProxy, database_url_with_port, free_port
from researchstore import (
    AsyncClient,
    Client,
    ConflictError,
    NotFoundError,
    RetryPolicy,
    ServiceUnavailableError,
    ValidationError,
)


@pytest.fixture
def proxy(base_url: str) -> Iterator[TcpProxy]:
    p = TcpProxy(urlsplit(base_url).port or 80)
    yield p
    p.close()


def test_async_surface(base_url: str, tmp_path: Path) -> None:
    user = new_user()
    wf = "pyclient." + uuid.uuid4().hex[:10]
    et = "pyclient." + uuid.uuid4().hex[:10]

    async def main() -> None:
        log = RequestLog()
        async with AsyncClient(base_url, user_id=user, event_hooks=log.async_hooks()) as c, \
                AsyncClient(base_url, user_id=user, roles=["worker", "admin"]) as worker:
            sessions = [await c.create_session(f"a{i}", metadata={"i": i}) for i in range(5)]
            listed = [s["id"] async for s in c.list_sessions(page_size=2)]
            assert sorted(listed) == sorted(s["id"] for s in sessions) and len(listed) == 5
            s = sessions[0]
            assert (await c.get_session(s["id"]))["metadata"] == {"i": 0}
            assert (await c.update_session(s["id"], title="renamed"))["title"] == "renamed"
            token = c.consistency_token
            assert token and log.requests[-1][2].get("x-consistency-token") is None
            await c.get_session(s["id"])
            assert log.requests[-1][2].get("x-consistency-token") == token
            m = await c.store_message(s["id"], "system", "Be brief.", expected_seq=1)
            assert m["seq"] == 1
            items = await c.store_messages(s["id"], [{"role": "user", "content": f"q{i}"} for i in range(6)], expected_seq=2)
            assert [x["seq"] for x in items] == list(range(2, 8))
            with pytest.raises(ConflictError) as e:
                await c.store_message(s["id"], "user", "x", expected_seq=2)
            assert e.value.current_seq == 7
            assert (await c.get_message(m["id"]))["content"] == "Be brief."
            assert [x["seq"] async for x in c.list_messages(s["id"], page_size=3)] == list(range(1, 8))
            assert len([p async for p in c.message_pages(s["id"], page_size=3)]) == 3
            ctx = await c.get_context(s["id"], encoding="o200k_base", max_tokens=30)
            counted = await c.count_tokens("o200k_base", messages=[{"role": x["role"], "content": x["content"]} for x in ctx["messages"]])
            assert ctx["encoding"] == "o200k_base" and counted["tokens"] == ctx["token_count"] <= 30
            fork = await c.fork_session(s["id"], up_to_seq=3)
            assert fork["message_count"] == 3
            r = await c.create_research(s["id"], "q", wf)
            claimed = await worker.claim_research(workflow_types=[wf], lease_seconds=20)
            assert claimed and claimed["id"] == r["id"]
            assert (await worker.heartbeat_research(r["id"]))["lease_expires_at"]
            assert (await worker.update_research(r["id"], "failed", error="boom"))["status"] == "failed"
            assert (await c.get_research(r["id"]))["error"] == "boom"
            assert [x["id"] async for x in c.list_research(session_id=s["id"])] == [r["id"]]
            assert await worker.claim_research(workflow_types=[wf]) is None
            assert await c.log_event(et, session_id=s["id"], duration_ms=5) == {"accepted": 1}
            assert await c.log_events([{"event_type": et}] * 2) == {"accepted": 2}
            summary = await c.analytics_summary(event_type=et)
            assert summary["event_types"][0]["count"] == 3
            assert (await c.session_analytics(s["id"]))["messages"]["user"] == 6
            with pytest.raises(ValidationError) as v:
                await c.log_events([{"event_type": "OK?"}])
            assert [x["field"] for x in v.value.errors] == ["events[0].event_type"]
            u = await c.record_llm_usage("anthropic", "claude", 10, 5, 100, session_id=s["id"])
            assert (await c.get_llm_usage(u["id"]))["cost_usd"] is None
            fb = await c.submit_feedback("message", m["id"], 2)
            assert (await c.get_feedback(fb["id"]))["target_id"] == m["id"]
            assert (await worker.admin_stats("telemetry"))["total"] >= 3
            key = f"pyclient:{uuid.uuid4().hex}"
            await c.cache_put(key, {"v": 1}, 30)
            assert (await c.cache_get(key))["value"] == {"v": 1}
            await c.cache_delete(key)
            with pytest.raises(NotFoundError):
                await c.cache_get(key)
            await c.delete_session(fork["id"])
            assert (await c.get_user(user))["session_count"] == 5
            out = await c.export_user(user, tmp_path / "export.json")
            doc = json.loads(out.read_text())
            assert len(doc["sessions"]) == 5 and doc["feedback"][0]["id"] == fb["id"]
            await c.erase_user(user)
            with pytest.raises(NotFoundError):
                await c.get_user(user)
        posts = [h for meth, path, h in log.requests if meth == "POST" and path != "/db/tokens/count"]
        assert posts and all("idempotency-key" in h for h in posts)

    asyncio.run(main())


def test_async_stream_resumes_after_a_cut(base_url: str, proxy: TcpProxy) -> None:
    user = new_user()
    with Client(base_url, user_id=user) as writer:
        s = writer.create_session("async stream")
        writer.store_messages(s["id"], [{"role": "user", "content": str(i)} for i in range(1, 4)])
        total = 20

        def store_rest() -> None:
            for i in range(4, total + 1):
                writer.store_message(s["id"], "assistant", str(i))
                time.sleep(0.01)

        async def main() -> tuple[list[int], int, list[int]]:
            seqs: list[int] = []
            resumed_after: list[int] = []
            storer: threading.Thread | None = None
            async with AsyncClient(f"http://127.0.0.1:{proxy.port}", user_id=user, stream_read_timeout=10,
                                   retry=RetryPolicy(backoff_initial=0.05)) as c:
                async with c.stream_session(s["id"]) as stream:
                    async for event in stream:
                        if event.event != "message":
                            continue
                        if stream.reconnects > len(resumed_after):
                            resumed_after.append(seqs[-1])
                        seqs.append(event.data["seq"])
                        if len(seqs) == 3:
                            storer = threading.Thread(target=store_rest)
                            storer.start()
                        if len(seqs) == 8:
                            proxy.cut()
                        if len(seqs) == total:
                            break
                    reconnects = stream.reconnects
            assert storer is not None
            await asyncio.to_thread(storer.join)
            return seqs, reconnects, resumed_after

        seqs, reconnects, resumed_after = asyncio.run(main())
    assert seqs == list(range(1, total + 1)) and reconnects >= 1
    stream_requests = [t for t in proxy.requests_text() if "/stream" in t.split("\r\n", 1)[0]]
    assert "last-event-id" not in stream_requests[0].lower()
    assert len(stream_requests) == 2 and 8 <= resumed_after[0] <= 13
    assert f"last-event-id: {resumed_after[0]}\r\n" in stream_requests[1].lower()


def test_async_retries_on_503(base_url: str) -> None:
    server = ServerProcess(DATABASE_URL=database_url_with_port(free_port()))

    async def main() -> None:
        log = RequestLog()
        async with AsyncClient(server.url, user_id=new_user(), event_hooks=log.async_hooks(),
                               retry=RetryPolicy(max_attempts=2, backoff_initial=0.01)) as c:
            with pytest.raises(ServiceUnavailableError) as e:
                await c.log_event("pyclient.retry")
            assert e.value.attempts == 2
        assert [r[2] for r in log.responses] == [503, 503]
        assert len({h["idempotency-key"] for _, _, h in log.requests}) == 1

    try:
        asyncio.run(main())
    finally:
        server.stop()
