"""One API connection to IB Gateway / TWS through ib_async, with IB's connection rules.

- ``connect`` tries once, then again after 1 s, 2 s and 4 s (``BACKOFF_S``); then it
  raises ``IBConnectionError`` naming host, port and what to start.
- ``request`` runs one ib_async request with a timeout: IB's error answer raises
  ``IBRequestError`` (code and text), no answer raises ``IBTimeoutError``; nothing is
  swallowed (``IB.RaiseRequestErrors`` is on, start-up sync errors raise too).
- IB's connectivity codes (TWS API "Message codes"): 1100 "connectivity between IB and
  TWS has been lost" -> ``trading_allowed`` is False until 1101 / 1102; 1101
  "restored - data lost" -> the registered ``resubscribe`` callbacks run (market data
  subscriptions are gone) and ``needs_reconcile`` is set; 1102 "restored - data
  maintained" -> ``needs_reconcile`` is set. A socket drop sets both too. 2104, 2106,
  2158 (data farm OK) and the 2100-2199 warnings are information, never errors.
- ``health_check`` asks IB for its time every ``HEALTH_CHECK_S`` (30 s) at most.
- ``status`` is what the System and Live pages show: connected, where, paper or live,
  account (masked), server version, last error, last heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable

from lab.live.ib.settings import (BACKOFF_S, HEALTH_CHECK_S, INFORMATIONAL, IBConnectionError,
                                  IBRequestError, IBSettings, IBTimeoutError, describe_port,
                                  is_live_port, mask_account, start_hint)

log = logging.getLogger(__name__)


@dataclass
class GatewayStatus:
    """A snapshot of the connection for a page (no secrets: the account is masked).

    Attributes
    ----------
    connected : bool
    where : str
        ``host:port`` and what IB's default for that port is.
    mode : str
        "paper" or "live" (from the account id when known, else from the port).
    account : str
        Masked account id.
    server_version : int
        TWS API server version (0 when not connected).
    connectivity : str
        "ok", or "lost" between IB's 1100 and 1101/1102.
    last_error : str
        ``"<code> <text>"`` of the last real error ("" if none).
    last_heartbeat : float or None
        Epoch seconds of the last successful health check.
    """

    connected: bool
    where: str
    mode: str
    account: str
    server_version: int
    connectivity: str
    last_error: str
    last_heartbeat: float | None

    def to_dict(self) -> dict:
        return asdict(self)


class IBConnection:
    """See the module docstring.

    Parameters
    ----------
    settings : IBSettings
    readonly : bool
        Market data only (history downloads): ib_async then skips open orders at start.
    sleep, clock : callable
        Injected for tests (backoff and health-check timing).
    """

    def __init__(self, settings: IBSettings, *, readonly: bool = False,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        from ib_async import IB

        self.settings = settings
        self.readonly = readonly
        self._sleep = sleep
        self._clock = clock
        self.ib = IB()
        self.ib.RaiseRequestErrors = True
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected
        self.account = settings.account
        self.trading_allowed = False
        self.needs_reconcile = True
        self.connectivity = "ok"
        self.last_error = ""
        self.last_heartbeat: float | None = None
        self.resubscribe: list[Callable[[], None]] = []
        self.events: list[tuple[float, int, str]] = []   # (time, code, text), newest last
        self._client_id_taken = False

    # -- connecting ------------------------------------------------------------------
    def connect(self) -> "IBConnection":
        """Connect with retries after 1 s, 2 s and 4 s.

        Raises
        ------
        IBConnectionError
            After the last attempt: host, port, the last reason and what to start.
        """
        s = self.settings
        reason = ""
        for attempt, wait in enumerate((*BACKOFF_S, None), start=1):
            try:
                self.ib.connect(s.host, s.port, clientId=s.client_id, timeout=s.timeout_s,
                                readonly=self.readonly, account=s.account,
                                raiseSyncErrors=True)
                break
            except (OSError, asyncio.TimeoutError, TimeoutError, ConnectionError) as exc:
                reason = _reason(exc, s)
                self.ib.disconnect()
                if self._client_id_taken:          # IB 326: retrying cannot help
                    self._client_id_taken = False
                    raise IBConnectionError(
                        f"IB at {s.where} refused client id {s.client_id}: it is already in "
                        "use by another connection; pass another --client-id (or "
                        "LAB_IB_CLIENT_ID), or stop the program that uses it") from None
                log.warning("IB connect attempt %d to %s failed: %s", attempt, s.where, reason)
                if wait is None:
                    raise IBConnectionError(
                        f"cannot connect to IB at {s.host}:{s.port} ({describe_port(s.port)}) "
                        f"after {attempt} attempts: {reason}; {start_hint(s.host, s.port)}"
                    ) from None
                self._sleep(wait)
        accounts = self.ib.managedAccounts()
        if s.account and s.account not in accounts:
            self.ib.disconnect()
            raise IBConnectionError(
                f"account {mask_account(s.account)} is not managed by the IB login at "
                f"{s.where} (it manages {', '.join(mask_account(a) for a in accounts)}); "
                "pass --account with one of those")
        self.account = s.account or (accounts[0] if len(accounts) == 1 else "")
        self.trading_allowed = True
        self.needs_reconcile = True
        self.connectivity = "ok"
        self.last_heartbeat = self._clock()
        return self

    def ensure_connected(self) -> bool:
        """Reconnect (with backoff) if the socket is down; True when it reconnected."""
        if self.ib.isConnected():
            return False
        self.connect()
        return True

    def disconnect(self) -> None:
        self.trading_allowed = False
        if self.ib.isConnected():
            self.ib.disconnect()

    @property
    def connected(self) -> bool:
        return self.ib.isConnected()

    # -- requests --------------------------------------------------------------------
    def request(self, awaitable: Awaitable, what: str, timeout: float | None = None) -> Any:
        """Run one ib_async request; its error or its silence is raised.

        Parameters
        ----------
        awaitable : awaitable
            E.g. ``ib.reqExecutionsAsync()``.
        what : str
            What is asked, for messages ("executions", "history SPY 1 day").
        timeout : float, optional
            Seconds (default ``settings.timeout_s``).

        Raises
        ------
        IBRequestError, IBTimeoutError, IBConnectionError
        """
        from ib_async import RequestError, util

        timeout = self.settings.timeout_s if timeout is None else timeout
        if not self.ib.isConnected():
            _close(awaitable)
            raise IBConnectionError(f"not connected to IB at {self.settings.where} "
                                    f"({what}); {start_hint(self.settings.host, self.settings.port)}")
        try:
            return util.run(asyncio.wait_for(awaitable, timeout))
        except RequestError as exc:
            raise IBRequestError(f"IB refused {what}: error {exc.code} {exc.message}",
                                 exc.code) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise IBTimeoutError(f"IB at {self.settings.where} did not answer {what} within "
                                 f"{timeout:g} s") from None
        except ConnectionError as exc:
            self.needs_reconcile = True
            raise IBConnectionError(f"connection to IB at {self.settings.where} broke during "
                                    f"{what} ({exc}); it is retried with backoff on the next "
                                    "call") from None

    def pump(self, seconds: float = 0.0) -> None:
        """Let ib_async process incoming messages for ``seconds`` (order updates, bars).

        Raises
        ------
        IBConnectionError
            The socket dropped while waiting.
        """
        try:
            self.ib.sleep(seconds)
        except ConnectionError as exc:
            self.needs_reconcile = True
            raise IBConnectionError(f"connection to IB at {self.settings.where} broke "
                                    f"({exc})") from None

    def health_check(self, force: bool = False) -> bool:
        """Ask IB for its time when ``HEALTH_CHECK_S`` passed since the last check.

        Returns
        -------
        bool
            True when a check ran and IB answered; False when it was not due.

        Raises
        ------
        IBTimeoutError, IBConnectionError
            IB did not answer.
        """
        now = self._clock()
        if not force and self.last_heartbeat is not None \
                and now - self.last_heartbeat < HEALTH_CHECK_S:
            return False
        self.request(self.ib.reqCurrentTimeAsync(), "the health check (current time)",
                     timeout=min(5.0, self.settings.timeout_s))
        self.last_heartbeat = now
        return True

    def mark_reconciled(self) -> None:
        """The bot compared broker and ledger after a (re)connect; trading may resume."""
        self.needs_reconcile = False

    # -- events ----------------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, text: str, contract: Any) -> None:
        self.events.append((self._clock(), code, text))
        del self.events[:-50]
        if code in INFORMATIONAL or 2100 <= code < 2200:
            log.info("IB %s: %s", code, text)
            return
        if code == 326:
            self._client_id_taken = True
        if code == 1100:
            self.connectivity = "lost"
            self.trading_allowed = False
        elif code in (1101, 1102):
            self.connectivity = "ok"
            self.trading_allowed = True
            self.needs_reconcile = True
            if code == 1101:
                for callback in list(self.resubscribe):
                    callback()
        self.last_error = f"{code} {text}"
        log.warning("IB %s (reqId %s): %s", code, req_id, text)

    def _on_disconnected(self) -> None:
        self.trading_allowed = False
        self.needs_reconcile = True

    # -- status ----------------------------------------------------------------------
    def status(self) -> GatewayStatus:
        live = (self.account and not self.account.upper().startswith("D")) or (
            not self.account and is_live_port(self.settings.port))
        return GatewayStatus(
            connected=self.ib.isConnected(), where=self.settings.where,
            mode="live" if live else "paper", account=mask_account(self.account),
            server_version=self.ib.client.serverVersion() if self.ib.isConnected() else 0,
            connectivity=self.connectivity, last_error=self.last_error,
            last_heartbeat=self.last_heartbeat)


def probe(settings: IBSettings) -> GatewayStatus:
    """Connect once (no retries), read the status, disconnect: for the System page.

    A failure is reported in the status (``connected=False`` and ``last_error``), never
    raised, so a page can always draw it.
    """
    conn = IBConnection(settings, readonly=True)
    try:
        conn.ib.connect(settings.host, settings.port, clientId=settings.client_id,
                        timeout=min(settings.timeout_s, 5.0), readonly=True)
        accounts = conn.ib.managedAccounts()
        conn.account = settings.account or (accounts[0] if accounts else "")
        conn.last_heartbeat = time.time()
        return conn.status()
    except (OSError, asyncio.TimeoutError, TimeoutError, ConnectionError) as exc:
        st = conn.status()
        st.last_error = (f"cannot connect to IB at {settings.host}:{settings.port} "
                         f"({describe_port(settings.port)}): {_reason(exc, settings)}; "
                         f"{start_hint(settings.host, settings.port)}")
        return st
    finally:
        conn.disconnect()


def _reason(exc: BaseException, s: IBSettings) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"no API handshake within {s.timeout_s:g} s"
    text = str(exc) or type(exc).__name__
    if "already in use" in text or "Peer closed" in text:
        return (f"the gateway closed the connection (client id {s.client_id} already in use? "
                "pass another --client-id)")
    return text


def _close(awaitable: Awaitable) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()
