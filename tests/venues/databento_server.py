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

import datetime as dt
import ipaddress
import ssl
import tempfile
from pathlib import Path

from tests.venues.http_venue import HttpRequest, HttpVenue

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


class DatabentoServer(HttpVenue):
    """Databento historical API on https://127.0.0.1:<free port>.

    Parameters
    ----------
    symbols : dict of str to str
        Requested symbol -> the instrument the DBN files hold (``{"ESH1": "ESH1",
        "ES.c.0": "ESH1"}``); other symbols are refused (422).
    cost_usd : float
        What ``metadata.get_cost`` answers, US dollars.
    """

    scheme = "https"

    def __init__(self, symbols: dict[str, str] | None = None, cost_usd: float = 1.25):
        self.symbols = symbols or {"ESH1": "ESH1", "ES.c.0": "ESH1", "NVDA": "NVDA"}
        self.cost_usd = cost_usd
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.fail_get_range_after: int | None = None
        self.get_range_calls = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="databento-venue-")
        self.ca_bundle, self._key = self_signed_cert(Path(self._tmp.name))

    def wrap_socket(self, sock):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_bundle, self._key)
        return ctx.wrap_socket(sock, server_side=True)

    def stop(self) -> None:
        super().stop()
        self._tmp.cleanup()

    @property
    def gateway(self) -> str:
        return self.base_url

    def respond(self, request: HttpRequest) -> tuple:
        path, form, user = request.path, request.form, request.user
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
