"""Stream resume, retries on 503 and lost responses, through real servers and loopback proxies."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from typing import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from harness import RequestLog, ServerProcess, TcpProxy, database_port, database_url_with_port, free_port
from researchstore import Client, RetryPolicy, ServiceUnavailableError, TransportError

MakeClient = Callable[..., Client]


@pytest.fixture
def proxy(base_url: str) -> Iterator[TcpProxy]:
    p = TcpProxy(urlsplit(base_url).port or 80)
    yield p
    p.close()


def _last_event_ids(p: TcpProxy) -> list[str | None]:
    """The Last-Event-ID header of each stream request that went through the proxy."""
    out: list[str | None] = []
    for text in p.requests_text():
        if "/stream" in text.split("\r\n", 1)[0]:
            m = re.search(r"(?im)^last-event-id: *(\d+)\r$", text)
            out.append(m.group(1) if m else None)
    return out


def test_stream_resumes_after_a_cut_with_no_gap_and_no_duplicate(make_client: MakeClient, user: str, proxy: TcpProxy) -> None:
    writer = make_client(user)
    s = writer.create_session("stream")
    writer.store_messages(s["id"], [{"role": "user", "content": f"early {i}"} for i in range(1, 6)])
    reader = make_client(user, url=f"http://127.0.0.1:{proxy.port}", retry=RetryPolicy(backoff_initial=0.05), stream_read_timeout=10)
    total = 40
    stream = reader.stream_session(s["id"])

    def store_rest() -> None:
        for i in range(6, total + 1):
            writer.store_message(s["id"], "assistant", f"live {i}")
            time.sleep(0.01)

    seqs: list[int] = []
    cut_at: list[int] = []
    resumed_after: list[int] = []  # the last seq delivered before each reconnect
    storer: threading.Thread | None = None
    for event in stream:
        if event.event != "message":
            continue
        if stream.reconnects > len(resumed_after):
            resumed_after.append(seqs[-1])
        seqs.append(event.data["seq"])
        assert event.id == str(event.data["seq"])
        if len(seqs) == 5:
            storer = threading.Thread(target=store_rest)
            storer.start()
        if len(seqs) in (12, 25):  # cut mid-stream, twice, while messages keep arriving
            cut_at.append(seqs[-1])
            proxy.cut()
        if len(seqs) == total:
            break
    assert storer is not None
    storer.join()
    assert seqs == list(range(1, total + 1))
    assert stream.reconnects >= 2 and stream.last_seq == total
    ids = _last_event_ids(proxy)
    assert ids[0] is None  # the first request starts from the beginning
    # Each reconnect resumes after the last seq delivered (one read before the cut may still come).
    assert ids[1:] == [str(n) for n in resumed_after]
    assert len(resumed_after) == len(cut_at) and all(c <= r <= c + 5 for c, r in zip(cut_at, resumed_after))
    # Deleting the session ends the stream after its `deleted` event.
    writer.store_message(s["id"], "user", "last")
    last = next(stream)
    assert (last.event, last.data["seq"]) == ("message", total + 1)
    writer.delete_session(s["id"])
    assert [e.event for e in stream] == ["deleted"]


def test_stream_from_after_seq_and_research_events(make_client: MakeClient, user: str) -> None:
    c = make_client(user, stream_read_timeout=10)
    s = c.create_session("events")
    c.store_messages(s["id"], [{"role": "user", "content": str(i)} for i in range(5)])
    with c.stream_session(s["id"], after_seq=3) as stream:
        first = next(stream)
        assert first.event == "message" and first.data["seq"] == 4
        assert next(stream).data["seq"] == 5
        r = c.create_research(s["id"], "q", "pyclient.stream")
        c.update_session(s["id"], title="renamed")
        kinds = {}
        for e in stream:
            kinds[e.event] = e.data
            if "research" in kinds and "session" in kinds:
                break
        assert kinds["research"]["id"] == r["id"] and kinds["session"]["title"] == "renamed"


def test_retries_on_503_then_raises_with_the_same_key(make_client: MakeClient) -> None:
    dead = free_port()  # nothing listens there: the server answers 503 with Retry-After: 1
    server = ServerProcess(DATABASE_URL=database_url_with_port(dead))
    try:
        log = RequestLog()
        c = make_client(url=server.url, event_hooks=log.hooks(), retry=RetryPolicy(max_attempts=3, backoff_initial=0.01))
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as e:
            c.create_session("never")
        elapsed = time.monotonic() - started
        assert e.value.status == 503 and e.value.attempts == 3 and e.value.retry_after is not None
        assert e.value.retry_after >= 1
        assert [r[2] for r in log.responses] == [503, 503, 503]
        keys = {r[2]["idempotency-key"] for r in log.requests}
        assert len(log.requests) == 3 and len(keys) == 1
        assert elapsed >= 2 * e.value.retry_after  # Retry-After honoured between the attempts
    finally:
        server.stop()


def test_retries_on_503_until_the_database_is_back(make_client: MakeClient, user: str) -> None:
    db_port = free_port()
    server = ServerProcess(DATABASE_URL=database_url_with_port(db_port))
    db_proxy: list[TcpProxy] = []
    try:
        log = RequestLog()
        c = make_client(user, url=server.url, event_hooks=log.hooks(), retry=RetryPolicy(max_attempts=10, backoff_initial=0.05))

        def database_comes_back() -> None:
            time.sleep(1.5)
            db_proxy.append(TcpProxy(database_port(), listen_port=db_port))

        t = threading.Thread(target=database_comes_back)
        t.start()
        s = c.create_session("eventually")
        t.join()
        statuses = [r[2] for r in log.responses]
        assert statuses[0] == 503 and statuses[-1] == 201 and set(statuses) == {503, 201}
        assert len({r[2]["idempotency-key"] for r in log.requests}) == 1
        assert [x["id"] for x in make_client(user).list_sessions()] == [s["id"]]
    finally:
        server.stop()
        for p in db_proxy:
            p.close()


def test_connection_refused_retries_then_raises(make_client: MakeClient) -> None:
    c = make_client(url=f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(max_attempts=3, backoff_initial=0.01))
    with pytest.raises(TransportError) as e:
        c.get_session(str(uuid.uuid4()))
    assert e.value.attempts == 3


def test_lost_response_is_retried_with_the_same_key_and_creates_one_row(make_client: MakeClient, user: str, proxy: TcpProxy) -> None:
    log = RequestLog()
    c = make_client(user, url=f"http://127.0.0.1:{proxy.port}", event_hooks=log.hooks(), retry=RetryPolicy(backoff_initial=0.05))
    proxy.drop_responses = 1
    s = c.create_session("exactly once")
    assert proxy.dropped == 1
    posts = [r for r in log.requests if r[0] == "POST"]
    assert len(posts) >= 2 and len({h["idempotency-key"] for _, _, h in posts}) == 1
    assert log.responses[-1][3].get("idempotent-replayed") == "true"
    direct = make_client(user)
    assert [x["id"] for x in direct.list_sessions()] == [s["id"]]
    # The same for a message: one row, seq 1.
    proxy.drop_responses = 1
    m = c.store_message(s["id"], "user", "once")
    assert m["seq"] == 1 and proxy.dropped == 2
    assert [x["content"] for x in direct.list_messages(s["id"])] == ["once"]


def test_unsafe_calls_are_not_resent_after_a_lost_response(make_client: MakeClient, user: str, proxy: TcpProxy) -> None:
    worker = make_client(user, url=f"http://127.0.0.1:{proxy.port}", roles="worker", retry=RetryPolicy(backoff_initial=0.05))
    c = make_client(user)
    wf = "pyclient." + uuid.uuid4().hex[:10]
    s = c.create_session("claim")
    r = c.create_research(s["id"], "q", wf)
    proxy.drop_responses = 1
    with pytest.raises(TransportError):
        worker.claim_research(workflow_types=[wf])
    assert c.get_research(r["id"])["status"] == "running"  # it did commit: resending would claim another


def test_retries_on_429_honouring_retry_after(make_client: MakeClient, user: str) -> None:
    server = ServerProcess(DATABASE_URL=os.environ["TEST_DATABASE_URL"], RATE_LIMIT_RPS="2", RATE_LIMIT_BURST="1")
    try:
        log = RequestLog()
        c = make_client(user, url=server.url, event_hooks=log.hooks(), retry=RetryPolicy(max_attempts=6, backoff_initial=0.01))
        s = c.create_session("limited")
        for i in range(3):
            c.store_message(s["id"], "user", f"m{i}")
        statuses = [r[2] for r in log.responses]
        assert 429 in statuses and statuses.count(201) == 4
        assert [m["content"] for m in c.list_messages(s["id"])] == ["m0", "m1", "m2"]  # nothing doubled
    finally:
        server.stop()
