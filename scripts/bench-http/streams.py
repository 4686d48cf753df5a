#!/usr/bin/env python3
"""streams.py: the client side of `scripts/bench --streams`.

    streams.py --port PORT --pid PID --prefix PREFIX --streams N --rate R --duration S --content TEXT

Opens N session streams (GET /db/sessions/{id}/stream, session n = PREFIX + 12 hex digits of n, all
of user "bench", one stream each) on the server at 127.0.0.1:PORT, reads the server's resident
memory (/proc/PID/status) before (after a warm-up: 64 streams opened and closed) and after, then stores messages through the same server at R per
second for S seconds (open loop: each store starts on its schedule, over 32 keep-alive connections),
spread over the sessions in turn. Every message's delivery on its stream is timed against the
store's 201. Prints the figures; exit status 1 when a stored message never arrived.
Standard library only; loopback only.
"""
import argparse
import asyncio
import json
import sys
import time

STORE_CONNECTIONS = 32
OPEN_AT_ONCE = 50


def percentile(values, p):
    """Nearest rank, as the rest of scripts/bench computes it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 1))
    return ordered[int(min(rank, len(ordered))) - 1]


def resident_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def parse_events(block):
    """(event, id) of one Server-Sent Events block; comments (keep-alives) give (None, None)."""
    event = event_id = None
    for line in block.split(b"\n"):
        if line.startswith(b"event: "):
            event = line[7:].decode()
        elif line.startswith(b"id: "):
            event_id = line[4:].decode()
    return event, event_id


class Stream:
    """One open stream: reads the chunked body and records when each message seq arrived."""

    def __init__(self, session):
        self.session = session
        self.arrived = {}  # seq -> monotonic time
        self.keep_alives = 0
        self.ended = False

    async def open(self, port):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.writer.write(
            f"GET /db/sessions/{self.session}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: bench\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"stream of {self.session}: HTTP {status.decode()}: {head.decode(errors='replace')}")
        if b"chunked" not in head.lower():
            raise RuntimeError("the stream's body is not chunked")

    async def read(self):
        pending = b""
        try:
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                now = time.monotonic()
                pending += chunk[:-2]
                *blocks, pending = pending.split(b"\n\n")
                for block in blocks:
                    event, event_id = parse_events(block)
                    if event == "message":
                        self.arrived.setdefault(int(event_id), now)
                    elif event is None and block.startswith(b":"):
                        self.keep_alives += 1
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        self.ended = True

    def close(self):
        self.writer.close()


class Storer:
    """A keep-alive connection that stores messages and times each 201."""

    def __init__(self, port, content):
        self.port = port
        self.content = content

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def store(self, session):
        body = json.dumps({"session_id": session, "role": "user", "content": self.content}).encode()
        self.writer.write(
            b"POST /db/messages/store HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: bench\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        answer = await self.reader.readexactly(length)
        acknowledged = time.monotonic()
        status = head.split(b" ", 2)[1]
        if status != b"201":
            raise RuntimeError(f"store: HTTP {status.decode()}: {answer[:300].decode(errors='replace')}")
        return json.loads(answer)["seq"], acknowledged


async def open_all(sessions, port):
    streams = [Stream(session) for session in sessions]
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_one(stream):
        async with gate:
            await stream.open(port)

    await asyncio.gather(*(open_one(stream) for stream in streams))
    return streams


async def store_at_rate(sessions, port, content, rate, duration):
    """Open loop: store i is due at start + i / rate, whatever the earlier ones are doing."""
    storers = [Storer(port, content) for _ in range(STORE_CONNECTIONS)]
    await asyncio.gather(*(storer.connect() for storer in storers))
    idle = asyncio.Queue()
    for storer in storers:
        idle.put_nowait(storer)
    stored = []  # (session, seq, sent, acknowledged)
    late = 0
    total = int(rate * duration)

    async def one(session, sent):
        storer = await idle.get()
        try:
            seq, acknowledged = await storer.store(session)
            stored.append((session, seq, sent, acknowledged))
        finally:
            idle.put_nowait(storer)

    tasks = []
    start = time.monotonic()
    for index in range(total):
        due = start + index / rate
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.05:
            late += 1
        tasks.append(asyncio.ensure_future(one(sessions[index % len(sessions)], due)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    for storer in storers:
        storer.writer.close()
    return stored, elapsed, late


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id, for its memory")
    parser.add_argument("--prefix", required=True, help="session n's id is PREFIX + 12 hex digits of n")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--content", required=True)
    args = parser.parse_args()
    sessions = [f"{args.prefix}{n:012x}" for n in range(1, args.streams + 1)]

    # Warm-up: 64 streams opened at once and closed again, so the pool's connections and the
    # server's first-use allocations are in the baseline, not charged to the streams.
    warm = await open_all(sessions[:64], args.port)
    await asyncio.sleep(1)
    for stream in warm:
        stream.close()
    await asyncio.sleep(1)
    rss_before = resident_kib(args.pid)
    opened_at = time.monotonic()
    streams = await open_all(sessions, args.port)
    open_seconds = time.monotonic() - opened_at
    readers = [asyncio.ensure_future(stream.read()) for stream in streams]
    await asyncio.sleep(2)
    rss_idle = resident_kib(args.pid)

    stored, elapsed, late = await store_at_rate(sessions, args.port, args.content, args.rate, args.duration)
    rss_busy = resident_kib(args.pid)
    by_session = {stream.session: stream for stream in streams}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(seq not in by_session[s].arrived for s, seq, _, _ in stored):
        await asyncio.sleep(0.05)

    after_ack, after_send, early, missing = [], [], 0, 0
    for session, seq, sent, acknowledged in stored:
        arrived = by_session[session].arrived.get(seq)
        if arrived is None:
            missing += 1
            continue
        after_send.append((arrived - sent) * 1000)
        if arrived < acknowledged:
            early += 1
        after_ack.append(max(0.0, arrived - acknowledged) * 1000)
    ended = sum(stream.ended for stream in streams)
    for stream in streams:
        stream.close()
    for reader in readers:
        reader.cancel()
    rss_peak = resident_kib(args.pid, "VmHWM")

    per_stream = (rss_idle - rss_before) / len(streams)
    print(f"Session streams: {len(streams)} open on one research-store (release) on 127.0.0.1, one per session;")
    print(f"{len(stored)} messages stored through it at {args.rate:g}/s for {args.duration:g} s "
          f"({len(stored) / elapsed:.0f}/s achieved, {late} stores started over 50 ms late), one stream each.")
    print()
    print(f"  streams opened in             {open_seconds * 1000:10.0f} ms")
    print(f"  server RSS before streams     {rss_before / 1024:10.1f} MiB")
    print(f"  server RSS, streams idle      {rss_idle / 1024:10.1f} MiB   -> {per_stream:.1f} KiB per idle stream (goal <= 48.8 KiB = 50 KB)")
    print(f"  server RSS while storing      {rss_busy / 1024:10.1f} MiB   (peak {rss_peak / 1024:.1f} MiB)")
    print(f"  delivery after the 201, p50   {percentile(after_ack, 0.50):10.1f} ms")
    print(f"  delivery after the 201, p99   {percentile(after_ack, 0.99):10.1f} ms   (goal <= 100 ms)")
    print(f"  delivery after the send, p50  {percentile(after_send, 0.50):10.1f} ms")
    print(f"  delivery after the send, p99  {percentile(after_send, 0.99):10.1f} ms")
    print(f"  arrived before their 201      {early:10d}")
    print(f"  never arrived (5 s grace)     {missing:10d}")
    print(f"  streams the server ended      {ended:10d}")
    return 1 if missing or ended else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
