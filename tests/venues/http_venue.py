"""The HTTP scaffolding the venue stand-ins share (Binance, Yahoo, Databento).

``HttpVenue`` runs the stdlib ``http.server.ThreadingHTTPServer`` on 127.0.0.1 (a free
port) in a daemon thread, turns each request into an ``HttpRequest`` and hands it to the
venue's ``respond``, which returns ``(status, body)`` or ``(status, body, headers)``:
a ``bytes`` body is sent as is (``application/octet-stream``), a ``str`` as text, any
other value as JSON. A venue keeps its own routes and JSON; this module only serves them.

Use::

    class MyVenue(HttpVenue):
        def respond(self, request):
            return 200, {"ok": True}

    with MyVenue() as venue:
        venue.base_url          # http://127.0.0.1:<port>
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class HttpRequest:
    """One request as a venue sees it.

    Attributes
    ----------
    method : str
        ``GET`` or ``POST``.
    path : str
        URL path without the query string.
    query : dict of str to str
        Query parameters (the last value of a repeated one).
    form : dict of str to str
        URL-encoded form fields of a POST body ({} otherwise).
    user : str or None
        User name of HTTP basic auth, None without.
    """

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    user: str | None


class HttpVenue:
    """Base class of an HTTP venue stand-in: ``start``/``stop``, a context manager,
    ``port`` and ``base_url``. Subclasses implement ``respond`` and may override
    ``wrap_socket`` (TLS) and ``on_stop`` (release waiting answers, remove files)."""

    #: Exceptions of a client that hung up while its answer was written.
    GONE: tuple[type[BaseException], ...] = (BrokenPipeError, ConnectionResetError,
                                             ssl.SSLError)
    scheme = "http"

    _server: ThreadingHTTPServer | None = None

    def respond(self, request: HttpRequest) -> tuple:
        """``(status, body)`` or ``(status, body, headers)`` for ``request``."""
        raise NotImplementedError

    def wrap_socket(self, sock):
        """The listening socket to serve on (TLS venues wrap it); default unchanged."""
        return sock

    def on_stop(self) -> None:
        """Called by ``stop`` before the server shuts down."""

    # -- lifecycle --------------------------------------------------------------------
    def start(self):
        handler = type("Handler", (_Handler,), {"venue": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.socket = self.wrap_socket(server.socket)
        self._server = server
        threading.Thread(target=server.serve_forever, name=type(self).__name__,
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self.on_stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain;charset=utf-8"
    return json.dumps(body).encode(), "application/json;charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    venue: HttpVenue

    def _serve(self) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        form: dict[str, str] = {}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            raw = self.rfile.read(length).decode("utf-8", "replace")
            form = {k: v[-1] for k, v in parse_qs(raw).items()}
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user = base64.b64decode(auth[6:]).decode().split(":", 1)[0] or None
        answer = self.venue.respond(HttpRequest(self.command, url.path, query, form, user))
        status, body = answer[0], answer[1]
        headers = dict(answer[2]) if len(answer) > 2 else {}
        data, ctype = _encode(body)
        headers.setdefault("Content-Type", ctype)
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except self.venue.GONE:
            pass

    do_GET = do_POST = _serve

    def log_message(self, *args) -> None:
        pass
