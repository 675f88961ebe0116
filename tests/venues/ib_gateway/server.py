"""A stand-in IB Gateway: a local TCP server speaking the TWS API wire protocol.

Runs an asyncio server on 127.0.0.1 in a background thread, so the real ib_async client
(in the test, in a bot process, in a CLI process) connects to it as to IB Gateway. The
test drives the market and scripts faults through thread-safe methods:

- ``set_price`` moves an instrument's price (fills market, limit and stop orders);
- ``connectivity_lost`` / ``connectivity_restored`` send 1100 / 1101 or 1102;
- ``drop_clients`` closes every API socket; ``stop_listening`` / ``start_listening``
  make the port refuse connections (a gateway that is down);
- ``reject_next_order``, ``partial_fill_next``, ``fail_history_next`` (e.g. 162 pacing),
  ``add_position`` (a position no ledger knows), ``hang`` (a request never answered);
- ``push_realtime_bars`` emits the next 5-second bar of every real-time subscription.

Every request is logged (``requests``) with the stand-in's clock, which a test may
replace (``clock=``) to check pacing without waiting real minutes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from . import messages as m
from .market import (BAR_SIZES, HistoryPacing, Instrument, bars_of, default_instruments,
                     duration_seconds, history_rows, matches, max_duration, parse_end)
from .orders import Book, OrderRec
from .wire import frame, read_frame, read_handshake

CONTRACT_KEYS = ("conId", "symbol", "secType", "lastTradeDateOrContractMonth", "strike",
                 "right", "multiplier", "exchange", "primaryExchange", "currency",
                 "localSymbol", "tradingClass")
KINDS = {3: "place_order", 4: "cancel_order", 5: "open_orders", 6: "account_updates",
         7: "executions", 8: "ids", 9: "contract_details", 15: "auto_open_orders",
         16: "all_open_orders", 17: "managed_accounts", 20: "historical",
         25: "cancel_historical", 49: "current_time", 50: "realtime_bars",
         51: "cancel_realtime_bars", 58: "global_cancel", 59: "market_data_type",
         61: "positions", 62: "account_summary", 63: "cancel_account_summary",
         64: "cancel_positions", 71: "start_api", 76: "account_updates_multi",
         77: "cancel_account_updates_multi", 99: "completed_orders"}
FARM_OK = [(2104, "Market data farm connection is OK:usfarm"),
           (2106, "HMDS data farm connection is OK:ushmds"),
           (2158, "Sec-def data farm connection is OK:secdefnj")]


@dataclass
class Request:
    """One API request as the stand-in received it."""

    t: float
    client_id: int
    kind: str
    fields: list[str]
    detail: dict = field(default_factory=dict)


class Session:
    def __init__(self, client_id: int, writer: asyncio.StreamWriter):
        self.client_id = client_id
        self.writer = writer
        self.positions = False
        self.realtime: dict[int, Instrument] = {}    # reqId -> instrument
        self.silenced = False

    def send(self, fields: list) -> None:
        if not self.silenced and not self.writer.is_closing():
            self.writer.write(frame(fields))


class StandInGateway:
    """See the module docstring. ``with StandInGateway() as gw: gw.port``."""

    def __init__(self, accounts=("DU7654321",), clock=None, port: int = 0,
                 instruments: list[Instrument] | None = None):
        self.accounts = list(accounts)
        self.clock = clock or time.time
        self.book = Book(self.clock)
        self.instruments = instruments or default_instruments()
        for inst in self.instruments:
            if inst.bars:
                self.book.prices[inst.conId] = float(bars_of(inst.bars)["close"].iloc[-1])
        self.sessions: dict[int, Session] = {}
        self.log: list[Request] = []
        self.pacing = HistoryPacing()
        self.hangs: Counter = Counter()
        self.history_faults: list[tuple[int, str]] = []
        self.order_placed = threading.Event()
        self.rt_cursor: dict[int, int] = {}     # conId -> next stored bar to stream
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "StandInGateway":
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._listen())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="ib-stand-in", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown():
            await self._close_listener()
            for s in list(self.sessions.values()):
                s.writer.close()
        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    async def _listen(self):
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self):
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _call(self, fn, *args):
        """Run ``fn(*args)`` on the server's loop and return its result."""
        async def go():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(go(), self._loop).result(10)

    # -- scripting (thread-safe) -----------------------------------------------------
    def instrument(self, key) -> Instrument:
        for inst in self.instruments:
            if key in (inst.conId, inst.localSymbol) or (
                    key == inst.symbol and inst.secType in ("STK", "CASH")):
                return inst
        raise KeyError(key)

    def set_price(self, key, price: float) -> None:
        inst = self.instrument(key)
        self._call(lambda: self._notify(self.book.set_price(inst.conId, float(price))))

    def reject_next_order(self, reason: str = "Margin requirement not met") -> None:
        self._call(setattr, self.book, "reject_next", reason)

    def partial_fill_next(self, quantity: float) -> None:
        self._call(setattr, self.book, "partial_next", float(quantity))

    def fail_history_next(self, code: int = 162,
                          text: str = "Historical Market Data Service error message:"
                                      "Pacing violation") -> None:
        self._call(self.history_faults.append, (code, text))

    def hang(self, kind: str, times: int = 1) -> None:
        """The next ``times`` requests of ``kind`` (see KINDS) are never answered."""
        self._call(self.hangs.update, {kind: times})

    def add_position(self, account: str, key, quantity: float, avg_cost: float) -> None:
        inst = self.instrument(key)

        def add():
            self.book.positions[(account, inst.conId)] = [float(quantity), float(avg_cost)]
            self.book.instruments[inst.conId] = inst
            self._notify([("position", account, inst)])
        self._call(add)

    def connectivity_lost(self) -> None:
        self._call(self._broadcast, 1100,
                   "Connectivity between IB and Trader Workstation has been lost.")

    def connectivity_restored(self, data_lost: bool = True) -> None:
        def go():
            if data_lost:      # subscriptions are gone: the client must resubscribe
                for s in self.sessions.values():
                    s.realtime.clear()
                self._broadcast(1101, "Connectivity between IB and Trader Workstation has "
                                      "been restored - data lost.")
            else:
                self._broadcast(1102, "Connectivity between IB and Trader Workstation has "
                                      "been restored - data maintained.")
        self._call(go)

    def drop_clients(self) -> None:
        def go():
            for s in list(self.sessions.values()):
                s.writer.close()
            self.sessions.clear()
        self._call(go)

    def stop_listening(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close_listener(), self._loop).result(10)

    def start_listening(self) -> None:
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def push_realtime_bars(self, n: int = 1) -> int:
        """Send the next ``n`` 5-second bars to every subscription; returns bars sent."""
        return self._call(self._push_realtime, n)

    def requests(self, kind: str | None = None) -> list[Request]:
        return self._call(lambda: [r for r in self.log if kind is None or r.kind == kind])

    def connected_clients(self) -> list[int]:
        return self._call(lambda: sorted(self.sessions))

    def positions(self, account: str | None = None) -> dict[str, float]:
        """localSymbol -> quantity of the non-zero positions (of one account)."""
        def snap():
            out = {}
            for (acct, con_id), (qty, _) in self.book.positions.items():
                if qty and (account is None or acct == account):
                    out[self.book.instruments[con_id].localSymbol] = qty
            return out
        return self._call(snap)

    def orders(self) -> list[OrderRec]:
        return self._call(lambda: list(self.book.orders.values()))

    # -- connection ------------------------------------------------------------------
    async def _serve(self, reader, writer):
        session = None
        try:
            low, high = await read_handshake(reader)
            if not low <= m.SERVER_VERSION <= high:
                return
            writer.write(frame([m.SERVER_VERSION, m.ib_time(self.clock())]))
            start = await read_frame(reader)
            if start[0] != "71":
                return
            client_id = int(start[2])
            self._record(client_id, start)
            if client_id in self.sessions:
                writer.write(frame(m.error(-1, 326, "Unable to connect as the client id is "
                                                    "already in use. Retry with a unique "
                                                    "client id.")))
                return
            session = self.sessions[client_id] = Session(client_id, writer)
            session.send(m.managed_accounts(self.accounts))
            session.send(m.next_valid_id(self._next_id(client_id)))
            for code, text in FARM_OK:
                session.send(m.error(-1, code, text))
            while True:
                fields = await read_frame(reader)
                self._record(client_id, fields)
                if self.hangs[self._kind(fields)] > 0:
                    self.hangs[self._kind(fields)] -= 1
                    if self._kind(fields) == "place_order":
                        session.silenced = True     # the order goes in; no answer comes back
                        self._place(session, fields)
                        self.order_placed.set()
                    continue
                self._dispatch(session, fields)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            if session is not None and self.sessions.get(session.client_id) is session:
                del self.sessions[session.client_id]
            writer.close()

    @staticmethod
    def _kind(fields: list[str]) -> str:
        return KINDS.get(int(fields[0]), f"msg{fields[0]}")

    def _record(self, client_id: int, fields: list[str]) -> None:
        self.log.append(Request(self.clock(), client_id, self._kind(fields), fields))

    def _next_id(self, client_id: int) -> int:
        ids = [o.order_id for o in self.book.orders.values() if o.client_id == client_id]
        return max(ids, default=0) + 1

    def _broadcast(self, code: int, text: str) -> None:
        for s in self.sessions.values():
            s.send(m.error(-1, code, text))

    def _notify(self, notices: list) -> None:
        for notice in notices:
            kind = notice[0]
            if kind == "order":
                o = notice[1]
                s = self.sessions.get(o.client_id)
                if s:
                    s.send(m.open_order(o))
                    s.send(m.order_status(o))
            elif kind == "fill":
                x = notice[1]
                s = self.sessions.get(x.client_id)
                if s:
                    s.send(m.exec_details(-1, x))
                    s.send(m.commission_report(x))
            elif kind == "position":
                _, account, inst = notice
                qty, avg = self.book.positions[(account, inst.conId)]
                for s in self.sessions.values():
                    if s.positions:
                        s.send(m.position(account, inst, qty, avg))
            elif kind == "error":
                _, client_id, req_id, code, text = notice
                s = self.sessions.get(client_id)
                if s:
                    s.send(m.error(req_id, code, text))

    # -- requests --------------------------------------------------------------------
    def _dispatch(self, s: Session, f: list[str]) -> None:
        handler = getattr(self, "_on_" + self._kind(f), None)
        if handler is not None:
            handler(s, f)

    def _contract(self, f: list[str], i: int) -> dict:
        return dict(zip(CONTRACT_KEYS, f[i:i + 12]))

    def _resolve(self, req: dict) -> list[Instrument]:
        found = [inst for inst in self.instruments if matches(inst, req)]
        if req.get("secType") == "CONTFUT" and found:
            found = sorted(found, key=lambda i: i.lastTradeDateOrContractMonth)[:1]
        return found

    def _place(self, s: Session, f: list[str]) -> None:
        req = self._contract(f, 2)
        found = self._resolve(req)
        order_id = int(f[1])
        if len(found) != 1:
            s.send(m.error(order_id, 200, "No security definition has been found for the "
                                          "request"))
            return
        num = lambda x: float(x) if x else None   # noqa: E731
        rec = OrderRec(
            order_id=order_id, client_id=s.client_id, perm_id=0, contract=found[0],
            action=f[16], total_quantity=float(f[17]), order_type=f[18],
            lmt_price=num(f[19]), aux_price=num(f[20]), tif=f[21] or "DAY",
            oca_group=f[22], oca_type=int(f[47] or 0), account=f[23] or self.accounts[0],
            order_ref=f[26], transmit=f[27] == "1", parent_id=int(f[28] or 0),
            currency=found[0].currency)
        self._notify(self.book.place(rec))

    def _on_place_order(self, s, f):
        self._place(s, f)
        self.order_placed.set()

    def _on_cancel_order(self, s, f):
        self._notify(self.book.cancel(s.client_id, int(f[2])))

    def _on_global_cancel(self, s, f):
        for o in list(self.book.orders.values()):
            if not o.done:
                self._notify(self.book.cancel(o.client_id, o.order_id))

    def _send_open(self, s, everyone: bool):
        for o in self.book.orders.values():
            if not o.done and o.status != "PendingSubmit" and (
                    everyone or o.client_id == s.client_id or s.client_id == 0):
                s.send(m.open_order(o))
                s.send(m.order_status(o))
        s.send(m.open_order_end())

    def _on_open_orders(self, s, f):
        self._send_open(s, everyone=False)

    def _on_all_open_orders(self, s, f):
        self._send_open(s, everyone=True)

    def _on_completed_orders(self, s, f):
        for o in self.book.orders.values():
            if o.done:
                s.send(m.completed_order(o))
        s.send(m.completed_orders_end())

    def _on_executions(self, s, f):
        req_id = int(f[2])
        client, account, since, symbol, sec_type, _, side = f[3:10]
        for x in self.book.executions:
            if x.client_id != s.client_id and s.client_id != 0:
                continue
            if (client and int(client) and x.client_id != int(client)) or (
                    account and x.account != account) or (
                    symbol and x.contract.symbol != symbol) or (
                    sec_type and x.contract.secType != sec_type) or (
                    side and x.side != side):
                continue
            if since and m.ib_time(x.time)[:17].replace("-", " ") < since.replace("-", " ")[:17]:
                continue
            s.send(m.exec_details(req_id, x))
            s.send(m.commission_report(x))
        s.send(m.exec_details_end(req_id))

    def _on_positions(self, s, f):
        s.positions = True
        for (account, con_id), (qty, avg) in self.book.positions.items():
            s.send(m.position(account, self.book.instruments[con_id], qty, avg))
        s.send(m.position_end())

    def _on_cancel_positions(self, s, f):
        s.positions = False

    def _account_values(self, account: str) -> list[tuple[str, str, str]]:
        return [("NetLiquidation", "100000.00", "USD"), ("TotalCashValue", "100000.00", "USD"),
                ("AvailableFunds", "100000.00", "USD"), ("BuyingPower", "400000.00", "USD"),
                ("AccountType", "INDIVIDUAL", "")]

    def _on_account_updates(self, s, f):
        account = f[3] or self.accounts[0]
        for key, value, cur in self._account_values(account):
            s.send(m.account_value(key, value, cur, account))
        s.send([m.ACCT_UPDATE_TIME, 1, "12:00"])
        s.send(m.account_download_end(account))

    def _on_account_updates_multi(self, s, f):
        req_id, account = int(f[2]), f[3]
        for key, value, cur in self._account_values(account):
            s.send(m.account_update_multi(req_id, account, key, value, cur))
        s.send(m.account_update_multi_end(req_id))

    def _on_account_summary(self, s, f):
        req_id = int(f[2])
        for account in self.accounts:
            for key, value, cur in self._account_values(account):
                s.send(m.account_summary(req_id, account, key, value, cur))
        s.send(m.account_summary_end(req_id))

    def _on_ids(self, s, f):
        s.send(m.next_valid_id(self._next_id(s.client_id)))

    def _on_managed_accounts(self, s, f):
        s.send(m.managed_accounts(self.accounts))

    def _on_current_time(self, s, f):
        s.send(m.current_time(self.clock()))

    def _on_contract_details(self, s, f):
        req_id = int(f[2])
        found = self._resolve(self._contract(f, 3))
        if not found:
            s.send(m.error(req_id, 200, "No security definition has been found for the "
                                        "request"))
            return
        for inst in found:
            s.send(m.contract_details(req_id, inst))
        s.send(m.contract_details_end(req_id))

    def _on_historical(self, s, f):
        req_id = int(f[1])
        req = self._contract(f, 2)
        end_text, bar_size, duration, _, what = f[15], f[16], f[17], f[18], f[19]
        fmt = int(f[20] or 1)
        found = self._resolve(req)
        if len(found) != 1:
            s.send(m.error(req_id, 200, "No security definition has been found for the "
                                        "request"))
            return
        inst = found[0]
        identity = (inst.conId, end_text, bar_size, duration, what)
        why = self.pacing.violation(self.clock(), identity, (inst.conId, what))
        if self.history_faults:
            code, text = self.history_faults.pop(0)
            s.send(m.error(req_id, code, text))
            return
        if why:
            s.send(m.error(req_id, 162, "Historical Market Data Service error message:"
                                        f"Pacing violation ({why})"))
            return
        bar_s = BAR_SIZES.get(bar_size)
        if bar_s is None:
            s.send(m.error(req_id, 321, f"Error validating request.-'bP' : cause - "
                                        f"Historical data bar size setting is invalid"))
            return
        dur_s = duration_seconds(duration)
        if dur_s > max_duration(bar_s):
            s.send(m.error(req_id, 162, "Historical Market Data Service error message:"
                                        "Time length exceed max."))
            return
        if not inst.bars:
            rows = []
        else:
            latest = bars_of(inst.bars).index[-1] + pd.Timedelta(seconds=1)
            end = parse_end(end_text, latest)
            rows = history_rows(inst, end, dur_s, bar_s, fmt)
        if not rows:
            s.send(m.error(req_id, 162, "Historical Market Data Service error message:"
                                        f"HMDS query returned no data: "
                                        f"{inst.localSymbol}@{inst.exchange} {what}"))
            return
        s.send(m.historical_data(req_id, "", end_text, rows))

    def _on_realtime_bars(self, s, f):
        req_id = int(f[2])
        found = self._resolve(self._contract(f, 3))
        if len(found) != 1 or not found[0].bars:
            s.send(m.error(req_id, 200, "No security definition has been found for the "
                                        "request"))
            return
        s.realtime[req_id] = found[0]
        self.rt_cursor.setdefault(found[0].conId, 0)

    def _on_cancel_realtime_bars(self, s, f):
        s.realtime.pop(int(f[2]), None)

    def _push_realtime(self, n: int) -> int:
        """Time moves on for every instrument ever subscribed; subscribers get the bars.

        The k-th bar of an instrument carries the values of its k-th stored bar, stamped
        ``first stored time + 5 s x k`` (real values, time compressed to 5-second bars).
        """
        sent = 0
        for con_id, row in list(self.rt_cursor.items()):
            inst = next(i for i in self.instruments if i.conId == con_id)
            df = bars_of(inst.bars)
            base = int(df.index[0].timestamp())
            for k in range(row, min(row + n, len(df))):
                r = df.iloc[k]
                wap = round((r.high + r.low + r.close) / 3, 6)
                for s in self.sessions.values():
                    for req_id, sub in s.realtime.items():
                        if sub.conId == con_id:
                            s.send(m.realtime_bar(req_id, base + 5 * k, r.open, r.high,
                                                  r.low, r.close, r.volume, wap, 1))
                            sent += 1
                self._notify(self.book.set_price(con_id, float(r.close)))   # the market moves
            self.rt_cursor[con_id] = min(row + n, len(df))
        return sent
