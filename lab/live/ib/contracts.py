"""Contracts: what the user names (symbol, security type, expiry) -> a qualified IB contract.

Security types: ``STK`` (stocks and ETFs; ``ETF`` is accepted as a synonym, IB files ETFs
as STK), ``FUT`` (a dated future: ``expiry`` ``YYYYMM`` or ``YYYYMMDD``), ``CONTFUT``
(IB's continuous future, for history only: IB rolls it), ``CASH`` (forex: ``EURUSD`` or
``EUR.USD`` on IDEALPRO). Futures in the instrument registry (``lab.costs.instruments``)
need no exchange. Every contract is qualified at IB before use; an unknown one
raises ``ContractError`` saying what to check, an ambiguous one names the candidates
and how to pick one (``--expiry`` or ``--con-id``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from lab.live.ib.settings import ContractError, IBRequestError

SEC_TYPES = ("STK", "ETF", "FUT", "CONTFUT", "CASH")



def future_exchange(symbol: str) -> str:
    """Listing exchange of a futures root from the instrument registry
    (``lab.costs.instruments``: ES/MES/NQ on CME, CL/MCL on NYMEX, GC on COMEX); "" when
    the registry does not know it."""
    from lab.costs.instruments import find_instrument

    spec = find_instrument(symbol)
    return spec.exchange if spec is not None and spec.is_future else ""


_EXPIRY = re.compile(r"^\d{6}(\d{2})?$")


@dataclass(frozen=True)
class ContractSpec:
    """A contract as the user names it.

    Attributes
    ----------
    symbol : str
        ``SPY``, ``AAPL``, ``MCL``, ``EURUSD``.
    sec_type : str
        One of ``SEC_TYPES``.
    exchange : str
        "" = ``SMART`` for stocks, the listing exchange for known futures, IDEALPRO for
        forex.
    currency : str
    expiry : str
        ``YYYYMM`` or ``YYYYMMDD`` for ``FUT``; "" otherwise.
    con_id : int
        IB's contract id; when set it alone identifies the contract.
    """

    symbol: str
    sec_type: str = "STK"
    exchange: str = ""
    currency: str = "USD"
    expiry: str = ""
    con_id: int = 0

    def __post_init__(self) -> None:
        sym = (self.symbol or "").strip().upper()
        sec = (self.sec_type or "STK").strip().upper()
        if not sym:
            raise ContractError("a contract needs a symbol, e.g. --symbol SPY")
        if sec not in SEC_TYPES:
            raise ContractError(f"security type {self.sec_type!r} is not one of "
                                f"{', '.join(SEC_TYPES)} (ETF = STK at IB)")
        if sec == "ETF":
            sec = "STK"
        if self.expiry and not _EXPIRY.match(self.expiry):
            raise ContractError(f"expiry {self.expiry!r} must be YYYYMM or YYYYMMDD "
                                "(e.g. --expiry 202512)")
        if self.expiry and sec != "FUT":
            raise ContractError(f"--expiry applies to futures (FUT); {sym} is {sec}")
        if sec == "CASH":
            pair = sym.replace(".", "").replace("/", "")
            if len(pair) != 6:
                raise ContractError(f"forex pair {self.symbol!r} must be six letters like "
                                    "EURUSD or EUR.USD")
            sym = pair
        object.__setattr__(self, "symbol", sym)
        object.__setattr__(self, "sec_type", sec)
        object.__setattr__(self, "currency", (self.currency or "USD").upper())
        object.__setattr__(self, "exchange", (self.exchange or "").upper())
        object.__setattr__(self, "con_id", int(self.con_id or 0))

    def describe(self) -> str:
        """``"MCL FUT NYMEX 202506"``."""
        parts = [self.symbol, self.sec_type, self.exchange or self.default_exchange(),
                 self.expiry, f"conId {self.con_id}" if self.con_id else ""]
        return " ".join(p for p in parts if p)

    def default_exchange(self) -> str:
        if self.sec_type in ("FUT", "CONTFUT"):
            return future_exchange(self.symbol)
        return "IDEALPRO" if self.sec_type == "CASH" else "SMART"

    def to_dict(self) -> dict:
        return asdict(self)

    def to_ib(self):
        """The unqualified ib_async ``Contract``."""
        from ib_async import ContFuture, Contract, Forex, Future, Stock

        exchange = self.exchange or self.default_exchange()
        if self.con_id:
            return Contract(conId=self.con_id, exchange=exchange)
        if self.sec_type == "STK":
            return Stock(self.symbol, exchange, self.currency)
        if self.sec_type == "CASH":
            return Forex(self.symbol, exchange=exchange)
        if self.sec_type == "CONTFUT":
            return ContFuture(self.symbol, exchange, currency=self.currency)
        if not exchange:
            raise ContractError(f"futures symbol {self.symbol} is not in the instrument "
                                "registry; pass --exchange (e.g. CME, NYMEX, COMEX)")
        return Future(self.symbol, self.expiry, exchange, currency=self.currency)


def _label(c) -> str:
    bits = [c.localSymbol or c.symbol, c.secType, c.exchange or c.primaryExchange,
            c.lastTradeDateOrContractMonth, c.currency, f"conId {c.conId}"]
    return " ".join(b for b in bits if b)


def qualify(conn, spec: ContractSpec):
    """Qualify ``spec`` at IB; returns the ib_async Contract with its conId.

    Raises
    ------
    ContractError
        Unknown (what to check) or ambiguous (the candidates and how to choose).
    IBTimeoutError, IBConnectionError
    """
    contract = spec.to_ib()
    try:
        [result] = conn.request(conn.ib.qualifyContractsAsync(contract, returnAll=True),
                                f"contract details of {spec.describe()}")
    except IBRequestError as exc:
        if exc.code != 200:
            raise
        result = None
    if result is None:
        raise ContractError(
            f"IB knows no contract {spec.describe()} (currency {spec.currency}); check the "
            "symbol, --sec-type (STK, FUT, CONTFUT, CASH), --exchange, --currency and, for "
            "futures, --expiry YYYYMM")
    if isinstance(result, list):
        names = "; ".join(_label(c) for c in result if c is not None)
        raise ContractError(
            f"{spec.describe()} is ambiguous at IB; candidates: {names}. Choose one with "
            "--expiry YYYYMM(DD) or --con-id")
    return result
