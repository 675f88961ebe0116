"""Where IB Gateway / TWS listens, which client id and account, and the errors of lab.live.ib.

Host, port, client id and account come from (first wins) explicit arguments (CLI flags
``--host --port --client-id --account``), the environment (``LAB_IB_HOST``,
``LAB_IB_PORT``, ``LAB_IB_CLIENT_ID``, ``LAB_IB_ACCOUNT``), then the defaults: IB
Gateway's paper port on 127.0.0.1, client id 1. The IB API has no password: the login
happens in IB Gateway / TWS itself, so nothing secret passes through here. Account ids
are still masked in anything written to logs or screens (``mask_account``).

Ports (IB's defaults, "Configure > Settings > API > Socket port"): IB Gateway live 4001,
paper 4002; TWS live 7496, paper 7497.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from lab.core.errors import ConfigError, LabError

#: port -> (application, account kind): IB's default API socket ports.
PORTS: dict[int, tuple[str, str]] = {
    4001: ("IB Gateway", "live"), 4002: ("IB Gateway", "paper"),
    7496: ("TWS", "live"), 7497: ("TWS", "paper"),
}
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4002
DEFAULT_CLIENT_ID = 1
#: seconds to wait after failed connection attempts 1, 2 and 3 (then a clear failure)
BACKOFF_S: tuple[float, ...] = (1.0, 2.0, 4.0)
#: seconds between health checks of an open connection
HEALTH_CHECK_S = 30.0
#: IB codes that are status information, not errors ("market data farm connection is
#: OK" 2104, "HMDS data farm connection is OK" 2106, "Sec-def data farm connection is
#: OK" 2158, and the rest of IB's 2100-2199 warning range)
INFORMATIONAL = frozenset({2104, 2106, 2158})


class IBError(LabError):
    """Something at Interactive Brokers failed; the message says what and what to do."""


class IBConnectionError(IBError, ConnectionError):
    """IB Gateway / TWS cannot be reached, or the connection broke."""


class IBRequestError(IBError):
    """IB answered a request with an error.

    Attributes
    ----------
    code : int
        IB's error code (e.g. 162 historical data, 200 no security definition).
    """

    def __init__(self, message: str, code: int = 0):
        super().__init__(message)
        self.code = code


class IBTimeoutError(IBError, TimeoutError):
    """IB did not answer a request in time (the request is cancelled where IB allows)."""


class ContractError(IBError, ValueError):
    """A contract is unknown to IB or ambiguous; the message names the candidates."""


class LiveTradingRefused(IBError, PermissionError):
    """An order to a live account without the configuration switch and the typed
    account confirmation."""


def describe_port(port: int) -> str:
    """``"IB Gateway paper (4002)"`` for a known port, else ``"port 5000"``."""
    app = PORTS.get(int(port))
    return f"{app[0]} {app[1]} ({port})" if app else f"port {port}"


def is_live_port(port: int) -> bool:
    """True for IB's default live ports (4001, 7496)."""
    return PORTS.get(int(port), ("", ""))[1] == "live"


def mask_account(account: str) -> str:
    """``"DU7654321"`` -> ``"DU****321"``: enough to tell accounts apart on a screen."""
    if not account:
        return ""
    if len(account) <= 5:
        return "*" * len(account)
    return account[:2] + "*" * (len(account) - 5) + account[-3:]


def start_hint(host: str, port: int) -> str:
    """What to start so that ``host:port`` answers."""
    return (f"start IB Gateway or TWS on {host} and enable the API socket on port {port} "
            "(Configure > Settings > API > Settings: 'Enable ActiveX and Socket Clients'; "
            "IB Gateway paper 4002 / live 4001, TWS paper 7497 / live 7496), or pass "
            "--host/--port (or LAB_IB_HOST/LAB_IB_PORT) for where it runs")


