"""``python -m lab bot ...``: paper bots from the command line.

``bot start NAME --data SYMBOL --timeframe TF --strategy S --param k=v ... [--feed replay
--speed BARS_PER_S | --feed ccxt] [--from-run RUN_ID]`` records a bot and starts it
under its supervisor (its own processes; the command returns at once). ``bot run NAME``
is the bot process itself (the supervisor starts it). ``list``, ``status``,
``trades``, ``orders``, ``fills``, ``events`` and ``check`` read; ``pause``, ``resume``,
``stop``, ``flatten``, ``adopt``, ``emergency-stop`` and ``delete`` act. Execution flags are those of
``python -m lab backtest``; risk limits are off unless given.
"""

from __future__ import annotations

import argparse
import json
import math

from lab.core.errors import LabError

_RISK = [("max_position_units", float, "largest |position|, units"),
         ("max_position_notional", float, "largest |position| x price, currency"),
         ("max_concentration", float, "largest position notional / equity (0.5 = half)"),
         ("max_daily_loss", float, "fraction of the day's first equity -> REDUCING"),
         ("max_drawdown", float, "fraction below the equity peak -> HALTED"),
         ("max_orders_per_minute", int, "orders accepted per 60 s"),
         ("max_leverage", float, "largest notional / equity after an order"),
         ("flatten_at_utc", str, "HH:MM: close the position at this UTC time each day")]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``bot`` command group to ``subparsers`` (of ``lab.cli.build_parser``)."""
    from lab.cli import _add_execution_args

    p = subparsers.add_parser("bot", help="paper bots: start, watch, control",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="bot_command", required=True)
    st = sub.add_parser("start", help="record a bot and start its process (an existing "
                                      "bot, named alone, starts again)")
    st.add_argument("name")
    st.add_argument("--data", help="stored symbol (default: the --from-run run's)")
    st.add_argument("--timeframe", help="bar size; default: the run's, else the finest stored")
    st.add_argument("--strategy", help="see `strategies` (default: the run's, else sma_cross)")
    st.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    st.add_argument("--feed", choices=["replay", "ccxt", "ib"],
                    help="replay (default), ccxt, or ib (5-second bars; default with --broker ib)")
    st.add_argument("--speed", type=float, default=0.0,
                    help="replay: bars per second (0 = as fast as possible)")
    st.add_argument("--start", help="replay: first traded bar (UTC); default the first stored")
    st.add_argument("--end", help="replay: last bar (UTC, inclusive)")
    st.add_argument("--warmup", type=int, default=0,
                    help="bars of history before the first traded bar (no orders on them)")
    st.add_argument("--exchange", help="ccxt: exchange id (default binance); ib: the "
                                       "contract's exchange (default SMART / the future's)")
    st.add_argument("--market", default="BTC/USDT", help="ccxt: market symbol")
    st.add_argument("--poll", type=float, default=10.0, help="ccxt: seconds between polls")
    st.add_argument("--from-run", help="MLflow run to promote: its symbol, timeframe, "
                                       "strategy, parameters and exact execution config")
    st.add_argument("--no-track", action="store_true",
                    help="do not record the bot's sessions in MLflow")
    st.add_argument("--json", action="store_true")
    from lab.cli.ib import add_bot_args

    add_bot_args(st)
    g = st.add_argument_group("risk limits (off unless given)")
    for name, typ, text in _RISK:
        g.add_argument("--" + name.replace("_", "-"), type=typ, help=text)
    g.add_argument("--waive-limits", action="store_true",
                   help="live account only: run without limits on purpose")
    _add_execution_args(st)
    for cmd, text in [("run", "the bot process itself (started by the supervisor)"),
                      ("status", "state, pid, bars seen, position, cash, equity, PnL, risk"),
                      ("trades", "closed trades (keys of `lab backtest --json`)"),
                      ("orders", "orders with their client order ids"),
                      ("fills", "fills with the broker's commission and price beside the "
                                "cost model's (drift and slippage, per fill and in total)"),
                      ("events", "events: starts, restarts, refusals, errors"),
                      ("check", "replay check: backtest the bars the bot has seen"),
                      ("logs", "tail of the bot's log"),
                      ("pause", "stop placing orders (bars are still marked)"),
                      ("resume", "place orders again (leaves HALTED)"),
                      ("stop", "stop the bot process"),
                      ("flatten", "close the bot's position now (also one the ledger did "
                                  "not know: it is adopted, then closed)"),
                      ("adopt", "make a position / orders at the broker that the ledger "
                                "does not know the bot's own (lifts that halt)"),
                      ("delete", "remove a stopped bot and its ledger rows")]:
        c = sub.add_parser(cmd, help=text)
        c.add_argument("name")
        c.add_argument("--json", action="store_true")
        if cmd == "logs":
            c.add_argument("--lines", type=int, default=50)
    al = sub.add_parser("account-limits", help="show or set the account-wide risk limits")
    al.add_argument("--account", choices=["paper", "live"], default="paper")
    for name, typ, text in _RISK:
        if name != "flatten_at_utc":
            al.add_argument("--" + name.replace("_", "-"), type=typ, help="account: " + text)
    al.add_argument("--clear", action="store_true", help="remove every account limit")
    al.add_argument("--resume", action="store_true",
                    help="leave an account HALTED by its drawdown (the peak restarts here)")
    al.add_argument("--json", action="store_true")
    ls = sub.add_parser("list", help="every bot with its state")
    ls.add_argument("--json", action="store_true")
    sub.add_parser("emergency-stop", help="flatten every bot and halt it (dead ones too)")
    return p


def main(args: argparse.Namespace) -> int:
    """Dispatch ``python -m lab bot <command>``."""
    from lab.live import control

    root, cmd = args.store, args.bot_command
    if cmd == "start":
        return _start(args)
    if cmd == "run":
        return _run(args.name, root)
    if cmd == "list":
        bots = control.list_bots(root)
        if args.json:
            print(json.dumps(bots, indent=2, default=_json))
        else:
            for b in bots:
                print(_line(b))
            if not bots:
                print("no bots; start one with `python -m lab bot start NAME --data SYMBOL`")
        return 0
    if cmd == "account-limits":
        from lab.live.config import RiskLimits

        given = {n: getattr(args, n) for n, _, _ in _RISK
                 if n != "flatten_at_utc" and getattr(args, n) is not None}
        if args.clear or given:
            control.set_account_limits(RiskLimits(**given), args.account, root)
        if args.resume:
            control.resume_account(args.account, root)
        acc = control.account_status(args.account, root)
        if args.json:
            print(json.dumps(acc, indent=2, default=_json))
        else:
            lim = {k: v for k, v in acc["limits"].items() if v is not None}
            print(f"{args.account} account: risk {acc['state']}"
                  + (f" ({acc['reason']})" if acc["reason"] else "")
                  + f"; equity {_num(acc['equity'])}, peak {_num(acc['peak_equity'])}, "
                  f"drawdown {_num(acc['drawdown'])}, day loss {_num(acc['day_loss'])}, "
                  f"gross notional {_num(acc['gross_notional'])}")
            print("limits: " + (", ".join(f"{k}={v:g}" for k, v in lim.items()) or "none"))
        return 0
    if cmd == "emergency-stop":
        for line in control.emergency_stop(root):
            print(line)
        return 0
    name = args.name
    if cmd == "status":
        s = control.status(name, root)
        print(json.dumps(s, indent=2, default=_json) if args.json else _status_text(s))
    elif cmd == "trades":
        t = control.trades(name, root)
        rows = _records(t)
        print(json.dumps(rows, indent=2) if args.json else
              (t.to_string(index=False) if len(t) else "no closed trades"))
    elif cmd == "orders":
        rows = control.orders(name, root)
        print(json.dumps(rows, indent=2, default=_json) if args.json else "\n".join(
            f"{o['client_order_id']:<24} bar {o['bar']:>6} {o['kind']:<5} "
            f"{'buy' if o['side'] > 0 else 'sell':<4} {o['status']:<9} qty {o['filled_qty']:g}"
            f" @ {o['avg_price']} {o['reason']}" for o in rows) or "no orders")
    elif cmd == "fills":
        doc = control.fill_costs(name, root)
        print(json.dumps(doc, indent=2, default=_json) if args.json else _fills_text(doc))
    elif cmd == "adopt":
        print(control.adopt(name, root))
    elif cmd == "events":
        rows = control.events(name, root)
        print(json.dumps(rows, indent=2, default=_json) if args.json else "\n".join(
            f"{_utc(e['ts'])} {e['kind']:<14} {e['message']}" for e in rows))
    elif cmd == "check":
        from lab.jobs.bot_check import replay_check

        c = replay_check(name, root)
        doc = {"match": c.match, "bars": c.bars, "bot_trades": c.bot_trades,
               "backtest_trades": c.backtest_trades, "max_equity_diff": c.max_equity_diff,
               "differences": c.differences}
        print(json.dumps(doc, indent=2) if args.json else
              f"replay check: {'MATCH' if c.match else 'DIFFERENT'} over {c.bars} bars, "
              f"{c.bot_trades} trades (backtest {c.backtest_trades})"
              + "".join(f"\n  {d}" for d in c.differences))
        return 0 if c.match else 1
    elif cmd == "logs":
        print(control.logs(name, root, args.lines))
    elif cmd == "delete":
        control.delete(name, root)
        print(f"deleted bot {name}")
    else:
        print(control.command(name, cmd, root))
    return 0


def _num(x) -> str:
    return "-" if x is None else f"{x:,.4g}" if abs(x) < 1 else f"{x:,.2f}"


def _start(args) -> int:
    from lab.cli import _finest_timeframe, _parse_params, execution_config
    from lab.core.config import ExecutionConfig
    from lab.live import control
    from lab.live.config import BotConfig, RiskLimits
    from lab.live.runner import open_catalog

    root = args.store
    if not args.data and not args.from_run:
        existing = {b["name"] for b in control.list_bots(root)}
        if args.name in existing:                       # start an existing bot again
            pid = control.start(args.name, root)
            print(f"bot {args.name} started again, supervisor pid {pid}")
            return 0
    run = None
    if args.from_run:
        from lab.tracking import get_run

        run = get_run(args.from_run)
    symbol = args.data or (run or {}).get("symbol")
    if not symbol:
        raise LabError("give --data SYMBOL (a stored symbol, see `datasets`) or --from-run")
    args.feed = args.feed or ("ib" if args.broker == "ib" else "replay")
    broker, account = {"kind": "paper"}, "paper"
    if args.broker == "ib":
        from lab.cli.ib import bot_broker

        broker, account = bot_broker(args, symbol)     # fails fast: nothing written yet
    catalog = open_catalog(root)
    if args.feed == "ib":
        from lab.live.ib.vocabulary import ASSET_CLASS

        asset_class = ASSET_CLASS[broker["contract"]["sec_type"]] if args.broker == "ib" \
            else "equity"
        timeframe = args.timeframe or (run or {}).get("timeframe") or "1m"
    elif args.feed == "replay" or catalog.has(symbol, args.timeframe or "1d") or \
            symbol in set(catalog.datasets()["symbol"]):
        asset_class = catalog.asset_class(symbol)
        timeframe = args.timeframe or (run or {}).get("timeframe") or \
            _finest_timeframe(catalog, symbol)
    else:
        asset_class, timeframe = "crypto", args.timeframe or "1h"
    strategy = args.strategy or (run or {}).get("strategy") or "sma_cross"
    params = dict((run or {}).get("params") or {})
    params.update(_parse_params(args.param))
    if run is not None and run.get("config"):
        execution = ExecutionConfig.from_dict(run["config"])
        asset_class = run.get("asset_class") or asset_class
    else:
        execution = execution_config(args, asset_class, symbol)
    risk = RiskLimits(**{n: getattr(args, n) for n, _, _ in _RISK},
                      waived=args.waive_limits)
    if args.feed == "replay":
        feed = {"kind": "replay", "speed": args.speed, "start": args.start,
                "end": args.end, "warmup": args.warmup}
    elif args.feed == "ib":
        if args.broker != "ib":
            raise LabError("--feed ib streams from the IB connection: add --broker ib")
        feed = {"kind": "ib", "warmup": args.warmup}
    else:
        feed = {"kind": "ccxt", "exchange": args.exchange or "binance", "market": args.market,
                "poll_s": args.poll, "warmup": args.warmup or 500}
    from lab.api import resolve_params

    params = resolve_params(strategy, params).to_dict()
    config = BotConfig(name=args.name, symbol=symbol, timeframe=timeframe, strategy=strategy,
                       params=params, execution=execution, asset_class=asset_class,
                       feed=feed, risk=risk, from_run=args.from_run, track=not args.no_track,
                       broker=broker, account=account)
    control.create(config, root)
    pid = control.start(args.name, root)
    doc = {"name": args.name, "supervisor_pid": pid, "config": config.to_dict()}
    print(json.dumps(doc, indent=2) if args.json else
          f"bot {args.name} started: {strategy} {params} on {symbol} {timeframe} "
          f"({args.feed}), supervisor pid {pid}; `python -m lab bot status {args.name}`")
    return 0


def _run(name: str, root) -> int:
    """The bot process; on a clean exit the session is recorded in MLflow."""
    from lab.live import control
    from lab.live.runner import main as run_bot

    rc = run_bot(name, root)
    if rc == 0:
        cfg = control.config(name, root)
        if cfg.track:
            from lab.tracking import tracking_uri
            from lab.tracking.bots import track_bot_session

            status = control.status(name, root)
            costs = control.fill_costs(name, root)["totals"]
            out = track_bot_session(cfg.to_dict(), status, control.equity(name, root),
                                    control.trades(name, root), costs["fees"], costs=costs,
                                    tracking_uri=tracking_uri(root))
            if out.recorded:
                control.set_session_run(name, out.run_id, root)
                print(f"session recorded in MLflow: run {out.run_id}", flush=True)
            else:
                print(f"session NOT recorded in MLflow: {out.error}", flush=True)
    return rc


def _records(trades) -> list[dict]:
    t = trades.copy()
    for col in ("entry_time", "exit_time"):
        t[col] = t[col].map(lambda ts: ts.isoformat())
    return [{k: _json(v) for k, v in row.items()} for row in t.to_dict(orient="records")]


def _json(v):
    import numpy as np

    if isinstance(v, (np.floating, float)):
        v = float(v)
        return None if math.isnan(v) else v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (str, int, type(None), bool, list, dict)):
        return v
    return str(v)


def _fills_text(doc: dict) -> str:
    def num(v, fmt):
        width = "".join(c for c in fmt.split(".")[0] if c.isdigit())
        return format("-", ">" + width) if v is None else format(v, fmt)

    lines = [f"{'time':<25} {'reason':<8} {'side':<4} {'qty':>8} {'price':>12} "
             f"{'model':>12} {'fee':>9} {'model':>9} {'drift':>8} {'slip cost':>10}"]
    for f in doc["fills"]:
        lines.append(f"{f['time'][:25]:<25} {f['reason']:<8} "
                     f"{'buy' if f['side'] > 0 else 'sell':<4} {f['qty']:>8g} "
                     f"{f['price']:>12.4f} {num(f['price_model'], '>12.4f')} "
                     f"{f['fee']:>9.2f} {num(f['fee_model'], '>9.2f')} "
                     f"{num(f['fee_drift'], '>+8.2f')} {num(f['slippage_cost'], '>+10.2f')}")
    t = doc["totals"]
    lines.append(f"total: fees {t['fees']:.2f}, model {num(t['fees_model'], '.2f')}, "
                 f"drift {num(t['fee_drift'], '+.2f')}, slippage cost "
                 f"{num(t['slippage_cost'], '+.2f')} (account currency; "
                 f"{t['fills_with_model']} of {t['fills']} fills have the model's numbers)")
    return "\n".join(lines) if doc["fills"] else "no fills"


def _utc(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


_RED, _RESET = "\033[31;1m", "\033[0m"


def _live_mark(b: dict) -> str:
    """``LIVE`` in red for a bot on a live account (real money), "" for paper."""
    return f"{_RED}LIVE{_RESET} " if b.get("account") == "live" else ""


def _line(b: dict) -> str:
    return _live_mark(b) + (f"{b['name']:<16} {b['state']:<9} {b['risk_state']:<8} {b['symbol']:<16} "
            f"{b['timeframe']:<4} {b['strategy']:<12} bars {b['bars_seen']:>6} "
            f"pos {b['position']:>12.6g} equity {b['equity']:>12.2f}")


def _status_text(s: dict) -> str:
    age = s["heartbeat_age_s"]
    return "\n".join([
        _live_mark(s) + f"bot {s['name']}: {s['state']} (pid {s['pid']}), risk {s['risk_state']}"
        + (f" ({s['risk_reason']})" if s["risk_reason"] else ""),
        f"  {s['strategy']} {s['params']} on {s['symbol']} {s['timeframe']} ({s['feed']})",
        f"  bars seen {s['bars_seen']}, last bar {s['last_bar_time']}",
        f"  position {s['position']:g}, cash {s['cash']:.2f}, equity {s['equity']:.2f}",
        f"  PnL realized {s['realized_pnl']:.2f}, unrealized {s['unrealized_pnl']:.2f}, "
        f"total {s['pnl_total']:.2f}",
        f"  last heartbeat {'never' if age is None else f'{age:.1f} s ago'}"
        + (" (STALE)" if s["stale"] else ""),
    ] + ([f"  last error: {s['last_error']}"] if s["last_error"] else []))
