"""A real ``mlflow server`` on 127.0.0.1 behind HTTP basic auth, for tests.

MLflow's own ``--app-name basic-auth`` needs Flask-WTF, which the project does not
install; so the server runs plain and a small reverse proxy (stdlib ``http.server``) in
front of it refuses every request without the right ``Authorization: Basic`` header
(401, as a server behind nginx or MLflow's auth app answers), and forwards the others.
Tests talk to the proxy only; the proxy counts refused requests.
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Proxy(BaseHTTPRequestHandler):
    upstream: int = 0
    expected: str = ""
    refused: list = []

    def log_message(self, *args) -> None:      # quiet
        pass

    def _forward(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.refused.append(self.path)
            body = b'{"error_code": "UNAUTHENTICATED", "message": "login required"}'
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="mlflow"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "authorization", "connection")}
        con = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=120)
        try:
            con.request(self.command, self.path, body=data, headers=headers)
            resp = con.getresponse()
            payload = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            con.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


class AuthMlflowServer:
    """``start()``; ``url`` (with credentials), ``clean_url``; ``stop()``.

    Attributes
    ----------
    folder : Path
        The server's backend store and artifacts (scan it for leaked secrets).
    refused : list of str
        Paths of requests the proxy refused (no or wrong credentials).
    """

    def __init__(self, user: str, password: str):
        self.user, self.password = user, password
        self.folder = Path(tempfile.mkdtemp(prefix="lab-mlflow-"))
        self.upstream = free_port()
        self.proc: subprocess.Popen | None = None
        self.proxy: ThreadingHTTPServer | None = None
        self.refused: list[str] = []

    @property
    def port(self) -> int:
        return self.proxy.server_address[1]

    @property
    def clean_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> "AuthMlflowServer":
        mlflow = Path(sys.executable).parent / "mlflow"
        log = open(self.folder / "server.log", "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        self.proc = subprocess.Popen(
            [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(self.upstream),
             "--workers", "1",
             "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
             "--artifacts-destination", str(self.folder / "artifacts")],
            cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        handler = type("Proxy", (_Proxy,), {"upstream": self.upstream,
                                           "expected": f"Basic {token}",
                                           "refused": self.refused})
        self.proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                con = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=2)
                con.request("GET", "/health")
                if con.getresponse().status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mlflow server did not start: "
                                   + (self.folder / "server.log").read_text()[-2000:])
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.shutdown()
            self.proxy.server_close()
        if self.proc is not None and self.proc.poll() is None:
            import signal

            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)
