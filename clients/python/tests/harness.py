"""Test harness: loopback TCP proxies that can cut or drop connections, and extra server processes."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    """Forwards loopback TCP connections to ``upstream_port``, recording what clients send.

    ``cut()`` closes every open connection (a dropped stream); ``drop_responses = n`` makes the
    next ``n`` connections forward the request but close before any byte of the response reaches
    the client (a response lost after the server committed).
    """

    def __init__(self, upstream_port: int, listen_port: int = 0) -> None:
        self.upstream_port = upstream_port
        self._server = socket.create_server(("127.0.0.1", listen_port))
        self.port: int = self._server.getsockname()[1]
        self.sent: list[bytearray] = []  # client → server bytes, one per connection
        self.drop_responses = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        record = bytearray()
        with self._lock:
            self.sent.append(record)
            self._open += [client, upstream]
        # Set when a request starts while drop_responses > 0: its response never reaches the client.
        state = {"drop": False}

        def close_both() -> None:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

        def requests_up() -> None:
            try:
                while True:
                    data = client.recv(65536)
                    if not data:
                        break
                    if data[:8].split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"PATCH", b"DELETE"):
                        with self._lock:
                            if self.drop_responses > 0:
                                self.drop_responses -= 1
                                state["drop"] = True
                    record.extend(data)
                    upstream.sendall(data)
            except OSError:
                pass
            close_both()

        threading.Thread(target=requests_up, daemon=True).start()
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if state["drop"]:
                    with self._lock:
                        self.dropped += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        close_both()

    def requests_text(self) -> list[str]:
        with self._lock:
            return [bytes(r).decode("latin-1") for r in self.sent]

    def cut(self) -> None:
        """Close every connection open now."""
        with self._lock:
            socks, self._open = self._open, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._closed = True
        self._server.close()
        self.cut()


class ServerProcess:
    """A second ``research-store serve`` with its own environment, for the retry tests."""

    def __init__(self, **env: str) -> None:
        binary = os.environ["RESEARCHSTORE_TEST_BIN"]
        self.port = free_port()
        full = dict(os.environ)
        full.update(PORT=str(self.port), AUTH_MODE="none", RATE_LIMIT_RPS="0", LOG_LEVEL="error")
        full.update(env)
        self.proc = subprocess.Popen([binary, "serve"], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                urllib.request.urlopen(self.url + "/livez", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def database_port() -> int:
    url = os.environ["TEST_DATABASE_URL"]
    port = urlsplit(url).port
    assert port is not None
    return port


def database_url_with_port(port: int) -> str:
    parts = urlsplit(os.environ["TEST_DATABASE_URL"])
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{port}"
    return parts._replace(netloc=netloc).geturl()


class RequestLog:
    """httpx event hooks that record each request's method, path and headers, and each response."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.responses: list[tuple[str, str, int, dict[str, str]]] = []

    def on_request(self, request: Any) -> None:
        self.requests.append((request.method, request.url.path, dict(request.headers)))

    def on_response(self, response: Any) -> None:
        r = response.request
        self.responses.append((r.method, r.url.path, response.status_code, dict(response.headers)))

    async def aon_request(self, request: Any) -> None:
        self.on_request(request)

    async def aon_response(self, response: Any) -> None:
        self.on_response(response)

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    def async_hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.aon_request], "response": [self.aon_response]}
