"""A local HTTPS server standing in for Databento's historical API.

``databento.Historical(key, gateway=server.gateway)`` talks to it with its own
``requests`` calls (the client forces ``https``, so the server speaks TLS with a
self-signed certificate for 127.0.0.1; point ``REQUESTS_CA_BUNDLE`` at
``server.ca_bundle``). Endpoints, as the client calls them:

- ``POST /v0/timeseries.get_range`` (form: dataset, symbols, schema, stype_in, start,
  end, encoding=dbn, compression=zstd) -> the bytes of a real DBN file of that dataset
  and schema (the ``tests/venues/data/databento`` files from databento-python's own
  tests). The records are served whole; the client keeps the window it asked for.
- ``POST /v0/metadata.get_cost`` -> a JSON number, US dollars (``cost_usd``).

Errors use the body the client parses, ``{"detail": "..."}`` (HTTP 422 for a request
Databento refuses, 500 for a failure; ``fail_get_range_after`` triggers the latter).
Requests without HTTP basic auth (the API key as user name) get 401.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

DATA = Path(__file__).parent / "data" / "databento"


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class DatabentoServer:
    """Databento historical API on https://127.0.0.1:<free port>.

    Parameters
    ----------
    symbols : dict of str to str
        Requested symbol -> the instrument the DBN files hold (``{"ESH1": "ESH1",
        "ES.c.0": "ESH1"}``); other symbols are refused (422).
    cost_usd : float
        What ``metadata.get_cost`` answers, US dollars.
    """

    def __init__(self, symbols: dict[str, str] | None = None, cost_usd: float = 1.25):
        self.symbols = symbols or {"ESH1": "ESH1", "ES.c.0": "ESH1", "NVDA": "NVDA"}
        self.cost_usd = cost_usd
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.fail_get_range_after: int | None = None
        self.get_range_calls = 0
        self._server: ThreadingHTTPServer | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="databento-venue-")
        self.ca_bundle, self._key = self_signed_cert(Path(self._tmp.name))

    def start(self) -> "DatabentoServer":
        handler = type("Handler", (_Handler,), {"venue": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_bundle, self._key)
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmp.cleanup()

    def __enter__(self) -> "DatabentoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def gateway(self) -> str:
        assert self._server is not None, "server not started"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def respond(self, path: str, form: dict[str, str], user: str | None):
        self.requests.append((path, form, user))
        if not user:
            return 401, {"detail": "Authentication failed."}
        dataset, schema = form.get("dataset", ""), form.get("schema", "")
        file = DATA / f"{dataset}_{schema}.dbn.zst"
        symbols = [s for s in form.get("symbols", "").split(",") if s]
        unknown = [s for s in symbols if s not in self.symbols]
        if not file.exists():
            return 422, {"detail": f"No data for dataset {dataset!r} schema {schema!r} "
                                   "at this test venue."}
        if unknown:
            return 422, {"detail": f"Could not resolve symbols {unknown}."}
        if path.endswith("/metadata.get_cost"):
            return 200, self.cost_usd
        if path.endswith("/timeseries.get_range"):
            self.get_range_calls += 1
            if self.fail_get_range_after is not None and \
                    self.get_range_calls > self.fail_get_range_after:
                return 500, {"detail": "An unexpected error occurred."}
            return 200, file.read_bytes()
        return 404, {"detail": f"Not found: {path}"}


class _Handler(BaseHTTPRequestHandler):
    venue: DatabentoServer

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user = base64.b64decode(auth[6:]).decode().split(":", 1)[0] or None
        status, body = self.venue.respond(self.path.split("?")[0], form, user)
        if isinstance(body, bytes):
            data, ctype = body, "application/octet-stream"
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    do_GET = do_POST

    def log_message(self, *args) -> None:
        pass
