"""Running the app under uvicorn: in the foreground (the `serve` command) or on a background thread.

The listening socket is bound before anything slow happens (such as loading the model), so a port that is
taken fails at once with a clear message, and port 0 gives a free port whose number can be printed.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time

import uvicorn

GRACEFUL_SHUTDOWN_SECONDS = 3  # then open requests are cancelled, which stops their generation


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 = any free port). Raises OSError naming the address."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # restart at once after a stop; on Windows this flag would let two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app, *, log_level: str = "info", access_log: bool = True,
                graceful_seconds: int = GRACEFUL_SHUTDOWN_SECONDS) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level=log_level, access_log=access_log, lifespan="on",
                            timeout_graceful_shutdown=graceful_seconds)
    return uvicorn.Server(config)


def serve(app, sock: socket.socket, *, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl+C or SIGTERM)."""
    make_server(app, log_level=log_level).run(sockets=[sock])


class BackgroundServer:
    """The app on a background thread, e.g. for tests or to serve from inside the editor.

        with BackgroundServer(app) as server:   # a free loopback port
            httpx.get(server.url + "/health")
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning",
                 graceful_seconds: int = GRACEFUL_SHUTDOWN_SECONDS) -> None:
        self._sock = bind_socket(host, port)
        self.url = socket_url(self._sock)
        self._server = make_server(app, log_level=log_level, access_log=False, graceful_seconds=graceful_seconds)
        self._thread = threading.Thread(target=self._run, name="dia-http", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
        if self._thread.is_alive():
            raise TimeoutError(f"the server did not stop within {timeout} s")

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