@dataclass(frozen=True)
class IBSettings:
    """Where and as whom to connect.

    Attributes
    ----------
    host : str
    port : int
        API socket port (see ``PORTS``).
    client_id : int
        API client id, unique per connection to one Gateway / TWS (0-2147483647; 0 is
        TWS's master client, which also sees manual orders).
    account : str
        Account id (``DU...`` paper, ``U...`` live); "" = the only managed account.
    timeout_s : float
        Seconds to wait for a connection or a request's answer.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    client_id: int = DEFAULT_CLIENT_ID
    account: str = ""
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigError("IB host must be a host name or address, e.g. 127.0.0.1")
        try:
            port, client = int(self.port), int(self.client_id)
        except (TypeError, ValueError):
            raise ConfigError(f"IB port={self.port!r} and client id={self.client_id!r} "
                              "must be whole numbers (e.g. --port 4002 --client-id 1)")
        if not 0 < port < 65536:
            raise ConfigError(f"IB port={port} must be 1-65535 (IB Gateway paper 4002, "
                              "live 4001; TWS paper 7497, live 7496)")
        if not 0 <= client < 2**31:
            raise ConfigError(f"IB client id={client} must be 0-2147483647")
        if not self.timeout_s > 0:
            raise ConfigError(f"IB timeout_s={self.timeout_s!r} must be > 0 seconds")
        object.__setattr__(self, "port", port)
        object.__setattr__(self, "client_id", client)

    @property
    def where(self) -> str:
        """``"127.0.0.1:4002 (IB Gateway paper)"``."""
        app = PORTS.get(self.port)
        return f"{self.host}:{self.port}" + (f" ({app[0]} {app[1]})" if app else "")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def resolve(cls, host: str | None = None, port: int | None = None,
                client_id: int | None = None, account: str | None = None,
                timeout_s: float | None = None, env: dict | None = None) -> "IBSettings":
        """Explicit values, else ``LAB_IB_*`` environment variables, else defaults.

        Raises
        ------
        ConfigError
            A value that is not a valid host, port, client id or timeout.
        """
        env = os.environ if env is None else env

        def pick(value, name, default):
            if value is not None and value != "":
                return value
            return env.get(name) or default

        return cls(host=pick(host, "LAB_IB_HOST", DEFAULT_HOST),
                   port=pick(port, "LAB_IB_PORT", DEFAULT_PORT),
                   client_id=pick(client_id, "LAB_IB_CLIENT_ID", DEFAULT_CLIENT_ID),
                   account=pick(account, "LAB_IB_ACCOUNT", ""),
                   timeout_s=float(pick(timeout_s, "LAB_IB_TIMEOUT", 10.0)))


def check_live_allowed(account: str, *, live: bool, live_enabled: bool,
                       confirm: str | None) -> None:
    """Refuse orders to a live account unless switched on and confirmed.

    Parameters
    ----------
    account : str
        The account orders would go to (IB ``U...``; paper accounts start with ``D``).
    live : bool
        Whether the bot is configured for a live account.
    live_enabled : bool
        The configuration switch (``LAB_LIVE_TRADING=1`` / ``live_trading = true``).
    confirm : str or None
        The account id as the user typed it (Live page) or passed it
        (``--live --confirm ACCOUNT``).

    Raises
    ------
    LiveTradingRefused
        Saying which of the two is missing.
    """
    paper_account = account.upper().startswith("D")
    if not live and not paper_account and account:
        raise LiveTradingRefused(
            f"account {mask_account(account)} is a live account but the bot is configured "
            "for paper; connect to a paper port (IB Gateway 4002, TWS 7497) or start the bot "
            "with --live --confirm ACCOUNT")
    if not live:
        return
    if not live_enabled:
        raise LiveTradingRefused(
            "live trading is switched off: set LAB_LIVE_TRADING=1 (or live_trading = true "
            "in .streamlit/secrets.toml) to allow orders with real money")
    if not confirm or confirm.strip() != account:
        raise LiveTradingRefused(
            f"orders to live account {mask_account(account)} need the account id typed "
            "exactly as confirmation (Live page) or --confirm ACCOUNT on the command line")
